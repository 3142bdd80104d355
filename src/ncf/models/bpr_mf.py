"""Matrix factorisation trained with BPR (Rendle et al., UAI 2009).

score(u, i) = b_u + b_i + <p_u, q_i>; loss = -log sigmoid(score(u, i+) - score(u, i-)),
with L2 on the embeddings a batch touches (``reg``).

    >>> model = BPRMF(n_users=943, n_items=1682, dim=64)
    >>> model.score_all(torch.tensor([0])).shape                          # (1, 1682)
"""

from __future__ import annotations

import torch

from ncf.models.base import Model, Table, bias_tables, init_embedding


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
        """`forward` over each user's positive and negatives, each user looked up once."""
        items = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + K)
        user = self.user_emb(users)  # (B, dim)
        vectors = self.item_emb(items)  # (B, 1 + K, dim)
        biases = self.item_bias(items).squeeze(2)
        scores = (vectors * user[:, None]).sum(2) + biases + self.user_bias(users)
        scores = scores.float()
        if not regularise:
            return scores[:, 0], scores[:, 1:], []
        # the L2 of `regularised` over every pair: the user's vector counts once per pair
        weight = float(items.shape[1]) ** 0.5
        touched = [user * weight, vectors.reshape(-1, vectors.shape[2]), biases.reshape(-1, 1)]
        return scores[:, 0], scores[:, 1:], touched

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
