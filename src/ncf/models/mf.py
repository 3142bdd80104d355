"""Explicit matrix factorisation: predicted ratings, trained on MSE (the ``rating`` regime).

- `MF` (S9, S11): rating(u, i) = <p_u, q_i>, embeddings drawn from U(0, 0.05).
- `MFBias` (S6, S9): rating(u, i) = mu + b_u + b_i + <p_u, q_i>, dropout on the
  embeddings while training; mu starts at the training ratings' mean.

    >>> model = MFBias(n_users=943, n_items=1682, dim=32)
    >>> model(torch.tensor([0, 1]), torch.tensor([5, 7]))                 # (2,) ratings
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ncf.models.base import DotProductModel, EmbeddingModel, Table, bias_tables, init_embedding

# chosen on the validation part of ML-100K's ratio:0.8,0.1,0.1 split, the same for both
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 60,
    "lr": 0.003,
    "batch_size": 1024,
    "weight_decay": 1e-4,
    "reg": 0.1,
    "patience": 5,
}


class MF(DotProductModel):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size (S9: 100).
    init_high: embeddings start uniform in [0, init_high].
    sparse: sparse embedding gradients (S6: with SGD or SparseAdam; weight decay does
        not apply to them, ``reg`` does).
    """

    name = "mf"
    search_space = {"dim": [10, 25, 50, 100, 200], "reg": (1e-3, 1.0, "log")}
    summary = "explicit matrix factorisation: dot product of embeddings, MSE on ratings"
    objective = "rating"
    train_defaults = TRAIN_DEFAULTS

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 100,
        init_high: float = 0.05,
        sparse: bool = False,
    ):
        super().__init__(n_users, n_items, dim=dim, init_high=init_high, sparse=sparse)
        self.user_emb = Table(n_users, dim, sparse=sparse)
        self.item_emb = Table(n_items, dim, sparse=sparse)
        for table in (self.user_emb, self.item_emb):
            nn.init.uniform_(table.weight, 0.0, init_high)


class MFBias(EmbeddingModel):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size (S6: 10).
    dropout: dropout on both embeddings while training.
    init_std: std of the N(0, std) embedding init.
    sparse: sparse embedding gradients, as for `MF`.
    """

    name = "mf-bias"
    search_space = {"dim": [5, 10, 25, 50, 100], "reg": (1e-3, 1.0, "log")}
    summary = "explicit MF with global, user and item biases and embedding dropout"
    objective = "rating"
    train_defaults = TRAIN_DEFAULTS

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 10,
        dropout: float = 0.0,
        init_std: float = 0.01,
        sparse: bool = False,
    ):
        super().__init__(
            n_users, n_items, dim=dim, dropout=dropout, init_std=init_std, sparse=sparse
        )
        self.user_emb = init_embedding(Table(n_users, dim, sparse=sparse), init_std)
        self.item_emb = init_embedding(Table(n_items, dim, sparse=sparse), init_std)
        self.user_bias, self.item_bias = bias_tables(n_users, n_items, sparse)
        self.global_bias = nn.Parameter(torch.zeros(()))
        self.drop = nn.Dropout(dropout)

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        with torch.no_grad():
            self.global_bias.fill_(float(np.mean(ratings)) if len(ratings) else 0.0)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.drop(self.user_emb(users)) * self.drop(self.item_emb(items))).sum(1)
        biases = self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)
        return self.global_bias + biases + dot  # (B,)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        item_terms = self.item_bias.weight.T + self.global_bias  # (1, I)
        scores = torch.addmm(item_terms, self.user_emb(users), self.item_emb.weight.T)
        return scores.add_(self.user_bias(users))  # (B, I)

    def item_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.item_emb.weight, self.item_bias.weight[:, 0] + self.global_bias

    def user_factors(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users)

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [*super().regularised(users, items), self.user_bias(users), self.item_bias(items)]
