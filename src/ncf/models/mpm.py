"""The Multi-Preference Model (Chen et al., arXiv 2112.11023; S1): a user's instant
preference from the last ``history`` items through a temporal convolutional network,
beside their general preference, scored against a target item by MLPs.

For a user u with last items h_1..h_9 and a target item i:

- instant preference: TCN(e_h1..e_h9) gives 9 outputs o_1..o_9 (5 residual levels,
  kernel 3, dilation 2^level, causal, weight-normalised convolutions, ReLU, dropout);
  each [o_t, e_i] goes through a shared MLP [64 -> 128 -> 64 -> 32];
- general preference: the same MLP on [e_u, e_i];
- the 10 vectors of 32 are concatenated, and an output MLP [320 -> 128 -> 64 -> 32 -> 1]
  gives the logit.

Trained by the ``windows`` regime: every training interaction with 9 earlier items is a
window (user, target, the 9 items before it); the target against ``n_negatives``
uniformly drawn items the user has not had, binary cross-entropy. At evaluation a user's
history is their last 9 observed items (`SequenceModel`); a user with fewer is
left-padded with a zero embedding.

The run tests the weights selected on validation (``refit`` off: training again on train
+ validation would double the cost for one more window per user); the test scores each
user from their training and validation items.

The TCN is Bai et al.'s (2018) residual block, two convolutions per level; the MLPs start
Glorot-uniform, the output MLP LeCun-uniform, the embeddings N(0, 0.01), as S1 says. The
first layer of the shared MLP is applied to the TCN outputs and to the target items
separately and summed, which is the same map on the concatenation, so that a window's TCN
and its candidates' embeddings are transformed once however many candidates it has.

    >>> model = MPM(n_users, n_items); model.observe(train)
    >>> model(torch.tensor([0]), torch.tensor([42]))           # (1,) logits
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ncf.models.base import Table
from ncf.models.sequential import SequenceModel, check_whole


class _Level(nn.Module):
    """One TCN level: two causal dilated convolutions (weight-normalised, ReLU,
    dropout) and a residual connection (a 1x1 convolution where the channels differ)."""

    def __init__(self, channels_in: int, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.cut = (kernel - 1) * dilation  # the padding on the right that is chopped off
        self.first = weight_norm(
            nn.Conv1d(channels_in, channels, kernel, padding=self.cut, dilation=dilation)
        )
        self.second = weight_norm(
            nn.Conv1d(channels, channels, kernel, padding=self.cut, dilation=dilation)
        )
        self.dropout = dropout
        self.residual = nn.Conv1d(channels_in, channels, 1) if channels_in != channels else None
        for conv in (self.first, self.second, self.residual):
            if conv is not None:
                nn.init.normal_(conv.weight, std=0.01)  # as Bai et al.'s TCN

    def _causal(self, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
        out = conv(x)
        out = out[..., : -self.cut] if self.cut else out
        return F.dropout(F.relu(out), self.dropout, self.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C', T)
        out = self._causal(self.second, self._causal(self.first, x))
        return F.relu(out + (x if self.residual is None else self.residual(x)))


class MPM(SequenceModel):
    """Args:
    n_users, n_items: index ranges.
    dim: user and item embedding size, and the TCN's channels (32).
    history: the last items of the instant preference (9).
    levels: TCN levels (5), dilations 1, 2, 4, ...
    kernel: TCN kernel size (3).
    dropout: in the TCN (0.25).
    mlp: hidden sizes of the shared MLP after its 2 x dim input (128, 64, 32).
    head: hidden sizes of the output MLP after its (history + 1) x mlp[-1] input
        (128, 64, 32).
    """

    name = "mpm"
    search_space = {"dim": [16, 32, 64], "dropout": (0.0, 0.5)}
    summary = "TCN over the last items plus general preference, MLP scorers (Chen et al. 2021)"
    objective = "windows"
    train_defaults = {
        "epochs": 20,
        "lr": 1e-3,
        "batch_size": 2048,
        "n_negatives": 4,
        "refit": False,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 32,
        history: int = 9,
        levels: int = 5,
        kernel: int = 3,
        dropout: float = 0.25,
        mlp: tuple[int, ...] = (128, 64, 32),
        head: tuple[int, ...] = (128, 64, 32),
    ):
        check_whole(dim=dim, history=history, levels=levels, kernel=kernel)
        mlp, head = ([s] if isinstance(s, int) else list(s) for s in (mlp, head))
        if not mlp or not head or min(mlp + head) < 1:
            raise ValueError(f"mlp and head need at least one positive size, got {mlp}, {head}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        super().__init__(
            n_users,
            n_items,
            history,
            dim=dim,
            history=history,
            levels=levels,
            kernel=kernel,
            dropout=dropout,
            mlp=mlp,
            head=head,
        )
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items + 1, dim, padding_idx=0)  # row 0: padding
        for table in (self.user_emb, self.item_emb):
            nn.init.normal_(table.weight, std=0.01)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        self.tcn = nn.Sequential(
            *(_Level(dim, dim, kernel, 2**level, dropout) for level in range(levels))
        )
        # the shared MLP's first layer, split into its history / user part and its item part
        self.context_in = nn.Linear(dim, mlp[0])
        self.item_in = nn.Linear(dim, mlp[0], bias=False)
        self.mlp = _stack(mlp)
        self.head = _stack([(history + 1) * mlp[-1], *head])
        self.out = nn.Linear(head[-1], 1)
        joint = torch.empty(mlp[0], 2 * dim)  # Glorot over the concatenated input
        nn.init.xavier_uniform_(joint)
        with torch.no_grad():
            self.context_in.weight.copy_(joint[:, :dim])
            self.item_in.weight.copy_(joint[:, dim:])
            self.context_in.bias.zero_()
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        for layer in (*self.head, self.out):
            if not isinstance(layer, nn.Linear):
                continue
            bound = math.sqrt(3.0 / layer.in_features)  # LeCun uniform
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.zeros_(layer.bias)

    def context(self, users: torch.Tensor, histories: torch.Tensor) -> torch.Tensor:
        """(B, d) user vectors and (B, h) their last items (-1 = padding) -> (B, h + 1,
        mlp[0]): the first layer of the shared MLP on the TCN outputs and the user, before
        the target item's part is added."""
        seq = self.item_emb(histories + 1).transpose(1, 2)  # (B, d, h)
        instant = self.tcn(seq).transpose(1, 2)  # (B, h, d)
        return self.context_in(torch.cat([instant, users[:, None]], dim=1))

    def score(self, context: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """(B, h + 1, mlp[0]) contexts and (B, C) candidate items -> (B, C) logits."""
        b, c = candidates.shape
        targets = self.item_in(self.item_emb(candidates + 1))  # (B, C, mlp[0])
        hidden = self.mlp(F.relu(context[:, None] + targets[:, :, None]))  # (B, C, h + 1, m)
        return self.out(self.head(hidden.reshape(b, c, -1))).squeeze(-1)

    def window_scores(
        self, users: torch.Tensor, histories: torch.Tensor, candidates: torch.Tensor
    ) -> torch.Tensor:
        """A batch of the ``windows`` regime: (B,) users, (B, h) the items before each
        target, (B, C) candidates -> (B, C) logits."""
        return self.score(self.context(self.user_emb(users), histories), candidates)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        # each distinct user's TCN runs once (the sampled protocol repeats users)
        distinct, at = torch.unique(users, return_inverse=True)
        context = self.context(self.user_emb(distinct), self.histories_of(distinct))
        return self.score(context[at], items[:, None])[:, 0]

    def _score_contexts(self, context: torch.Tensor) -> torch.Tensor:
        """(B, h + 1, mlp[0]) -> (B, n_items), items in chunks within ``score_budget``."""
        per_item = context.shape[0] * context.shape[1] * context.shape[2]
        chunk = max(1, self.score_budget // max(per_item, 1))
        items = torch.arange(self.n_items, device=context.device)
        out = [self.score(context, block.expand(len(context), -1)) for block in items.split(chunk)]
        return torch.cat(out, dim=1) if out else context.new_zeros(len(context), 0)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self._score_contexts(self.context(self.user_emb(users), self.histories_of(users)))

    def score_histories(self, histories: torch.Tensor) -> torch.Tensor:
        """A new user, who has no embedding of their own, gets the mean user's."""
        mean = self.user_emb.weight.mean(0).expand(len(histories), -1)
        return self._score_contexts(self.context(mean, histories[:, -self.history_len :]))

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight[1:]


def _stack(sizes: list[int]) -> nn.Sequential:
    """Linear layers between consecutive ``sizes``, each followed by ReLU."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)
