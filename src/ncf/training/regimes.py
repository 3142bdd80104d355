"""Training regimes: what differs between ways of training, so the `Trainer` does not.

A regime is built from the training interactions; each epoch it lays out the batches
(`Regime.epoch`, drawing from the run's generators only, so that an epoch can be replayed
exactly from a checkpoint) and turns a model's outputs on one batch into a loss
(`Regime.loss`). The `Trainer` owns everything else: epochs, the optimiser and schedule,
selection, checkpoints, signals, progress.

- ``pointwise``: (user, positive) rows with ``n_negatives`` fresh negatives each, binary
  cross-entropy on the logits (NCF's GMF / MLP / NeuMF).
- ``pairwise``: (user, positive, negative) triples, BPR (BPR-MF).
- both (and ``user-bpr``) take ``partial_credit`` (`ncf.training.partial_credit`): a
  negative sharing metadata with its positive counts less.
- ``user-bpr``: users drawn uniformly, one positive and ``n_negatives`` negatives each,
  BPR (NGCF, LightGCN).
- ``rating``: observed (user, item, rating) rows, mean squared error (explicit MF, the
  rating nets; ``full_batch`` trains on all rows at once).
- ``item-rows``: items' whole rating vectors, MSE on the rated entries, dense
  re-feeding (the autoencoder).
- ``user-rows``: users' whole binary item rows, multinomial likelihood plus the
  model's penalty (Mult-VAE).
- ``next-item``: users' training sequences, the next item at every position against
  ``n_negatives`` unseen items, binary cross-entropy (SASRec).
- ``windows``: (user, the items before, target) windows with ``n_negatives`` unseen
  items each, binary cross-entropy (MPM).

Every loss is a mean over the batch's examples, or their sum with ``reduction = sum``.

A model names its regime in ``objective``; ``--set objective=NAME`` picks another where
it makes sense (GMF / MLP / NeuMF on ratings). `REGIMES` maps names to classes.

    >>> regime = make_regime("pointwise", split.train, TrainConfig(), torch.device("cpu"))
    >>> plan = regime.epoch(generators)
    >>> loss = regime.loss(model, plan.batch(0))
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ncf.data.interactions import Interactions
from ncf.data.sampling import (
    SeenSet,
    check_room,
    sample_negatives,
    sample_negatives_torch,
    seen_keys,
)
from ncf.errors import DataError
from ncf.models.base import Model, binary_rows
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.losses import bpr_loss, pointwise_loss
from ncf.training.partial_credit import PartialCredit
from ncf.training.regime_base import Batch, EpochPlan, Regime, ceil_div
from ncf.training.sequence_regimes import NextItem, Windows


class _SampledNegatives(Regime):
    """Positives with ``n_negatives`` fresh negatives each, drawn every epoch (exactly
    unseen ones, or unchecked with ``sampler = approximate``).

    Batches: users (B,), positives (B,), negatives (B, K)."""

    partial_credit = True
    search_space = {**Regime.search_space, "n_negatives": (1, 10)}

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.seen = SeenSet.from_interactions(train) if config.sampler == "exact" else None
        self.n_items = train.n_items
        # a GPU draws the negatives where the batches are: they never cross to the host
        self.on_device = device.type == "cuda"
        self.keys = None
        if self.on_device and self.seen is not None:
            self.keys = seen_keys(train, device)
            check_room(train.user_ids, 1, self.seen)  # as `sample_negatives` does
        # an epoch's negatives are held as int32 (half the memory) and widened per batch
        self.index_dtype = np.int32 if train.n_items < 2**31 else np.int64
        self.credit = (
            PartialCredit(train.items, config.partial_credit, device)
            if config.partial_credit
            else None
        )

    def epoch(self, generators: Generators) -> EpochPlan:
        started = time.perf_counter()
        order = self._shuffled(generators)
        users, positives = self.users[order], self.items[order]
        k, rng = self.config.n_negatives, generators.train_negatives
        if self.on_device:  # a torch stream seeded from the run's negatives stream
            stream = torch.Generator(self.device).manual_seed(int(rng.integers(2**63)))
            negatives = sample_negatives_torch(users, k, self.keys, self.n_items, stream)
            return self._plan(started, users, positives, negatives)
        negatives = sample_negatives(
            users.cpu().numpy(),  # on the CPU: no copy
            k,
            self.seen,
            rng,
            self.n_items,
            self.index_dtype,
        )
        return self._plan(started, users, positives, negatives)

    def _plan(
        self,
        started: float,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: np.ndarray | torch.Tensor,
    ) -> EpochPlan:
        """The epoch's batches: consecutive ``per_batch`` rows of the drawn triples."""
        negatives_t = torch.as_tensor(negatives, device=self.device)  # (N, K)
        per = self.batch_rows()

        def batch(b: int) -> Batch:
            rows = slice(b * per, (b + 1) * per)
            return users[rows], positives[rows], negatives_t[rows].long()

        return EpochPlan(
            self.batches_per_epoch(), batch, {"sampling_s": time.perf_counter() - started}
        )

    def scores(self, model: Model, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """(B,) positive and (B, K) negative scores (`Model.pair_scores`), and the penalty."""
        users, positives, negatives = batch
        positive, negative, touched = model.pair_scores(
            users, positives, negatives, regularise=self.config.reg > 0
        )
        return positive.float(), negative.float(), self.l2(touched, len(users))

    def credit_weights(self, batch: Batch) -> torch.Tensor | None:
        """The (B, K) weights of the negatives' terms with partial credit, else None."""
        return None if self.credit is None else self.credit.weights(batch[1], batch[2])


class Pointwise(_SampledNegatives):
    """Binary cross-entropy with logits: positives labelled 1, negatives 0, averaged over
    all B (1 + K) scored rows. ``batch_size`` counts scored rows."""

    name = "pointwise"
    label = "BCE, sampled negatives"

    def per_batch(self) -> int:  # positives
        return max(1, self.config.batch_size // (1 + self.config.n_negatives))

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        positive, negative, penalty = self.scores(model, batch)
        weights = self.credit_weights(batch)
        return pointwise_loss(positive, negative, self.config.reduction, weights) + penalty


class Pairwise(_SampledNegatives):
    """BPR: -log sigmoid(s(u, i) - s(u, j)) averaged over the B x K pairs.
    ``batch_size`` counts (user, positive, negative) triples."""

    name = "pairwise"
    label = "BPR, sampled negatives"

    def per_batch(self) -> int:  # positives
        return max(1, self.config.batch_size // self.config.n_negatives)

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        positive, negative, penalty = self.scores(model, batch)
        weights = self.credit_weights(batch)
        return bpr_loss(positive, negative, self.config.reduction, weights) + penalty


class UserDraws(Pairwise):
    """BPR on users drawn uniformly (LightGCN's sampler, NGCF's up to repeats in a batch).

    Each epoch draws as many users as there are training interactions, uniformly among
    the users with any, with replacement; each draw takes one of the user's training items
    at random and ``n_negatives`` unseen items. Batches: users (B,), positives (B,),
    negatives (B, K), ``batch_size`` draws each; the loss is BPR averaged over the B x K
    pairs. Unlike ``pairwise``, a user's weight does not grow with their history."""

    name = "user-bpr"
    label = "BPR, uniformly drawn users"

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)  # with Pairwise's BPR loss
        order = np.argsort(train.user_ids, kind="stable")
        self.items_by_user = train.item_ids[order]
        counts = np.bincount(train.user_ids, minlength=train.n_users)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.counts = counts
        self.active = np.flatnonzero(counts)  # users with a training item

    def epoch(self, generators: Generators) -> EpochPlan:
        started = time.perf_counter()
        rng = generators.train_negatives
        draws = ceil_div(len(self.users), self.world.size)  # this process's share
        users = self.active[rng.integers(0, len(self.active), draws)]
        picks = self.starts[users] + (rng.random(len(users)) * self.counts[users]).astype(np.int64)
        negatives = sample_negatives(
            users, self.config.n_negatives, self.seen, rng, self.n_items, self.index_dtype
        )
        users_t = torch.from_numpy(users).to(self.device)
        positives_t = torch.from_numpy(self.items_by_user[picks]).to(self.device)
        return self._plan(started, users_t, positives_t, negatives)

    def per_batch(self) -> int:  # draws, whatever n_negatives
        return self.config.batch_size


def _ratings(train: Interactions, regime: str) -> Any:
    if train.ratings is None:
        raise DataError(
            f"objective {regime!r} trains on ratings and needs data with ratings; "
            "this data has none (implicit interactions)"
        )
    return train.ratings


class Rating(Regime):
    """Mean squared error on observed ratings.

    Batches: users (B,), items (B,), ratings (B,) float32, in a fresh order every epoch;
    ``batch_size`` rows each, or every row at once with ``full_batch``. The model's
    output is the predicted rating."""

    name = "rating"
    search_space = {**Regime.search_space, "weight_decay": (1e-6, 1e-2, "log")}
    label = "MSE on ratings"
    # for a model tuned for another regime (GMF / NeuMF on ratings), settings that suit
    # ratings replace its own; a rating model's own train_defaults replace these
    run_defaults: ClassVar[dict[str, Any]] = {
        "monitor": "rmse",
        "protocol": "rating",
        "split": "ratio:0.8,0.1,0.1",
        "epochs": 30,
        "batch_size": 1024,
        "lr": 1e-3,
        "schedule": "none",
        "patience": 5,
    }

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.ratings_np = _ratings(train, self.name)
        self.ratings = torch.from_numpy(train.ratings).to(device)

    def start(self, model: Model) -> None:
        super().start(model)
        model.init_from_ratings(self.ratings_np)  # e.g. the output starts at the mean

    def epoch(self, generators: Generators) -> EpochPlan:
        order = self._shuffled(generators)
        users, items, ratings = self.users[order], self.items[order], self.ratings[order]
        per = self.batch_rows()

        def batch(b: int) -> Batch:
            rows = slice(b * per, (b + 1) * per)
            return users[rows], items[rows], ratings[rows]

        return EpochPlan(self.batches_per_epoch(), batch)

    def per_batch(self) -> int:
        return max(len(self.users), 1) if self.config.full_batch else self.config.batch_size

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        users, items, ratings = batch
        predicted = model(users, items).float()  # (B,)
        error = F.mse_loss(predicted, ratings, reduction=self.config.reduction)
        return error + self.penalty(model, users, items, len(users))


class ItemRows(Regime):
    """Masked MSE on whole rows of the item-user rating matrix (the autoencoder).

    Batches: ``batch_size`` items' rating vectors, rows (B, n_users) float32 with 0 where
    unrated, and the mask (B, n_users) bool of the rated entries. Loss: the squared error
    of the reconstruction on the rated entries, averaged over them; with ``refeed``
    (dense re-feeding, Kuchaiev & Ginsburg 2017) plus the mean squared error of the
    reconstruction of the reconstruction against it over every entry, in the same step.
    The model provides ``reconstruct(rows)``."""

    name = "item-rows"
    label = "masked MSE on item rating vectors"
    needs = ("reconstruct",)
    run_defaults = Rating.run_defaults

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.ratings_np = _ratings(train, self.name)
        from ncf.models.autoencoder import item_matrix

        self.matrix = item_matrix(train)  # (n_items, n_users)

    def start(self, model: Model) -> None:
        super().start(model)
        model.init_from_ratings(self.ratings_np)

    def epoch(self, generators: Generators) -> EpochPlan:
        order = self._permutation(self.matrix.shape[0], generators).numpy()
        per = self.batch_rows()

        def batch(b: int) -> Batch:
            block = self.matrix[order[b * per : (b + 1) * per]]
            rated = block.copy()
            rated.data[:] = 1  # the structure: a rating of 0 is still a rating
            rows = torch.from_numpy(block.toarray()).to(self.device)
            return rows, torch.from_numpy(rated.toarray() > 0).to(self.device)

        return EpochPlan(self.batches_per_epoch(), batch)

    def n_examples(self) -> int:  # items
        return self.matrix.shape[0]

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        rows, mask = batch
        rebuilt = model.reconstruct(rows).float()  # type: ignore[attr-defined]
        loss = ((rebuilt - rows) ** 2)[mask].sum()
        if self.config.reduction == "mean":
            loss = loss / mask.sum().clamp(min=1)
        if self.config.refeed:
            again = rebuilt.detach()
            rebuilt_again = model.reconstruct(again).float()  # type: ignore[attr-defined]
            loss = loss + F.mse_loss(rebuilt_again, again, reduction=self.config.reduction)
        return loss


class UserRows(Regime):
    """Multinomial log-likelihood of users' whole item rows (Mult-VAE).

    Batches: ``batch_size`` users' binary rows (B, n_items) float32, every user with a
    training item once per epoch in a fresh order. The model provides
    ``row_logits(rows) -> (logits, penalty)`` (the penalty: Mult-VAE's annealed KL term);
    the loss is -sum_i x_i log softmax(logits)_i per user, averaged over the batch (or
    summed), plus the penalty."""

    name = "user-rows"
    label = "multinomial likelihood on user rows"
    needs = ("row_logits",)

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        super().__init__(train, config, device)
        self.matrix = binary_rows(train.csr())  # (n_users, n_items)
        self.active = np.flatnonzero(np.diff(self.matrix.indptr))  # users with an item

    def epoch(self, generators: Generators) -> EpochPlan:
        users = self.active[self._permutation(len(self.active), generators).numpy()]
        per = self.batch_rows()

        def batch(b: int) -> Batch:
            block = self.matrix[users[b * per : (b + 1) * per]]
            return (torch.from_numpy(block.toarray()).to(self.device),)

        return EpochPlan(self.batches_per_epoch(), batch)

    def n_examples(self) -> int:  # users
        return len(self.active)

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        (rows,) = batch
        logits, penalty = model.row_logits(rows)  # type: ignore[attr-defined]
        likelihood = -(F.log_softmax(logits.float(), dim=1) * rows).sum(1)
        if self.config.reduction == "mean":
            return likelihood.mean() + penalty
        return likelihood.sum() + penalty * len(rows)


REGIMES: dict[str, type[Regime]] = {
    r.name: r
    for r in (Pointwise, Pairwise, UserDraws, Rating, ItemRows, UserRows, NextItem, Windows)
}


def regime_name(model: Model | type[Model], config: TrainConfig) -> str:
    """The regime a model trains with: ``config.objective`` when set, else its own."""
    return config.objective or model.objective


def make_regime(
    name: str, train: Interactions, config: TrainConfig, device: torch.device
) -> Regime:
    if name not in REGIMES:
        raise ValueError(f"no training regime {name!r}; known: {', '.join(REGIMES)}")
    return REGIMES[name](train, config, device)
