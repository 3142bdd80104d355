"""The training regimes of the sequence models (see `ncf.training.regimes`):

- ``next-item`` (`NextItem`, SASRec): users' training sequences, the next item at every
  position against sampled unseen items;
- ``windows`` (`Windows`, MPM): (user, the items before, target) windows with sampled
  unseen items.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ncf.data.histories import PAD, Histories
from ncf.data.interactions import Interactions
from ncf.data.sampling import SeenSet, sample_negatives
from ncf.errors import DataError
from ncf.models.base import Model
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.losses import pointwise_loss
from ncf.training.regime_base import Batch, EpochPlan, Regime


class _FromHistories(Regime):
    """The users' training histories in time order, and what their negatives avoid."""

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.histories = Histories.of(train)
        self.seen = SeenSet.from_interactions(train) if config.sampler == "exact" else None
        self.n_items = train.n_items


class NextItem(_FromHistories):
    """Next-item prediction at every position of the users' training sequences (SASRec).

    A user's sequence is their last ``history_len`` + 1 training items in time order (the
    model's ``history_len``): at each position the next item is the positive and
    ``n_negatives`` items the user has not had (drawn afresh every epoch) the negatives,
    binary cross-entropy averaged over the non-padding positions. Each epoch takes every
    user with at least two training items once: in a fresh order, cut into groups of
    ``BUCKET`` batches, each group sorted by sequence length before it is cut into
    batches, and the batches taken in a fresh order; every batch is cut to its longest
    sequence, so a batch of short histories costs what they need. Batches: inputs
    (B, L), positives (B, L), negatives (B, L, K), -1 at padding; ``batch_size`` users
    each. The model provides ``sequence_scores(inputs, positives, negatives)``."""

    BUCKET = 8

    name = "next-item"
    label = "BCE, the next item at every position"
    needs = ("sequence_scores",)

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.sequence_users = np.flatnonzero(self.histories.lengths >= 2)

    def start(self, model: Model) -> None:
        super().start(model)
        users, inputs, targets = self.histories.shifted(model.history_len)  # type: ignore[attr-defined]
        self.inputs = torch.from_numpy(inputs).to(self.device)
        self.targets = torch.from_numpy(targets).to(self.device)
        self.at = np.flatnonzero(targets.reshape(-1) != PAD)  # the positions with a target
        self.user_at = np.repeat(users, targets.shape[1])[self.at]
        self.lengths = torch.from_numpy((inputs != PAD).sum(1)).to(self.device)

    def n_examples(self) -> int:  # users
        return len(self.sequence_users)

    def epoch(self, generators: Generators) -> EpochPlan:
        started = time.perf_counter()
        order = self._shuffled(generators)
        k = self.config.n_negatives
        drawn = sample_negatives(
            self.user_at, k, self.seen, generators.train_negatives, self.n_items
        )
        negatives = np.full((self.targets.numel(), k), PAD, dtype=np.int64)
        negatives[self.at] = drawn
        negatives_t = torch.from_numpy(negatives).view(*self.targets.shape, k).to(self.device)
        per = self.batch_rows()
        group = torch.arange(len(order), device=self.device) // (per * self.BUCKET)
        lengths = self.lengths[order]
        by_length = torch.argsort(group * (self.inputs.shape[1] + 1) + lengths, stable=True)
        order = order[by_length]
        batches = torch.randperm(self.batches_per_epoch(), generator=generators.torch).tolist()

        def batch(b: int) -> Batch:
            rows = order[batches[b] * per : (batches[b] + 1) * per]
            width = max(int(self.lengths[rows].max()), 1)
            return (
                self.inputs[rows, -width:],
                self.targets[rows, -width:],
                negatives_t[rows, -width:],
            )

        return EpochPlan(
            self.batches_per_epoch(), batch, {"sampling_s": time.perf_counter() - started}
        )

    def _shuffled(self, generators: Generators) -> torch.Tensor:  # over the users
        return self._permutation(len(self.sequence_users), generators).to(self.device)

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        inputs, positives, negatives = batch
        positive, negative = model.sequence_scores(inputs, positives, negatives)  # type: ignore[attr-defined]
        real = positives != PAD
        return pointwise_loss(positive[real].float(), negative[real].float(), self.config.reduction)


class Windows(_FromHistories):
    """Binary cross-entropy on history windows (MPM): every training interaction with at
    least ``history_len`` earlier training items of its user (the model's) is a window
    (user, those items, the interaction's item as the target), with ``n_negatives``
    items the user has not had, drawn afresh every epoch; windows in a fresh order every
    epoch. Batches: users (B,), histories (B, h), targets (B,), negatives (B, K);
    ``batch_size`` counts scored rows, as ``pointwise``. The model provides
    ``window_scores(users, histories, candidates)``."""

    name = "windows"
    label = "BCE, history windows, sampled negatives"
    needs = ("window_scores",)

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.window_users = np.zeros(0, dtype=np.int64)

    def start(self, model: Model) -> None:
        super().start(model)
        users, targets, before = self.histories.windows(model.history_len)  # type: ignore[attr-defined]
        if not len(users):
            raise DataError(
                f"no user has more than {model.history_len} training interactions: "  # type: ignore[attr-defined]
                "no history windows to train on"
            )
        self.window_users = users
        self.windows = tuple(torch.from_numpy(a).to(self.device) for a in (users, before, targets))

    def n_examples(self) -> int:  # windows
        return len(self.window_users)

    def per_batch(self) -> int:  # windows, each scored with its negatives
        return max(1, self.config.batch_size // (1 + self.config.n_negatives))

    def epoch(self, generators: Generators) -> EpochPlan:
        started = time.perf_counter()
        order = self._permutation(len(self.window_users), generators)
        negatives = sample_negatives(
            self.window_users[order.numpy()],
            self.config.n_negatives,
            self.seen,
            generators.train_negatives,
            self.n_items,
        )
        negatives_t = torch.from_numpy(negatives).to(self.device)
        users, before, targets = (a[order.to(self.device)] for a in self.windows)
        per = self.batch_rows()

        def batch(b: int) -> Batch:
            rows = slice(b * per, (b + 1) * per)
            return users[rows], before[rows], targets[rows], negatives_t[rows]

        return EpochPlan(
            self.batches_per_epoch(), batch, {"sampling_s": time.perf_counter() - started}
        )

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        users, before, targets, negatives = batch
        candidates = torch.cat([targets[:, None], negatives], dim=1)
        logits = model.window_scores(users, before, candidates).float()  # type: ignore[attr-defined]
        return pointwise_loss(logits[:, 0], logits[:, 1:], self.config.reduction)
