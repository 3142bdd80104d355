"""NeuMF: GMF and MLP side by side (He et al., "Neural Collaborative Filtering", WWW 2017).

Separate GMF and MLP embeddings; the GMF product and the MLP tower output are
concatenated and one linear layer gives the logit. `load_pretrained` copies a trained
GMF and MLP into a NeuMF as in the paper (output layer = alpha * [w_gmf, w_mlp]).

    >>> model = NeuMF(n_users=6040, n_items=3706, dim=64, layers=(32, 16, 8))
    >>> load_pretrained(model, gmf, mlp, alpha=0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ncf.errors import UsageError
from ncf.models.base import (
    ItemFeatures,
    Model,
    Table,
    grid_chunk,
    init_embedding,
    start_at_mean,
)
from ncf.models.gmf import GMF
from ncf.models.mlp import MLP
from ncf.models.towers import run_tower_on_grid, tower, tower_on_batch


class NeuMF(ItemFeatures, Model):
    """Args:
    n_users, n_items: index ranges.
    dim: GMF embedding size.
    layers: MLP tower sizes; ``layers[0]`` is the concatenated MLP embedding width.
    dropout: dropout after each hidden MLP layer: one rate, or one per layer.
    init_std: std of the N(0, std) embedding init.
    feature_dim: width of a fixed vector per item concatenated before the output layer
        (`ItemFeatures`; set from ``item_features``): S12's hybrid.
    """

    name = "neumf"
    search_space = {
        "dim": [8, 16, 32, 64],
        "layers": ["[32, 16, 8]", "[64, 32, 16, 8]", "[128, 64, 32]"],
    }
    summary = "GMF and MLP side by side, optionally pre-trained from both (He et al. 2017)"
    objective = "pointwise"
    # chosen on the validation part of the NCF ML-1M split for quality in the least time:
    # 4 negatives and large batches train twice as fast as 8 negatives at batch 8192
    # (test hr@10 0.70 either way)
    train_defaults = {
        "epochs": 5,
        "lr": 0.008,
        "batch_size": 32768,
        "n_negatives": 4,
        "schedule": "cosine",
        "patience": 3,
    }
    starts_from = ("gmf", "mlp")
    #: fine-tuning after `load_pretrained` (``start_from`` gmf and mlp): a gentler start
    pretrained_defaults = {"epochs": 4, "lr": 0.0005, "batch_size": 8192, "n_negatives": 8}

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        layers: Sequence[int] = (32, 16, 8),
        dropout: float | Sequence[float] = 0.0,
        init_std: float = 0.01,
        feature_dim: int = 0,
    ):
        layers = [int(x) for x in layers]
        if len(layers) < 2 or layers[0] % 2:
            raise ValueError(f"layers must have >= 2 sizes and an even first size, got {layers}")
        super().__init__(
            n_users,
            n_items,
            dim=dim,
            layers=layers,
            dropout=dropout,
            init_std=init_std,
            feature_dim=feature_dim,
        )
        self._feature_table(feature_dim)
        half = layers[0] // 2
        self.gmf_user = init_embedding(Table(n_users, dim), init_std)
        self.gmf_item = init_embedding(Table(n_items, dim), init_std)
        self.mlp_user = init_embedding(Table(n_users, half), init_std)
        self.mlp_item = init_embedding(Table(n_items, half), init_std)
        self.tower = tower(layers, dropout)
        self.out = nn.Linear(dim + layers[-1] + self.feature_dim, 1)
        nn.init.xavier_uniform_(self.out.weight)
        with torch.no_grad():  # the GMF half starts as a plain dot product, as in GMF
            nn.init.normal_(self.out.weight[:, :dim], mean=1.0 / dim**0.5, std=0.01)
            self.out.weight[:, dim + layers[-1] :] = 0.0  # item vectors' weights: zero
        nn.init.zeros_(self.out.bias)

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        start_at_mean(self.out, ratings)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)  # (B, dim)
        mlp = self.tower(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))  # (B, h)
        hidden = self.with_features(torch.cat([gmf, mlp], dim=1), items)
        return self.out(hidden).squeeze(1)  # (B,)

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """`forward` over each user's positive and negatives, with each user's vectors
        looked up and projected once (`tower_on_batch`), not once per item."""
        if regularise or self.feature_dim:
            return super().pair_scores(users, positives, negatives, regularise)
        dim, h = self.hparams["dim"], self.hparams["layers"][-1]
        w_gmf, w_mlp = self.out.weight[0, :dim], self.out.weight[0, dim : dim + h]
        items = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + K)
        weighted = (self.gmf_user(users) * w_gmf)[:, None, :]  # (B, 1, dim)
        gmf = (self.gmf_item(items) * weighted).sum(2)  # (B, 1 + K)
        hidden = tower_on_batch(self.tower, self.mlp_user, self.mlp_item, users, items)
        mlp = hidden @ w_mlp
        scores = (gmf + mlp + self.out.bias).float()
        return scores[:, 0], scores[:, 1:], []

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        dim, h = self.hparams["dim"], self.hparams["layers"][-1]
        w_gmf, w_mlp = self.out.weight[0, :dim], self.out.weight[0, dim : dim + h]
        chunk = grid_chunk(self, max(self.hparams["layers"]))
        parts = []
        for start in range(0, len(users), chunk):
            block = users[start : start + chunk]
            gmf = (self.gmf_user(block) * w_gmf) @ self.gmf_item.weight.T  # (B, I)
            mlp = run_tower_on_grid(self.tower, self.mlp_user(block), self.mlp_item.weight)
            parts.append(gmf + mlp @ w_mlp + self.out.bias)  # (B, I)
        scores = torch.cat(parts) if parts else torch.empty(0, self.n_items)
        return scores + self.feature_scores(self.out)

    def item_embeddings(self) -> torch.Tensor:
        return torch.cat([self.gmf_item.weight, self.mlp_item.weight], dim=1)

    @classmethod
    def shapes_from_runs(cls, runs: dict[str, Model]) -> dict[str, Any]:
        """``dim`` of the GMF run and ``layers`` of the MLP run."""
        shapes = {}
        if "gmf" in runs:
            shapes["dim"] = runs["gmf"].hparams["dim"]
        if "mlp" in runs:
            shapes["layers"] = runs["mlp"].hparams["layers"]
        return shapes

    def start_from(self, runs: dict[str, Model]) -> None:
        """Pre-training (section 3.4.1): both a GMF run and an MLP run, or neither."""
        if not runs:
            return
        if set(runs) != {"gmf", "mlp"}:
            raise UsageError(
                "NeuMF pre-training needs both a GMF and an MLP run: "
                "start_from=gmf:RUN,mlp:RUN (or gmf_run=RUN and mlp_run=RUN)"
            )
        gmf, mlp = runs["gmf"], runs["mlp"]
        if gmf.name != "gmf" or mlp.name != "mlp":
            raise UsageError(
                f"start_from gmf holds {gmf.name!r} and mlp {mlp.name!r}; expected gmf and mlp"
            )
        try:
            load_pretrained(self, gmf, mlp)  # type: ignore[arg-type]
        except ValueError as err:
            raise UsageError(f"cannot pre-train NeuMF: {err}") from None

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [
            self.gmf_user(users),
            self.gmf_item(items),
            self.mlp_user(users),
            self.mlp_item(items),
        ]


@torch.no_grad()
def load_pretrained(model: NeuMF, gmf: GMF, mlp: MLP, alpha: float = 0.5) -> NeuMF:
    """Copies a trained GMF and MLP into ``model`` (He et al. 2017, section 3.4.1).

    Embeddings and tower weights are copied; the output layer becomes
    ``[alpha * w_gmf, (1 - alpha) * w_mlp]`` with bias ``alpha * b_gmf + (1 - alpha) * b_mlp``.
    """
    dim, layers = model.hparams["dim"], model.hparams["layers"]
    if gmf.hparams["dim"] != dim:
        raise ValueError(f"GMF dim {gmf.hparams['dim']} != NeuMF dim {dim}")
    if list(mlp.hparams["layers"]) != list(layers):
        raise ValueError(f"MLP layers {mlp.hparams['layers']} != NeuMF layers {layers}")
    if (gmf.n_users, gmf.n_items) != (model.n_users, model.n_items) or (
        mlp.n_users,
        mlp.n_items,
    ) != (model.n_users, model.n_items):
        raise ValueError("pre-trained models were trained on other users or items")
    model.gmf_user.weight.copy_(gmf.user_emb.weight)
    model.gmf_item.weight.copy_(gmf.item_emb.weight)
    model.mlp_user.weight.copy_(mlp.user_emb.weight)
    model.mlp_item.weight.copy_(mlp.item_emb.weight)
    model.tower.load_state_dict(mlp.tower.state_dict())
    combined = torch.cat(
        [alpha * gmf.out.weight[:, :dim], (1 - alpha) * mlp.out.weight[:, : layers[-1]]], dim=1
    )
    model.out.weight[:, : combined.shape[1]] = combined
    model.out.bias.copy_(alpha * gmf.out.bias + (1 - alpha) * mlp.out.bias)
    return model
