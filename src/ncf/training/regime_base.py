"""The base of the training regimes (`ncf.training.regimes` lists them): `Regime`, and
`EpochPlan`, an epoch's batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ncf.data.interactions import Interactions
from ncf.errors import UsageError
from ncf.models.base import Model
from ncf.random import Generators
from ncf.runtime.distributed import World
from ncf.training.config import TrainConfig
from ncf.training.losses import l2_penalty

Batch = tuple[torch.Tensor, ...]


@dataclass
class EpochPlan:
    """One epoch's batches.

    Attributes:
        n_batches: how many.
        batch: batch index -> the batch's tensors (the regime knows their meaning).
        notes: numbers for the epoch's history row (e.g. ``sampling_s``).
    """

    n_batches: int
    batch: Callable[[int], Batch]
    notes: dict[str, float] = field(default_factory=dict)


class Regime:
    """Base class of the training regimes.

    Args:
        train: the training interactions.
        config: training settings (batch size, negatives, ``reg``).
        device: where batches are built.
    """

    name: ClassVar[str] = ""
    #: one line for ``ncf models``
    label: ClassVar[str] = ""
    #: run settings this way of training brings (metric to monitor, protocol, split);
    #: a model's own ``train_defaults`` and the user's settings come on top
    run_defaults: ClassVar[dict[str, Any]] = {}
    #: the model methods this way of training calls besides ``forward`` / ``pair_scores``
    needs: ClassVar[tuple[str, ...]] = ()
    #: whether the loss takes ``partial_credit`` (negatives sharing metadata count less)
    partial_credit: ClassVar[bool] = False
    #: the training settings ``ncf tune`` searches for models trained this way (over
    #: which the model's own ``search_space`` comes)
    search_space: ClassVar[dict[str, Any]] = {"lr": (1e-4, 3e-2, "log")}

    def __init__(self, train: Interactions, config: TrainConfig, device: torch.device):
        if config.partial_credit and not self.partial_credit:
            raise UsageError(
                f"partial_credit weighs sampled negatives (objectives pointwise, pairwise, "
                f"user-bpr); objective {self.name!r} has none"
            )
        self.config = config
        self.device = device
        self.train = train
        self.users = torch.from_numpy(train.user_ids).to(device)
        self.items = torch.from_numpy(train.item_ids).to(device)
        self.world = World()

    def spread(self, world: World) -> None:
        """Lays out each epoch for one of ``world``'s processes: its share of the examples
        (`World.share`) in batches of its share of ``per_batch`` (`batch_rows`)."""
        self.world = world

    def start(self, model: Model) -> None:
        """Prepares a fresh model for this regime before its first epoch: it observes the
        training interactions (the graph models build their graph from them)."""
        model.observe(self.train)

    def epoch(self, generators: Generators) -> EpochPlan:
        raise NotImplementedError

    def batches_per_epoch(self) -> int:
        """How many batches every epoch has (schedules stepped per batch need it), the
        same in every process."""
        return ceil_div(ceil_div(self.n_examples(), self.world.size), self.batch_rows())

    def n_examples(self) -> int:
        """The rows an epoch goes through: training interactions, by default."""
        return len(self.users)

    def per_batch(self) -> int:
        """Rows per batch: ``batch_size``, by default."""
        return self.config.batch_size

    def batch_rows(self) -> int:
        """Rows per batch in this process: its share of ``per_batch``."""
        return ceil_div(self.per_batch(), self.world.size)

    def loss(self, model: Model, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def _shuffled(self, generators: Generators) -> torch.Tensor:
        """A permutation of the training rows (this process's share), on the device."""
        return self._permutation(len(self.users), generators).to(self.device)

    def _permutation(self, n: int, generators: Generators) -> torch.Tensor:
        """A fresh order of ``n`` examples from the torch generator (the same in every
        process), or this process's share of it."""
        return self.world.share(torch.randperm(n, generator=generators.torch))

    def penalty(self, model: Model, users: torch.Tensor, items: torch.Tensor, n: int) -> Any:
        """``reg`` x L2 of the embeddings the batch touched (`Model.regularised`)."""
        if self.config.reg <= 0:
            return 0.0
        return self.l2(model.regularised(users, items), n)

    def l2(self, touched: list[torch.Tensor], n: int) -> Any:
        """``reg`` x sum of squares of ``touched`` / 2, per example (summed with
        ``reduction = sum``, as the loss); 0 without reg."""
        if self.config.reg <= 0 or not touched:
            return 0.0
        per = 1 if self.config.reduction == "sum" else n
        return self.config.reg * l2_penalty(touched, per)


def ceil_div(n: int, per: int) -> int:
    return (n + per - 1) // per
