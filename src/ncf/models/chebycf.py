"""ChebyCF, the Chebyshev-interpolated graph filter of Kim et al. (SIGIR 2025, "Graph
Spectral Filtering with Chebyshev Interpolation for Recommendation").

A user's whole history is filtered over the normalised item-item graph P~ = R~^T R~
(`ncf.models.spectral`) by a smooth low-pass transfer function h of the rescaled
Laplacian L~ = I - 2 P~ (eigenvalues in [-1, 1]; -1 is the lowest frequency), plus an
ideal pass over the top singular vectors, between a degree-based normalisation:

    x' = x D^-beta
    scores = (sum_k c_k T_k(L~) x'  +  alpha * x' V V^T) D^beta

T_k are the Chebyshev polynomials (T_0 x = x, T_1 x = L~ x, T_k = 2 L~ T_k-1 - T_k-2),
so the filter costs ``order`` products with P~, each two sparse products over a chunk of
users; no (n_items, n_items) matrix is formed. The coefficients c_k interpolate the
"plateau" transfer function at the order + 1 Chebyshev nodes: 1 at the lowest frequency,
0 at the highest, ``flatness`` setting how flat it stays before it falls (the authors take
its values on the Chebyshev extrema, rounded to 3 decimals, and place them on the nodes;
so does this code, to give their numbers).

The defaults are the authors' Gowalla settings: order 8, flatness 1.5, 512 vectors with
weight 0.2, degree power 0.4.

    >>> model = ChebyCF(n_users, n_items); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                              # (2, n_items)
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ncf.models.spectral import SpectralFilter


def plateau_coefficients(order: int, flatness: float) -> np.ndarray:
    """(order + 1,) Chebyshev coefficients of the plateau transfer function."""
    grid = np.round(np.cos((order - np.arange(order + 1)) / order * math.pi), 3)
    target = np.where(
        grid < 0, 0.5 + 0.5 * np.abs(grid) ** flatness, 0.5 - 0.5 * np.abs(grid) ** flatness
    ).round(3)
    nodes = np.cos((order + 0.5 - np.arange(order + 1)) / (order + 1) * math.pi)
    basis = np.cos(np.outer(np.arange(order + 1), np.arccos(nodes)))  # T_k(node_j)
    coefficients = basis @ target * 2 / (order + 1)
    coefficients[0] /= 2
    return coefficients


class ChebyCF(SpectralFilter):
    """Args:
    n_users, n_items: index ranges.
    order: degree K of the Chebyshev interpolation (8): K products with P~ per user.
    flatness: how flat the plateau stays before it falls (1.5).
    factors: singular vectors of the ideal pass (512; 0 turns it off).
    alpha: weight of the ideal pass (0.2).
    beta: power of the degree normalisation (0.4; 0 turns it off).
    svd: ``exact`` (`scipy.sparse.linalg.svds`) or ``randomized``.
    """

    name = "chebycf"
    search_space = {
        "order": (2, 12),
        "flatness": (0.5, 4.0),
        "alpha": (0.0, 0.5),
        "beta": (0.0, 0.6),
    }
    summary = "Chebyshev-interpolated spectral filter + ideal pass (Kim et al. 2025)"
    train_defaults = {"monitor": "recall@20", "ks": [20]}

    def __init__(
        self,
        n_users: int,
        n_items: int,
        order: int = 8,
        flatness: float = 1.5,
        factors: int = 512,
        alpha: float = 0.2,
        beta: float = 0.4,
        svd: str = "exact",
    ):
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a whole number >= 1, got {order!r}")
        if flatness <= 0:
            raise ValueError(f"flatness must be > 0, got {flatness}")
        super().__init__(
            n_users,
            n_items,
            factors=factors,
            svd=svd,
            order=order,
            flatness=flatness,
            alpha=alpha,
            beta=beta,
        )
        coefficients = plateau_coefficients(order, flatness)
        self.coefficients = [float(c) for c in coefficients]

    def rescaled_laplacian(self, columns: torch.Tensor) -> torch.Tensor:
        """L~ x = x - 2 P~ x for (n_items, B) columns."""
        return columns - 2 * self.smooth(columns)

    def filter_columns(self, columns: torch.Tensor) -> torch.Tensor:
        beta = self.hparams["beta"]
        signal = columns * self.degree_power(-beta) if beta else columns
        previous, current = signal, self.rescaled_laplacian(signal)
        scores = self.coefficients[0] * previous + self.coefficients[1] * current
        for coefficient in self.coefficients[2:]:
            previous, current = current, 2 * self.rescaled_laplacian(current) - previous
            scores.add_(current, alpha=coefficient)
        if self.hparams["factors"] and self.hparams["alpha"]:
            scores.add_(self.low_pass(signal), alpha=self.hparams["alpha"])
        return scores * self.degree_power(beta) if beta else scores
