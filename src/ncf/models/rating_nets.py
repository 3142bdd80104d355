"""Neural rating predictors over concatenated user and item embeddings (``rating`` regime).

- `ConcatNet` (S9): cat(p_u, q_i) -> ReLU -> dropout 0.1 -> 10 -> ReLU -> 1, a rating.
- `EmbeddingNet` (S5): embeddings of 150 with dropout 0.05, hidden layers [500, 500, 500]
  with dropouts [0.5, 0.5, 0.25], and a sigmoid squashing the output into the rating
  range widened by half a star each side, so that the extreme ratings are reachable:
  ``low - 0.5 + sigmoid(x) (high - low + 1)``; ``low`` and ``high`` come from the
  training ratings.

    >>> model = EmbeddingNet(n_users=943, n_items=1682)
    >>> model(torch.tensor([0]), torch.tensor([5]))                       # (1,) a rating
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ncf.models.base import EmbeddingModel, Table, start_at_mean


class _ConcatEmbeddings(EmbeddingModel):
    """Shared: user and item embeddings, concatenated per (user, item) pair."""

    def pairs(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.user_emb(users), self.item_emb(items)], dim=1)  # (B, 2d)


class ConcatNet(_ConcatEmbeddings):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size.
    hidden: width of the hidden layer (S9: 10).
    dropout: dropout after the ReLU on the embeddings (S9: 0.1).
    """

    name = "concat-net"
    search_space = {"dim": [25, 50, 100], "hidden": [10, 50, 100], "dropout": (0.0, 0.5)}
    summary = "concatenated embeddings -> ReLU -> dropout -> 10 -> 1, MSE on ratings"
    objective = "rating"
    # chosen on the validation part of ML-100K's ratio:0.8,0.1,0.1 split
    train_defaults: dict[str, Any] = {
        "epochs": 60,
        "lr": 0.003,
        "batch_size": 1024,
        "weight_decay": 1e-4,
        "patience": 5,
    }

    def __init__(
        self, n_users: int, n_items: int, dim: int = 100, hidden: int = 10, dropout: float = 0.1
    ):
        super().__init__(n_users, n_items, dim=dim, hidden=hidden, dropout=dropout)
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items, dim)
        for table in (self.user_emb, self.item_emb):
            nn.init.uniform_(table.weight, -0.05, 0.05)
        self.net = nn.Sequential(
            nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * dim, hidden), nn.ReLU()
        )
        self.out = nn.Linear(hidden, 1)

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        start_at_mean(self.out, ratings)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.out(self.net(self.pairs(users, items))).squeeze(1)  # (B,)


class EmbeddingNet(_ConcatEmbeddings):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size (S5: 150).
    layers: hidden layer widths (S5: 500, 500, 500).
    dropouts: dropout after each hidden layer (S5: 0.5, 0.5, 0.25).
    embedding_dropout: dropout on the concatenated embeddings (S5: 0.05).
    """

    name = "embedding-net"
    search_space = {"dim": [50, 100, 150], "embedding_dropout": (0.0, 0.3)}
    summary = "deep net on concatenated embeddings, sigmoid into the rating range (S5)"
    objective = "rating"
    # chosen on the validation part of ML-100K's ratio:0.8,0.1,0.1 split
    train_defaults: dict[str, Any] = {
        "epochs": 40,
        "lr": 1e-3,
        "batch_size": 512,
        "weight_decay": 1e-5,
        "patience": 5,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 150,
        layers: Sequence[int] = (500, 500, 500),
        dropouts: Sequence[float] = (0.5, 0.5, 0.25),
        embedding_dropout: float = 0.05,
    ):
        layers, dropouts = list(layers), list(dropouts)
        if len(dropouts) != len(layers):
            raise ValueError(
                f"dropouts has {len(dropouts)} values for {len(layers)} layers; give one each"
            )
        super().__init__(
            n_users,
            n_items,
            dim=dim,
            layers=layers,
            dropouts=dropouts,
            embedding_dropout=embedding_dropout,
        )
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items, dim)
        for table in (self.user_emb, self.item_emb):
            nn.init.uniform_(table.weight, -0.05, 0.05)
        steps: list[nn.Module] = [nn.Dropout(embedding_dropout)]
        for n_in, n_out, p in zip([2 * dim, *layers[:-1]], layers, dropouts, strict=True):
            linear = nn.Linear(n_in, n_out)
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)
            steps += [linear, nn.ReLU(), nn.Dropout(p)]
        self.net = nn.Sequential(*steps)
        self.out = nn.Linear(layers[-1], 1)
        nn.init.xavier_uniform_(self.out.weight)
        self.register_buffer("low", torch.tensor(1.0))
        self.register_buffer("high", torch.tensor(5.0))

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        if len(ratings):
            self.low.fill_(float(np.min(ratings)))
            self.high.fill_(float(np.max(ratings)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        x = self.out(self.net(self.pairs(users, items))).squeeze(1)
        return self.low - 0.5 + torch.sigmoid(x) * (self.high - self.low + 1)  # (B,)
