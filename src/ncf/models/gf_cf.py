"""GF-CF, the closed-form graph filter of Shen et al. (CIKM 2021, "How powerful is graph
convolution for recommendation?").

With R the binary user-item matrix and R~ = D_U^-1/2 R D_I^-1/2 its normalised form, a
user's history r_u is scored by a linear filter plus an ideal low-pass filter:

    scores(u) = r_u R~^T R~  +  alpha * r_u D_I^-1/2 V_k V_k^T D_I^1/2

where V_k holds the top ``factors`` right singular vectors of R~. There is no training
loop: ``fit`` takes the truncated SVD (randomised, `torch.svd_lowrank`, where the authors
use ``sparsesvd``); the item-item product R~^T R~ is never formed: a chunk of users is
multiplied by R~^T then R~, both sparse. The model keeps the matrix of the interactions it
observes to score users by their history (as `EASE`).

    >>> model = GFCF(n_users, n_items, factors=256, alpha=0.3); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                              # (2, n_items)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ncf.models.base import ClosedForm, RowModel, torch_csr


def _normalised(matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """(R~, the items' degree^-1/2) of a user-item matrix, binarised; degree 0 -> 0."""
    binary = (matrix > 0).astype(np.float64).tocsr()
    user_degree = np.asarray(binary.sum(1)).ravel()
    item_degree = np.asarray(binary.sum(0)).ravel()
    user_scale = np.where(user_degree > 0, user_degree, 1.0) ** -0.5 * (user_degree > 0)
    item_scale = np.where(item_degree > 0, item_degree, 1.0) ** -0.5 * (item_degree > 0)
    normalised = sp.diags(user_scale) @ binary @ sp.diags(item_scale)
    return normalised.tocsr().astype(np.float32), item_scale


class GFCF(ClosedForm, RowModel):
    """Args:
    n_users, n_items: index ranges.
    factors: singular vectors of the ideal low-pass filter (256, as the authors).
    alpha: weight of the low-pass filter (0.3; 0 keeps the linear filter alone, as the
        authors do on Amazon-Book).
    """

    name = "gf-cf"
    search_space = {"factors": [64, 128, 256, 512], "alpha": (0.0, 1.0)}
    summary = "closed-form graph filter: normalised item-item + ideal low-pass (Shen et al. 2021)"
    train_defaults = {"monitor": "recall@20", "ks": [20]}

    def __init__(self, n_users: int, n_items: int, factors: int = 256, alpha: float = 0.3):
        if isinstance(factors, bool) or not isinstance(factors, int) or factors < 0:
            raise ValueError(f"factors must be a whole number >= 0, got {factors!r}")
        super().__init__(n_users, n_items, factors=factors, alpha=alpha)
        self.register_buffer("vectors", torch.zeros(n_items, factors))  # V_k
        self.register_buffer("item_scale", torch.zeros(n_items))  # D_I^-1/2 of the fit
        self._normalised: tuple[torch.Tensor, torch.Tensor] | None = None  # R~, R~^T

    def set_history(self, matrix: sp.spmatrix) -> None:
        """Keeps the binary user-item matrix that users are scored from, and its R~."""
        self._set_history(matrix)

    def _set_history(self, matrix: sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """`set_history`, returning R~ and the items' degree^-1/2."""
        super().set_history(matrix)
        normalised, item_scale = _normalised(matrix)
        self._normalised = (torch_csr(normalised), torch_csr(normalised.T.tocsr()))
        return normalised, item_scale

    def fit(self, train: sp.csr_matrix) -> None:
        normalised, item_scale = self._set_history(train)
        self.item_scale.copy_(torch.from_numpy(item_scale.astype(np.float32)))
        k = min(self.hparams["factors"], min(normalised.shape))
        if k:
            coo = normalised.tocoo()
            matrix = torch.sparse_coo_tensor(
                np.vstack([coo.row, coo.col]), coo.data, size=coo.shape, check_invariants=False
            ).coalesce()
            generator_state = torch.random.get_rng_state()
            torch.manual_seed(0)  # the randomised SVD is the same for every run
            # a few more vectors than kept make the top k accurate
            q = min(k + 10, min(normalised.shape))
            _, _, v = torch.svd_lowrank(matrix, q=q, niter=4)
            torch.random.set_rng_state(generator_state)
            self.vectors.zero_()
            self.vectors[:, :k] = v[:, :k]

    def score_rows(self, rows: torch.Tensor) -> torch.Tensor:
        if self._normalised is None:
            raise RuntimeError("GF-CF needs the training history: call fit() or observe()")
        device = self.vectors.device
        if self._normalised[0].device != device:  # moved once, not per chunk of users
            self._normalised = (self._normalised[0].to(device), self._normalised[1].to(device))
        normalised, transposed = self._normalised
        # r_u R~^T R~ as (R~^T (R~ r_u^T))^T: two sparse products, no item-item matrix
        linear = (transposed @ (normalised @ rows.T)).T.contiguous()
        if not self.hparams["factors"] or not self.hparams["alpha"]:
            return linear
        scale = self.item_scale
        inverse = torch.where(scale > 0, 1.0 / scale.clamp(min=1e-30), torch.zeros_like(scale))
        low_pass = ((rows * scale) @ self.vectors) @ self.vectors.T * inverse
        return linear.add_(low_pass, alpha=self.hparams["alpha"])
