"""What the training-free graph filters share (GF-CF, BSPM, ChebyCF): the normalised
user-item matrix, filtering over the normalised item-item graph without forming it, and
the ideal low-pass filter's top singular vectors.

With R the binary (n_users, n_items) matrix of a model's history and D_U, D_I its users'
and items' degrees, R~ = D_U^-1/2 R D_I^-1/2 and P~ = R~^T R~ is the normalised item-item
graph (eigenvalues in [0, 1]; I - P~ is its Laplacian). A user's row x (a row vector) is
filtered by polynomials of P~: x P~ is computed as (R~^T (R~ x^T))^T, two sparse products
over a chunk of users, so that no (n_items, n_items) matrix is formed: 2 x nnz(R) x
users multiply-adds per application (Gowalla: 48 G for all 29,858 users, about 30 s on
one core).

The ideal low-pass filter keeps the span of the top ``factors`` right singular vectors V
of R~ (the top eigenvectors of P~), found by the randomised SVD of Halko et al.
(`torch.svd_lowrank`, seeded) or exactly (``svd="exact"``: PROPACK or ARPACK through
`scipy.sparse.linalg.svds`, as the authors' ``sparsesvd`` / ``svds``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ncf.models.base import ClosedForm, RowModel, inverse_power, torch_csr

SVD_METHODS = ("randomized", "exact")
_DENSE_SVD = 1000  # up to this many users or items, the exact SVD is LAPACK's dense one


def normalised_matrix(matrix: sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """(R~ as float32 CSR, the items' degrees) of a user-item matrix, binarised; a user
    or an item without interactions gets a zero row or column."""
    binary = (matrix > 0).astype(np.float64).tocsr()
    user_degree = np.asarray(binary.sum(1)).ravel()
    item_degree = np.asarray(binary.sum(0)).ravel()
    normalised = sp.diags(inverse_power(user_degree, 0.5)) @ binary
    normalised = normalised @ sp.diags(inverse_power(item_degree, 0.5))
    return normalised.tocsr().astype(np.float32), item_degree


def top_item_vectors(normalised: sp.csr_matrix, k: int, method: str) -> np.ndarray:
    """(n_items, k) top right singular vectors of ``normalised``, by decreasing singular
    value; every method gives the same vectors on every fit of the same matrix."""
    smaller = min(normalised.shape)
    if method == "exact" and smaller <= _DENSE_SVD:  # LAPACK's dense SVD
        vt = np.linalg.svd(normalised.toarray().astype(np.float64), full_matrices=False)[2]
        return vt[:k].T.astype(np.float32)
    k = min(k, smaller - 1 if method == "exact" else smaller)
    if k <= 0:
        return np.zeros((normalised.shape[1], 0), dtype=np.float32)
    if method == "exact":
        return _sparse_svd(normalised.astype(np.float64), k)
    coo = normalised.tocoo()
    matrix = torch.sparse_coo_tensor(
        np.vstack([coo.row, coo.col]), coo.data, size=coo.shape, check_invariants=False
    ).coalesce()
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:  # a few more vectors than kept, and power iterations, make the top k accurate
        _, _, v = torch.svd_lowrank(matrix, q=min(k + 10, smaller), niter=4)
    finally:
        torch.random.set_rng_state(state)
    return v[:, :k].numpy()


def _sparse_svd(matrix: sp.csr_matrix, k: int) -> np.ndarray:
    """The top k right singular vectors by PROPACK (3-4 times sooner than ARPACK on
    Gowalla, k = 512), or ARPACK where PROPACK is unavailable or has not converged (it
    can return wrong triples on a matrix of low rank)."""
    from scipy.sparse.linalg import svds

    start = np.random.default_rng(0).uniform(size=matrix.shape[0])
    try:
        u, values, vt = svds(matrix, k=k, solver="propack", v0=start, random_state=0)
    except ValueError:  # a SciPy that keeps PROPACK behind SCIPY_USE_PROPACK
        u = None
    if u is None or not _converged(matrix, u, values, vt):
        _, values, vt = svds(matrix, k=k, solver="arpack", random_state=0)
    return vt[np.argsort(-values)].T.astype(np.float32)


def _converged(matrix: sp.csr_matrix, u: np.ndarray, values: np.ndarray, vt: np.ndarray) -> bool:
    """Whether A v = s u and A^T u = s v hold for every returned triple (to 1e-6)."""
    right = np.linalg.norm(matrix @ vt.T - u * values, axis=0)
    left = np.linalg.norm(matrix.T @ u - vt.T * values, axis=0)
    return bool(max(right.max(initial=0), left.max(initial=0)) < 1e-6 * max(1.0, values.max()))


class SpectralFilter(ClosedForm, RowModel):
    """A training-free filter over the normalised item-item graph of the history.

    ``fit`` keeps the history's R~ (`set_history`), the items' degrees and, when
    ``factors`` > 0, the top singular vectors (buffers ``vectors`` and ``item_degree``,
    which a bundle stores); observing other interactions (train + validation before the
    test, the bundle's when serving) replaces the history the filters run over.
    Subclasses implement ``filter_columns`` with `smooth` and `low_pass`."""

    #: users scored at once in evaluation (`Evaluator`): the sparse products with R~ run
    #: 1.4 times faster per user on chunks of 1,024 users than of 100 (Gowalla, one thread)
    min_chunk_users = 1024

    def __init__(self, n_users: int, n_items: int, factors: int, svd: str, **hparams: Any):
        if isinstance(factors, bool) or not isinstance(factors, int) or factors < 0:
            raise ValueError(f"factors must be a whole number >= 0, got {factors!r}")
        if svd not in SVD_METHODS:
            raise ValueError(f"svd must be one of {', '.join(SVD_METHODS)}, got {svd!r}")
        super().__init__(n_users, n_items, factors=factors, svd=svd, **hparams)
        self.register_buffer("vectors", torch.zeros(n_items, factors))  # V
        self.register_buffer("item_degree", torch.zeros(n_items))  # of the fit
        self._normalised: tuple[torch.Tensor, torch.Tensor] | None = None  # R~, R~^T

    def set_history(self, matrix: sp.spmatrix) -> None:
        """Keeps the binary user-item matrix that users are scored from, and its R~."""
        self._set_history(matrix)

    def _set_history(self, matrix: sp.spmatrix) -> tuple[sp.csr_matrix, np.ndarray]:
        super().set_history(matrix)
        normalised, item_degree = normalised_matrix(matrix)
        self._normalised = (torch_csr(normalised), torch_csr(normalised.T.tocsr()))
        return normalised, item_degree

    def fit(self, train: sp.csr_matrix) -> None:
        normalised, item_degree = self._set_history(train)
        self.item_degree.copy_(torch.from_numpy(item_degree.astype(np.float32)))
        self.vectors.zero_()
        if self.hparams["factors"]:
            vectors = top_item_vectors(normalised, self.hparams["factors"], self.hparams["svd"])
            self.vectors[:, : vectors.shape[1]] = torch.from_numpy(vectors)

    def _graph(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._normalised is None:
            raise RuntimeError(f"{self.name} needs the training history: call fit() or observe()")
        device = self.vectors.device
        if self._normalised[0].device != device:  # moved once, not per chunk of users
            self._normalised = (self._normalised[0].to(device), self._normalised[1].to(device))
        return self._normalised

    def score_rows(self, rows: torch.Tensor) -> torch.Tensor:
        # the filters work on (n_items, B) columns, the layout the sparse products take
        # and give, so that no step between them transposes a chunk of users
        return self.filter_columns(rows.T.contiguous()).T.contiguous()

    def filter_columns(self, columns: torch.Tensor) -> torch.Tensor:
        """(n_items, B) users' rows as columns -> their (n_items, B) scores."""
        raise NotImplementedError

    def smooth(self, columns: torch.Tensor) -> torch.Tensor:
        """P~ = R~^T R~ times (n_items, B) columns, as two sparse products."""
        normalised, transposed = self._graph()
        return transposed @ (normalised @ columns)

    def low_pass(self, columns: torch.Tensor) -> torch.Tensor:
        """(n_items, B) columns projected on the span of the top singular vectors: V V^T x."""
        return self.vectors @ (self.vectors.T @ columns)

    def degree_power(self, power: float) -> torch.Tensor:
        """(n_items, 1): the fit's item degrees to ``power`` (0 for an item without
        interactions), to scale columns by."""
        degree = self.item_degree
        scale = torch.where(degree > 0, degree.clamp(min=1e-30) ** power, torch.zeros_like(degree))
        return scale[:, None]
