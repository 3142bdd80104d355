"""Matrix factorisation trained with BPR (Rendle et al., UAI 2009).

score(u, i) = b_u + b_i + <p_u, q_i>; loss = -log sigmoid(score(u, i+) - score(u, i-)),
with L2 on the embeddings a batch touches (``reg``).

    >>> model = BPRMF(n_users=943, n_items=1682, dim=64)
    >>> model.score_all(torch.tensor([0])).shape                          # (1, 1682)
"""

from __future__ import annotations

import torch

from ncf.models.base import Model, Table, bias_tables, init_embedding
from ncf.models.pair_dot import pair_counts, pair_dot


class BPRMF(Model):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size.
    init_std: std of the N(0, std) embedding init.
    sparse: sparse embedding gradients (S6: with SGD or SparseAdam; weight decay does
        not apply to them, ``reg`` does).
    """

    name = "bpr-mf"
    search_space = {"dim": [32, 64, 128, 256], "reg": (1e-5, 1e-1, "log")}
    summary = "dot product with biases, Bayesian personalised ranking (Rendle et al. 2009)"
    objective = "pairwise"
    # chosen on the validation part of the NCF ML-1M split
    train_defaults = {
        "epochs": 12,
        "lr": 0.005,
        "batch_size": 8192,
        "n_negatives": 8,
        "reg": 1e-3,
        "schedule": "cosine",
        "patience": 3,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 128,
        init_std: float = 0.1,
        sparse: bool = False,
    ):
        super().__init__(n_users, n_items, dim=dim, init_std=init_std, sparse=sparse)
        self.user_emb = init_embedding(Table(n_users, dim, sparse=sparse), init_std)
        self.item_emb = init_embedding(Table(n_items, dim, sparse=sparse), init_std)
        self.user_bias, self.item_bias = bias_tables(n_users, n_items, sparse)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user_emb(users) * self.item_emb(items)).sum(1)  # (B,)
        return dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """`forward` over each user's positive and negatives, each user looked up once;
        dense tables score them with `pair_dot` (sparse on the CPU)."""
        items = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + K)
        if self.hparams["sparse"]:  # sparse gradients come from the tables' own lookups
            user, vectors = self.user_emb(users), self.item_emb(items)
            scores = (vectors * user[:, None]).sum(2) + self.item_bias(items).squeeze(2)
            scores = scores + self.user_bias(users)
        else:
            tables = (self.user_emb, self.item_emb, self.user_bias, self.item_bias)
            scores = pair_dot(*(table.weight for table in tables), users, items)
        scores = scores.float()
        touched = self.touched(users, items) if regularise else []
        return scores[:, 0], scores[:, 1:], touched

    def touched(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        """The L2 terms of a batch of users (B,) with items (B, n): each pair's user
        vector, item vector and item bias. Gathered when the batch has fewer rows than
        the tables; else the tables' rows weighted by the square root of how many pairs
        they are in (the same sum of squares, without (B, d) tensors)."""
        n = items.shape[1]
        if self.hparams["sparse"] or len(users) * (1 + n) < self.n_users + self.n_items:
            flat = items.reshape(-1)
            return [self.user_emb(users) * n**0.5, self.item_emb(flat), self.item_bias(flat)]
        user_counts, item_counts = pair_counts(users, items, self.n_users, self.n_items)
        dtype = self.user_emb.weight.dtype
        on_users = user_counts.to(dtype).sqrt()[:, None]
        on_items = item_counts.to(dtype).sqrt()[:, None]
        return [
            self.user_emb.weight * on_users,
            self.item_emb.weight * on_items,
            self.item_bias.weight * on_items,
        ]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        # (B, I): one product with the item biases added in, then the users' in place
        scores = torch.addmm(self.item_bias.weight.T, self.user_emb(users), self.item_emb.weight.T)
        return scores.add_(self.user_bias(users))

    def item_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.item_emb.weight, self.item_bias.weight[:, 0]

    def user_factors(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users)

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user_emb(users), self.item_emb(items), self.item_bias(items)]
