"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019).

Closed form: P = (X^T X + lambda I)^-1, B = -P / diag(P), diag(B) = 0; scores = X_u B.
The model keeps the training matrix X to score users by their history.

``fit`` works in float32 and in place, so that a large catalogue fits in memory: the
Gram matrix is filled a block of rows at a time from sparse products, factored and
inverted where it lies (Cholesky, then LAPACK's ``spotri``), and B is made from P without
a copy. Its peak is one (n_items, n_items) float32 matrix (6.7 GB at 41k items) plus a
block; ``np.linalg.inv`` in float64 needed three times that.

    >>> model = EASE(n_users, n_items, l2=1000.0); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                             # (2, n_items)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.linalg import lapack

from ncf.models.base import ClosedForm, RowModel


class EASE(ClosedForm, RowModel):
    """Args:
    n_users, n_items: index ranges.
    l2: the L2 weight lambda on the item-item matrix.
    """

    name = "ease"
    search_space = {"l2": (10.0, 10_000.0, "log")}
    summary = "closed-form item-item autoencoder (Steck 2019)"

    def __init__(self, n_users: int, n_items: int, l2: float = 1000.0):
        super().__init__(n_users, n_items, l2=l2)
        # left unwritten (not resident) until fitted or loaded: fit replaces it
        self.register_buffer("weights", torch.empty(n_items, n_items))

    def fit(self, train: sp.csr_matrix) -> None:
        self.set_history(train)
        assert self.history is not None
        gram = gram_matrix(self.history)
        gram[np.diag_indices_from(gram)] += self.hparams["l2"]
        weights = inverse_in_place(gram)  # P, in gram's memory
        scale = np.diag(weights).copy()
        weights /= -scale[None, :]  # B = -P / diag(P), column by column
        np.fill_diagonal(weights, 0.0)
        # on the CPU, no copy of the n_items^2 matrix
        self.weights = torch.from_numpy(weights).to(self.weights.device)

    def score_rows(self, rows: torch.Tensor) -> torch.Tensor:
        return rows @ self.weights

    def item_embeddings(self) -> torch.Tensor:
        return self.weights


def gram_matrix(binary: sp.csr_matrix, block: int = 2048) -> np.ndarray:
    """X^T X of a (users, items) matrix as a dense float32 (items, items) array, filled
    ``block`` rows at a time from sparse products."""
    by_item = binary.T.tocsr().astype(np.float32)
    by_user = binary.tocsr().astype(np.float32)
    n_items = binary.shape[1]
    gram = np.empty((n_items, n_items), dtype=np.float32)
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        gram[start:stop] = (by_item[start:stop] @ by_user).toarray()
    return gram


def inverse_in_place(matrix: np.ndarray, block: int = 2048) -> np.ndarray:
    """The inverse of a symmetric positive definite float32 matrix, computed in its own
    memory and returned as the same array: the Cholesky factor by torch (MKL), its
    inverse by LAPACK's ``spotri`` (scipy's OpenBLAS ``spotrf`` fails on a 41k matrix).

    Raises:
        ValueError: the matrix is not positive definite."""
    lower = torch.from_numpy(matrix)  # the same memory
    _, info = torch.linalg.cholesky_ex(lower, out=(lower, torch.empty((), dtype=torch.int32)))
    if int(info):
        raise ValueError(f"the Gram matrix is not positive definite (cholesky info {int(info)})")
    # C-ordered L is, seen by Fortran, the upper factor U = L^T with A = U^T U
    inverse, status = lapack.spotri(matrix.T, lower=0, overwrite_c=1)
    if status != 0:
        raise ValueError(f"the Cholesky factor is singular (spotri info {status})")
    result = inverse.T  # C-ordered again; LAPACK filled the upper triangle of its view
    if not np.shares_memory(result, matrix):  # LAPACK had to copy: keep its result
        matrix = np.ascontiguousarray(result)
    # the valid half is the lower triangle of the C view: mirror it, a block at a time
    n = matrix.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        square = matrix[start:stop, start:stop]
        square[:] = np.tril(square) + np.tril(square, -1).T
        matrix[start:stop, stop:] = matrix[stop:, start:stop].T
    return matrix
