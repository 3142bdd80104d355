"""Sequence-aware models: they score a user from the last items the user interacted with,
in time order.

`SequenceModel` keeps those items: ``observe(known)`` stores each user's last
``history_len`` items (`ncf.data.histories`) as the buffer ``history`` (n_users, L),
left-padded with -1. The evaluators call it with the training part before validation and
with train + validation before the test, so the validation item is the latest one a user
is scored from at test time; a bundle observes the interactions it stores. A new user is
scored from a list of items with ``score_histories``.

- `SASRec` (Kang & McAuley, ICDM 2018): causal self-attention over the last ``max_len``
  items; the output at the last position is the user's state, scored against the item
  table by dot products, so in evaluation every user's state is computed once and reused.
  Trained by the ``next-item`` regime: at every position of a user's training sequence,
  the next item against one sampled unseen item, binary cross-entropy.

Where `SASRec` follows the authors' code (Kang's TensorFlow release and its PyTorch port,
SASRec.pytorch) and where it differs:

- As they do: item embeddings scaled by sqrt(dim) plus learned absolute positions,
  dropout, padding rows zeroed after every block; each block = layer norm of the input as
  the query, one causal attention over the un-normed input as keys and values, the
  residual on the normed query, a layer-normed point-wise feed-forward (two linear maps,
  ReLU, dropout) with a residual; a final layer norm (eps 1e-8). Padding keys are masked,
  as Kang's code does (the port masks the future only), so that a sequence scores the same
  whatever padding precedes it and batches are cut to their longest sequence. Negatives
  are drawn per position among the items the user has not interacted with in training;
  Adam lr 1e-3, betas (0.9, 0.98).
- Each epoch takes every user once, in a fresh order, batched with users of similar
  history lengths (the ``next-item`` regime; the authors draw users with replacement,
  as many draws as users: the same number of steps).
- The loss is the mean binary cross-entropy over the positives and negatives of the
  batch's non-padding positions; the authors add the positives' mean to the negatives'
  mean, twice this value, which Adam's steps do not see.
- The run tests the weights selected on validation (``refit`` off, as the authors test
  the model they validate); training again on train + validation would double the cost
  for one more target per user. The test still scores each user from their training
  and validation items.
- At most the authors' 200 epochs, ended by patience (5 evaluations, every 5 epochs):
  on the NCF paper's ML-1M files validation NDCG@10 is 0.6062 at 75 epochs and 0.6117
  at 100 (75 epochs take about 13 minutes on one CPU thread), and larger sequence
  benchmarks are still improving at 75.
- Weights start Xavier-normal (as the port). The attention is
  ``torch.nn.functional.scaled_dot_product_attention`` with the causal and padding
  mask, written out on the CPU while training (dropout on the attention weights), where
  the dropout masks come from cheaper random integers than torch's Bernoulli draws.

    >>> model = SASRec(n_users, n_items); model.observe(train)
    >>> model.score_all(torch.tensor([0, 1])).shape            # (2, n_items)
    >>> model.score_histories(torch.tensor([[-1, 4, 7]]))      # a new user's items, in order
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ncf.data.histories import PAD, Histories
from ncf.data.interactions import Interactions
from ncf.models.base import EvalCache, Model, Table


class SequenceModel(Model):
    """Base class: the users' last ``history_len`` items (``history``), set by ``observe``.

    Subclasses implement ``score_histories(histories (B, L)) -> (B, n_items)``."""

    objective = "next-item"
    needs_order = True
    own_objective_only = True
    history: torch.Tensor

    def __init__(self, n_users: int, n_items: int, history_len: int, **hparams: Any):
        super().__init__(n_users, n_items, **hparams)
        self.history_len = history_len
        self.register_buffer(
            "history", torch.full((n_users, history_len), PAD, dtype=torch.long), persistent=False
        )

    def observe(self, known: Interactions) -> None:
        last = Histories.of(known).last(self.history_len)
        self.history = torch.from_numpy(last).to(self.history.device)
        self.clear_caches()

    def histories_of(self, users: torch.Tensor) -> torch.Tensor:
        """(B, history_len) the last items of ``users``, left-padded with -1."""
        return self.history[users.to(self.history.device)].to(users.device)

    def score_histories(self, histories: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def check_whole(**values: Any) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout. On the CPU the mask comes from 15-bit random integers, 2-3x
    faster than torch's Bernoulli draws there (``p`` is kept to 1 / 32768)."""
    if not training or p == 0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    threshold = round(p * 32768)
    kept = torch.empty(x.shape, dtype=torch.int16).random_() >= threshold
    return x * (kept * (32768 / (32768 - threshold)))


def _attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, p: float
) -> torch.Tensor:
    """Scaled dot-product attention, ``mask`` True where a query may look, dropout ``p``
    on the attention weights: `F.scaled_dot_product_attention`, written out on the CPU
    with dropout (there it materialises the weights anyway, and `_dropout` is cheaper)."""
    if p == 0 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
    weights = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    weights = weights.masked_fill(~mask, -torch.inf).softmax(-1)
    return _dropout(weights, p, True) @ v


class _Block(nn.Module):
    """One SASRec block: causal attention, then a point-wise feed-forward."""

    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"dim {dim} does not split into {n_heads} heads")
        self.n_heads, self.dropout = n_heads, dropout
        self.attention_norm = nn.LayerNorm(dim, eps=1e-8)
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)
        self.feed_norm = nn.LayerNorm(dim, eps=1e-8)
        self.inner, self.outer = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, d) -> (B, h, L, d / h)
        b, length, d = x.shape
        return x.view(b, length, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, keep: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        p = self.dropout if self.training else 0.0
        normed = self.attention_norm(x)
        attended = _attend(
            self._heads(self.query(normed)),
            self._heads(self.key(x)),
            self._heads(self.value(x)),
            mask,
            p,
        )
        x = normed + self.out(attended.transpose(1, 2).reshape(x.shape))
        x = self.feed_norm(x)
        hidden = _dropout(F.relu(self.inner(x)), p, self.training)
        x = x + _dropout(self.outer(hidden), p, self.training)
        return x * keep


class SASRec(SequenceModel):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding and hidden size (50).
    n_blocks: attention blocks (2).
    n_heads: attention heads (1).
    max_len: the last items a user is scored from, and the training sequences' length
        (200).
    dropout: on the embeddings, the attention weights and the feed-forward (0.2).
    """

    name = "sasrec"
    search_space = {"dim": [32, 50, 64], "dropout": (0.0, 0.5)}
    summary = "causal self-attention over the last items (Kang & McAuley 2018)"
    train_defaults = {
        "epochs": 200,
        "lr": 1e-3,
        "beta2": 0.98,
        "batch_size": 128,
        "n_negatives": 1,
        "eval_every": 5,
        "patience": 5,
        "refit": False,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 50,
        n_blocks: int = 2,
        n_heads: int = 1,
        max_len: int = 200,
        dropout: float = 0.2,
    ):
        check_whole(dim=dim, n_blocks=n_blocks, n_heads=n_heads, max_len=max_len)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        super().__init__(
            n_users,
            n_items,
            max_len,
            dim=dim,
            n_blocks=n_blocks,
            n_heads=n_heads,
            max_len=max_len,
            dropout=dropout,
        )
        self.item_emb = Table(n_items + 1, dim, padding_idx=0)  # row 0: padding
        self.pos_emb = Table(max_len, dim)
        self.blocks = nn.ModuleList(_Block(dim, n_heads, dropout) for _ in range(n_blocks))
        self.last_norm = nn.LayerNorm(dim, eps=1e-8)
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        self._states = EvalCache()

    def features(self, sequences: torch.Tensor) -> torch.Tensor:
        """(B, L <= max_len) item indices, -1 = padding -> (B, L, dim) the output at every
        position (what it holds at padding positions is of no use)."""
        length = sequences.shape[1]
        real = sequences != PAD
        keep = real.unsqueeze(-1).to(self.item_emb.weight.dtype)
        # position i attends to the real items at positions <= i, and always to itself
        # (a padding position then has something to attend to; its output is zeroed)
        causal = torch.ones(length, length, dtype=torch.bool, device=sequences.device).tril()
        eye = torch.eye(length, dtype=torch.bool, device=sequences.device)
        mask = (causal & real[:, None, None, :]) | eye  # (B, 1, L, L)
        x = self.item_emb(sequences + 1) * self.hparams["dim"] ** 0.5
        x = x + self.pos_emb.weight[self.hparams["max_len"] - length :]
        x = _dropout(x, self.hparams["dropout"], self.training) * keep
        for block in self.blocks:
            x = block(x, keep, mask)
        return self.last_norm(x)

    def encode(self, histories: torch.Tensor) -> torch.Tensor:
        """(B, L) histories -> (B, dim) states: the output at the last position. Leading
        columns of padding only are cut first (padding takes no part in attention)."""
        width = max(int((histories != PAD).sum(1).max()), 1) if len(histories) else 1
        return self.features(histories[:, -min(width, self.hparams["max_len"]) :])[:, -1]

    def states(self) -> torch.Tensor:
        """(n_users, dim) every user's state from ``history``; in evaluation computed once
        and reused while the weights and the history are unchanged."""

        def compute() -> torch.Tensor:
            # users in order of history length, so that each chunk is cut to what it holds
            lengths = (self.history != PAD).sum(1)
            out = self.item_emb.weight.new_empty(self.n_users, self.hparams["dim"])
            for chunk in torch.argsort(lengths, descending=True).split(512):
                out[chunk] = self.encode(self.history[chunk])
            return out

        return self._states.get(self, compute)

    def _items(self) -> torch.Tensor:
        return self.item_emb.weight[1:]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.states()[users] * self._items()[items]).sum(1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.states()[users] @ self._items().T

    def score_histories(self, histories: torch.Tensor) -> torch.Tensor:
        return self.encode(histories) @ self._items().T

    def item_embeddings(self) -> torch.Tensor:
        return self._items()

    def sequence_scores(
        self, inputs: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of the ``next-item`` regime: (B, L) inputs, (B, L) next items, (B, L, K)
        negatives -> (B, L) and (B, L, K) scores (padding positions hold junk)."""
        out = self.features(inputs)  # (B, L, d)
        table = self.item_emb.weight
        positive = (out * table[positives + 1]).sum(-1)
        negative = torch.einsum("bld,blkd->blk", out, table[negatives + 1])
        return positive, negative
