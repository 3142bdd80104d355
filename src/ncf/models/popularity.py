"""Item popularity: score = number of training interactions of the item.

The baseline every personalised model must beat (He et al. 2017 report it as ItemPop).

    >>> model = Popularity(n_users, n_items); model.fit(train_matrix)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ncf.models.base import ClosedForm, Model


class Popularity(ClosedForm, Model):
    """Args: n_users, n_items: index ranges."""

    name = "popularity"
    summary = "number of training interactions of the item (a baseline)"
    personalised = False

    def __init__(self, n_users: int, n_items: int):
        super().__init__(n_users, n_items)
        self.register_buffer("counts", torch.zeros(n_items))

    def fit(self, train: sp.csr_matrix) -> None:
        counts = np.asarray((train > 0).sum(0)).ravel()
        self.counts.copy_(torch.from_numpy(counts.astype(np.float32)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.counts[items]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.counts.expand(len(users), -1).clone()
