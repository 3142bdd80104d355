"""GF-CF, the closed-form graph filter of Shen et al. (CIKM 2021, "How powerful is graph
convolution for recommendation?").

With R~ = D_U^-1/2 R D_I^-1/2 the normalised user-item matrix (`ncf.models.spectral`), a
user's history r_u is scored by a linear filter plus an ideal low-pass filter:

    scores(u) = r_u R~^T R~  +  alpha * r_u D_I^-1/2 V_k V_k^T D_I^1/2

where V_k holds the top ``factors`` right singular vectors of R~. There is no training
loop: ``fit`` takes the truncated SVD (exact by default, as the authors' ``sparsesvd``;
``svd="randomized"`` for a large catalogue); the item-item product R~^T R~ is never
formed: a chunk of users is multiplied by R~^T then R~, both sparse.

    >>> model = GFCF(n_users, n_items, factors=256, alpha=0.3); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                              # (2, n_items)
"""

from __future__ import annotations

from typing import Any

import torch

from ncf.models.spectral import SpectralFilter


class GFCF(SpectralFilter):
    """Args:
    n_users, n_items: index ranges.
    factors: singular vectors of the ideal low-pass filter (256, as the authors).
    alpha: weight of the low-pass filter (0.3; 0 keeps the linear filter alone, as the
        authors do on Amazon-Book).
    svd: ``exact`` (`scipy.sparse.linalg.svds`) or ``randomized`` (`torch.svd_lowrank`).
    """

    name = "gf-cf"
    search_space = {"factors": [64, 128, 256, 512], "alpha": (0.0, 1.0)}
    summary = "closed-form graph filter: normalised item-item + ideal low-pass (Shen et al. 2021)"
    train_defaults = {"monitor": "recall@20", "ks": [20]}

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int = 256,
        alpha: float = 0.3,
        svd: str = "exact",
    ):
        super().__init__(n_users, n_items, factors=factors, svd=svd, alpha=alpha)
        self._register_load_state_dict_pre_hook(_older_bundle)

    def filter_columns(self, columns: torch.Tensor) -> torch.Tensor:
        linear = self.smooth(columns)
        if not self.hparams["factors"] or not self.hparams["alpha"]:
            return linear
        low_pass = self.low_pass(columns * self.degree_power(-0.5)) * self.degree_power(0.5)
        return linear.add_(low_pass, alpha=self.hparams["alpha"])


def _older_bundle(state: dict[str, Any], prefix: str, *_: Any) -> None:
    """An older GF-CF bundle keeps the items' degree^-1/2 (``item_scale``), not the degree."""
    scale = state.pop(prefix + "item_scale", None)
    if scale is not None and prefix + "item_degree" not in state:
        state[prefix + "item_degree"] = torch.where(
            scale > 0, scale.clamp(min=1e-30) ** -2, torch.zeros_like(scale)
        )
