"""Item-based deep autoencoder for ratings (S11; Sedhain et al. 2015's I-AutoRec made deep
as in Kuchaiev & Ginsburg 2017), trained with the ``item-rows`` regime.

Each item is its vector of ratings by every user (0 where unrated). The encoder
(n_users -> 28 -> 56 -> 56, SELU) and the decoder (56 -> 28 -> n_users; SELU, then a
linear output) reconstruct it; dropout 0.3 on the code. The loss counts the rated entries
only; dense re-feeding (the reconstruction fed in again, all its entries counted) is the
regime's. The rating of user u for item i is entry u of item i's reconstruction, so the
model keeps the observed ratings (`observe`): training ratings for validation, train +
validation for the test, the bundle's for serving.

    >>> model = AutoEncoder(n_users=610, n_items=9724)
    >>> model.observe(train)
    >>> model(torch.tensor([0, 1]), torch.tensor([5, 5]))                 # (2,) ratings
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ncf.data.interactions import Interactions
from ncf.models.base import Model


def item_matrix(known: Interactions) -> sp.csr_matrix:
    """(n_items, n_users) float32 CSR of the ratings (1 for interactions without one)."""
    values = np.ones(len(known), np.float32) if known.ratings is None else known.ratings
    matrix = sp.csr_matrix(
        (values, (known.item_ids, known.user_ids)), shape=(known.n_items, known.n_users)
    )
    matrix.sum_duplicates()
    return matrix


class AutoEncoder(Model):
    """Args:
    n_users, n_items: index ranges.
    layers: encoder widths (S11: 28, 56, 56); the decoder goes back from the last
        through the widths before the last two to n_users (S11: 56 -> 28 -> n).
    dropout: dropout on the code (S11: 0.3).
    """

    name = "autoencoder"
    search_space = {
        "dropout": (0.0, 0.6),
        "layers": ["[28, 56, 56]", "[64, 128, 128]", "[128, 256]"],
    }
    summary = "item-based deep autoencoder over rating vectors, SELU, re-feeding (S11)"
    objective = "item-rows"
    # chosen on the validation part of ML-100K's ratio:0.8,0.1,0.1 split
    train_defaults: dict[str, Any] = {
        "epochs": 200,
        "lr": 1e-3,
        "batch_size": 64,
        "weight_decay": 1e-4,
        "patience": 10,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        layers: Sequence[int] = (28, 56, 56),
        dropout: float = 0.3,
    ):
        layers = list(layers)
        super().__init__(n_users, n_items, layers=layers, dropout=dropout)
        widths = [n_users, *layers]
        encoder: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            encoder += [nn.Linear(n_in, n_out), nn.SELU()]
        self.encoder = nn.Sequential(*encoder)
        self.drop = nn.Dropout(dropout)
        back = [layers[-1], *layers[:-2][::-1], n_users]  # 56 -> 28 -> n for (28, 56, 56)
        decoder: list[nn.Module] = []
        for n_in, n_out in zip(back[:-1], back[1:]):
            decoder += [nn.Linear(n_in, n_out), nn.SELU()]
        self.decoder = nn.Sequential(*decoder[:-1])  # a linear output: ratings, unbounded
        for layer in (*self.encoder, *self.decoder):
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        self.ratings: sp.csr_matrix | None = None  # (n_items, n_users), set by observe

    def reconstruct(self, rows: torch.Tensor) -> torch.Tensor:
        """(B, n_users) items' rating vectors -> (B, n_users) reconstructions."""
        return self.decoder(self.drop(self.encoder(rows)))

    def observe(self, known: Interactions) -> None:
        self.ratings = item_matrix(known)

    def _rows(self, items: torch.Tensor) -> torch.Tensor:
        if self.ratings is None:
            raise RuntimeError("the autoencoder scores from observed ratings: call observe()")
        dense = self.ratings[items.cpu().numpy()].toarray()
        return torch.from_numpy(dense).to(self.device)  # (B, n_users)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        distinct, inverse = torch.unique(items, return_inverse=True)
        rebuilt = self.reconstruct(self._rows(distinct))  # (I', n_users)
        return rebuilt[inverse, users]  # (B,)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        chunk = max(1, self.score_budget // max(self.n_users, 1))
        columns = []
        for start in range(0, self.n_items, chunk):
            items = torch.arange(start, min(start + chunk, self.n_items), device=users.device)
            columns.append(self.reconstruct(self._rows(items))[:, users])  # (chunk, B)
        return torch.cat(columns).T.contiguous()  # (B, n_items)

    def item_embeddings(self) -> torch.Tensor | None:
        if self.ratings is None:
            return None
        with torch.no_grad():
            items = torch.arange(self.n_items, device=self.device)
            return self.encoder(self._rows(items))  # (n_items, code)
