"""The hybrid of a trained model and item metadata (S7; Collie's ``HybridPretrainedModel``).

A trained embedding model (``--set start_from=base:RUN``: mf, mf-bias, bpr-mf, gmf, ials...)
gives its user and item tables (and biases, where it has them). Each item's metadata
(``item_features``: the genres multi-hot by default) goes through a layer of 8; the user
vector, the item vector and that output, concatenated, go through a feed-forward tower
([16], leaky ReLU) to one score, plus the user and item biases.

It trains in two phases in one run: first with the copied embeddings frozen (the
metadata layer, the tower and the biases learn), then, for ``fine_tune_epochs``, with
everything unfrozen at the lower ``fine_tune_lr``; ``history.csv`` holds both phases
(``select`` then ``fine-tune``) and a fine-tuned epoch is kept only when it beats the
frozen phase's best on validation.

    >>> model = Hybrid(n_users, n_items, user_dim=32, item_dim=32, feature_dim=19)
    >>> model.start_from({"base": trained_mf})        # copies its tables, frozen
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ncf.errors import UsageError
from ncf.models.base import ItemFeatures, Model, Table, grid_chunk
from ncf.models.towers import layer_rates


class Hybrid(ItemFeatures, Model):
    """Args:
    n_users, n_items: index ranges.
    user_dim, item_dim: the widths of the base model's tables (read from the ``base`` run).
    feature_dim: values per item of the metadata (set from ``item_features``).
    metadata_width: the metadata layer's width (Collie: 8; 0: metadata fed as it is).
    layers: the feed-forward tower's widths (Collie: [16]).
    dropout: dropout after the metadata layer and each tower layer.
    """

    name = "hybrid"
    search_space = {"metadata_width": [4, 8, 16, 32], "dropout": (0.0, 0.5)}
    summary = "a trained model's embeddings (frozen, then fine-tuned) + item metadata (Collie)"
    objective = "pointwise"
    starts_from: ClassVar[tuple[str, ...]] = ("base",)
    train_defaults: ClassVar[dict[str, Any]] = {
        "item_features": "genres",
        "epochs": 10,
        "lr": 1e-2,
        "batch_size": 1024,
        "n_negatives": 4,
        "patience": 3,
        "fine_tune_epochs": 10,
        "fine_tune_lr": 1e-4,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        user_dim: int = 0,
        item_dim: int = 0,
        feature_dim: int = 0,
        metadata_width: int = 8,
        layers: Sequence[int] = (16,),
        dropout: float = 0.0,
    ):
        if user_dim < 1 or item_dim < 1:
            raise ValueError(
                "a hybrid starts from a trained embedding model: give start_from=base:RUN_DIR "
                "(a run of mf, mf-bias, bpr-mf, gmf or ials on the same data and split)"
            )
        layers = [int(n) for n in layers]
        if metadata_width < 0 or not layers or min(layers) < 1:
            raise ValueError(f"metadata_width must be >= 0 and layers positive; got {layers}")
        super().__init__(
            n_users,
            n_items,
            user_dim=user_dim,
            item_dim=item_dim,
            feature_dim=feature_dim,
            metadata_width=metadata_width,
            layers=layers,
            dropout=dropout,
        )
        self._feature_table(feature_dim)
        self.user_emb = Table(n_users, user_dim)
        self.item_emb = Table(n_items, item_dim)
        self.user_bias = Table(n_users, 1)
        self.item_bias = Table(n_items, 1)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)
        layer = bool(metadata_width and feature_dim)  # else the metadata goes in as it is
        self.metadata = nn.Linear(feature_dim, metadata_width) if layer else None
        meta_out = metadata_width if layer else self.feature_dim
        widths = [user_dim + item_dim + meta_out, *layers]
        self.tower = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Linear(widths[-1], 1)
        for layer in (*self.tower, self.out, *([self.metadata] if self.metadata else [])):
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.rates = layer_rates(dropout, len(layers) + 1)
        self.freeze()

    # ------------------------------------------------------------------ the two phases

    @classmethod
    def shapes_from_runs(cls, runs: dict[str, Model]) -> dict[str, Any]:
        """``user_dim`` and ``item_dim`` of the base run's tables."""
        user, item = _tables(runs["base"])
        return {"user_dim": user.shape[1], "item_dim": item.shape[1]}

    def start_from(self, runs: dict[str, Model]) -> None:
        """Copies the base run's user and item tables (and its biases where it has them);
        the tables stay frozen until `unfreeze`."""
        base = runs["base"]
        user, item = _tables(base)
        with torch.no_grad():
            self.user_emb.weight.copy_(user)
            self.item_emb.weight.copy_(item)
            for name in ("user_bias", "item_bias"):
                table = getattr(base, name, None)
                if isinstance(table, nn.Embedding) and table.weight.shape[1] == 1:
                    getattr(self, name).weight.copy_(table.weight)
        self.freeze()

    def freeze(self) -> None:
        for table in (self.user_emb, self.item_emb):
            table.weight.requires_grad_(False)

    def unfreeze(self) -> None:
        """The fine-tuning phase trains the copied tables too."""
        for table in (self.user_emb, self.item_emb):
            table.weight.requires_grad_(True)

    # ------------------------------------------------------------------ scores

    def item_part(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """(B, item_dim + metadata width) item vectors and metadata outputs (every item
        when ``items`` is None)."""
        vectors = self.item_emb.weight if items is None else self.item_emb(items)
        if not self.feature_dim:
            return vectors
        meta = self.item_features if items is None else self.item_features[items]
        meta = meta.to(vectors.dtype)
        if self.metadata is not None:
            meta = F.dropout(F.leaky_relu(self.metadata(meta)), self.rates[0], self.training)
        return torch.cat([vectors, meta], dim=1)

    def _tower(self, hidden: torch.Tensor, first_done: bool = False) -> torch.Tensor:
        for i, layer in enumerate(self.tower):
            if i or not first_done:
                hidden = layer(hidden)
            hidden = F.dropout(F.leaky_relu(hidden), self.rates[i + 1], self.training)
        return self.out(hidden)[..., 0]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        hidden = torch.cat([self.user_emb(users), self.item_part(items)], dim=1)
        biases = self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0]
        return self._tower(hidden) + biases

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """The first tower layer splits into a user and an item half, each projected once."""
        first = self.tower[0]
        d = self.hparams["user_dim"]
        items = self.item_part() @ first.weight[:, d:].T  # (I, h)
        chunk = grid_chunk(self, first.out_features)
        parts = []
        for s in range(0, len(users), chunk):
            block = users[s : s + chunk]
            mine = self.user_emb(block) @ first.weight[:, :d].T + first.bias  # (B, h)
            scores = self._tower(mine[:, None, :] + items[None], first_done=True)
            parts.append(scores + self.user_bias(block) + self.item_bias.weight[:, 0])
        return torch.cat(parts) if parts else torch.empty(0, self.n_items)

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight


def _tables(base: Model) -> tuple[torch.Tensor, torch.Tensor]:
    tables = base.embedding_tables()
    if tables is None:
        raise UsageError(
            f"the base run holds model {base.name!r}, which has no user and item embedding "
            "tables; train mf, mf-bias, bpr-mf, gmf or ials first"
        )
    return tables
