"""Generalized Matrix Factorization (He et al., "Neural Collaborative Filtering", WWW 2017).

score(u, i) = w . (p_u * q_i) + b, trained pointwise with BCE on sampled negatives.

    >>> model = GMF(n_users=6040, n_items=3706, dim=64)
    >>> logits = model(torch.tensor([0, 1]), torch.tensor([5, 7]))        # (2,)
    >>> model.score_all(torch.tensor([0, 1])).shape                       # (2, 3706)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ncf.models.base import ItemFeatures, Model, Table, init_embedding, start_at_mean


class GMF(ItemFeatures, Model):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size.
    init_std: std of the N(0, std) embedding init.
    feature_dim: width of a fixed vector per item concatenated before the output layer
        (`ItemFeatures`; set from ``item_features``).
    """

    name = "gmf"
    search_space = {"dim": [8, 16, 32, 64, 128]}
    summary = "generalized matrix factorisation: weighted product of embeddings (He et al. 2017)"
    objective = "pointwise"
    # chosen on the validation part of the NCF ML-1M split
    train_defaults = {
        "epochs": 8,
        "lr": 0.003,
        "batch_size": 4096,
        "n_negatives": 4,
        "schedule": "cosine",
        "patience": 3,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        init_std: float = 0.01,
        feature_dim: int = 0,
    ):
        super().__init__(n_users, n_items, dim=dim, init_std=init_std, feature_dim=feature_dim)
        self._feature_table(feature_dim)
        self.user_emb = init_embedding(Table(n_users, dim), init_std)
        self.item_emb = init_embedding(Table(n_items, dim), init_std)
        self.out = nn.Linear(dim + self.feature_dim, 1)
        nn.init.normal_(self.out.weight, mean=1.0 / dim**0.5, std=0.01)
        with torch.no_grad():
            self.out.weight[:, dim:] = 0.0  # the item vectors' weights start at zero
        nn.init.zeros_(self.out.bias)

    def features(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users) * self.item_emb(items)  # (B, dim)

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        start_at_mean(self.out, ratings)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        hidden = self.with_features(self.features(users, items), items)
        return self.out(hidden).squeeze(1)  # (B,)

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """`forward` over each user's positive and negatives, each user looked up once."""
        if regularise or self.feature_dim:
            return super().pair_scores(users, positives, negatives, regularise)
        items = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + K)
        weighted = self.user_emb(users) * self.out.weight[0, : self.hparams["dim"]]
        scores = ((self.item_emb(items) * weighted[:, None]).sum(2) + self.out.bias).float()
        return scores[:, 0], scores[:, 1:], []

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        dim = self.hparams["dim"]
        weighted = self.user_emb(users) * self.out.weight[:, :dim]  # (B, dim)
        scores = weighted @ self.item_emb.weight.T + self.out.bias  # (B, n_items)
        return scores + self.feature_scores(self.out)

    def item_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """score = (p * w) . q + b = p . (w * q) + b: the item vectors carry the weights."""
        vectors = self.item_emb.weight * self.out.weight[:, : self.hparams["dim"]]
        return vectors, self.out.bias + self.feature_scores(self.out)

    def user_factors(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users)

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight * self.out.weight[:, : self.hparams["dim"]].abs()

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user_emb(users), self.item_emb(items)]
