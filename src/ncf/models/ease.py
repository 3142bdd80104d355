"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019).

Closed form: P = (X^T X + lambda I)^-1, B = -P / diag(P), diag(B) = 0; scores = X_u B.
The model keeps the training matrix X to score users by their history.

    >>> model = EASE(n_users, n_items, l2=1000.0); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                             # (2, n_items)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ncf.data.interactions import Interactions
from ncf.models.base import Model, pairs_from_rows


class EASE(Model):
    """Args:
    n_users, n_items: index ranges.
    l2: the L2 weight lambda on the item-item matrix.
    """

    name = "ease"
    summary = "closed-form item-item autoencoder (Steck 2019)"
    objective = "fit"

    def __init__(self, n_users: int, n_items: int, l2: float = 1000.0):
        super().__init__(n_users, n_items, l2=l2)
        self.register_buffer("weights", torch.zeros(n_items, n_items))
        self.history: sp.csr_matrix | None = None  # (n_users, n_items) binary

    def set_history(self, train: sp.csr_matrix) -> None:
        """Stores the binary user-item matrix used to score users."""
        self.history = (train > 0).astype(np.float32).tocsr()

    def observe(self, known: Interactions) -> None:
        self.set_history(known.csr())

    def fit(self, train: sp.csr_matrix) -> None:
        self.set_history(train)
        x = (train > 0).astype(np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.hparams["l2"]
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)[None, :]
        np.fill_diagonal(weights, 0.0)
        self.weights.copy_(torch.from_numpy(weights.astype(np.float32)))

    def _rows(self, users: torch.Tensor) -> torch.Tensor:
        if self.history is None:
            raise RuntimeError("EASE needs the training history: call fit() or set_history()")
        rows = self.history[users.cpu().numpy()].toarray()
        return torch.from_numpy(rows).to(self.weights.device)  # (B, I)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self._rows(users) @ self.weights  # (B, I)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return pairs_from_rows(self, users, items)

    def item_embeddings(self) -> torch.Tensor:
        return self.weights
