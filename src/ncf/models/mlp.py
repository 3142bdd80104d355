"""MLP recommender (He et al., "Neural Collaborative Filtering", WWW 2017).

User and item embeddings of ``layers[0] / 2`` each are concatenated and sent through a
ReLU tower ``layers``, then a linear layer gives the logit.

    >>> model = MLP(n_users=6040, n_items=3706, layers=(128, 64, 32), dropout=0.0)
    >>> logits = model(torch.tensor([0]), torch.tensor([3]))              # (1,)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ncf.models.base import (
    ItemFeatures,
    Model,
    Table,
    grid_chunk,
    init_embedding,
    start_at_mean,
)
from ncf.models.towers import run_tower_on_grid, tower, tower_on_batch


class MLP(ItemFeatures, Model):
    """Args:
    n_users, n_items: index ranges.
    layers: tower sizes; ``layers[0]`` is the concatenated embedding width (even).
    dropout: dropout after each hidden layer: one rate, or one per layer.
    batch_norm: batch normalisation after each hidden linear layer.
    init_std: std of the N(0, std) embedding init.
    feature_dim: width of a fixed vector per item concatenated before the output layer
        (`ItemFeatures`; set from ``item_features``).
    """

    name = "mlp"
    search_space = {
        "layers": ["[64, 32, 16]", "[128, 64, 32]", "[256, 128, 64]"],
        "dropout": (0.0, 0.5),
    }
    summary = "concatenated embeddings through a ReLU tower (He et al. 2017)"
    objective = "pointwise"
    # chosen on the validation part of the NCF ML-1M split
    train_defaults = {
        "epochs": 8,
        "lr": 0.003,
        "batch_size": 8192,
        "n_negatives": 8,
        "schedule": "cosine",
        "patience": 3,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        layers: Sequence[int] = (128, 64, 32),
        dropout: float | Sequence[float] = 0.0,
        batch_norm: bool = False,
        init_std: float = 0.01,
        feature_dim: int = 0,
    ):
        layers = [int(x) for x in layers]
        if len(layers) < 2 or layers[0] % 2:
            raise ValueError(f"layers must have >= 2 sizes and an even first size, got {layers}")
        super().__init__(
            n_users,
            n_items,
            layers=layers,
            dropout=dropout,
            batch_norm=batch_norm,
            init_std=init_std,
            feature_dim=feature_dim,
        )
        self._feature_table(feature_dim)
        half = layers[0] // 2
        self.user_emb = init_embedding(Table(n_users, half), init_std)
        self.item_emb = init_embedding(Table(n_items, half), init_std)
        self.tower = tower(layers, dropout, batch_norm)
        self.out = nn.Linear(layers[-1] + self.feature_dim, 1)
        nn.init.xavier_uniform_(self.out.weight)
        with torch.no_grad():
            self.out.weight[:, layers[-1] :] = 0.0  # the item vectors' weights start at zero
        nn.init.zeros_(self.out.bias)

    def features(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.tower(torch.cat([self.user_emb(users), self.item_emb(items)], dim=1))

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        start_at_mean(self.out, ratings)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.out(self.with_features(self.features(users, items), items)).squeeze(1)

    def grid_features(self, users: torch.Tensor) -> torch.Tensor:
        """(B,) -> (B, n_items, layers[-1]) tower outputs for every item."""
        return run_tower_on_grid(self.tower, self.user_emb(users), self.item_emb.weight)

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """`forward` over each user's positive and negatives, each user looked up and
        projected once (`tower_on_batch`)."""
        if regularise or self.feature_dim:
            return super().pair_scores(users, positives, negatives, regularise)
        items = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + K)
        hidden = tower_on_batch(self.tower, self.user_emb, self.item_emb, users, items)
        w_tower = self.out.weight[0, : self.hparams["layers"][-1]]
        scores = (hidden @ w_tower + self.out.bias).float()
        return scores[:, 0], scores[:, 1:], []

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        chunk = grid_chunk(self, max(self.hparams["layers"]))
        w_tower = self.out.weight[0, : self.hparams["layers"][-1]]
        parts = [
            self.grid_features(users[s : s + chunk]) @ w_tower + self.out.bias
            for s in range(0, len(users), chunk)
        ]
        scores = torch.cat(parts) if parts else torch.empty(0, self.n_items)
        return scores + self.feature_scores(self.out)

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user_emb(users), self.item_emb(items)]
