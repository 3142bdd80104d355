"""Optimisers and learning-rate schedules by name, for one model.

A model's parameters fall into up to three groups, each with its own optimiser:

- ``main``: every dense parameter not in the other groups: ``optimizer``, ``lr``,
  ``weight_decay``;
- ``bias``: parameters whose name contains "bias" (user / item bias tables, layer
  biases), when ``bias_lr`` or ``bias_optimizer`` is set (S7: SGD lr 0.1 for the biases,
  Adam lr 1e-2 for the embeddings);
- ``sparse``: embedding tables built with ``sparse=True``, whose gradients hold only
  the rows a batch touched. Adam and AdamW become ``SparseAdam`` there; SGD (without
  momentum) and Adagrad take sparse gradients as they are; no weight decay (use
  ``reg``, the per-batch L2).

Schedules, stepped per epoch: ``cosine`` (to 0 over ``epochs``), ``step`` (x ``gamma``
every ``step_size`` epochs). Stepped per batch (Smith 2017; Loshchilov & Hutter 2017),
with a cycle of ``cycle_epochs`` epochs between ``lr`` and ``max_lr``:
``triangular``, ``triangular2`` (the amplitude halves every cycle), ``exp_range`` (the
amplitude shrinks by ``gamma`` every cycle) and ``cosine-restarts`` (cosine from
``max_lr`` down to ``lr``, restarting every cycle, each cycle ``cycle_mult`` times longer
than the one before). Every group follows the same schedule, scaled to its own rate.

``switch_optimizer`` / ``switch_epoch`` (S12: Adam, then SGD from epoch 2): from that
epoch on, fresh optimisers of that kind replace the ones derived from ``optimizer``, at
``switch_lr`` (0: the rate reached); the schedule keeps its position.

    >>> optimisation = Optimisation(model, config, batches_per_epoch=79)
    >>> optimisation.zero_grad(); loss.backward(); optimisation.step()
    >>> optimisation.end_epoch()
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from ncf.errors import UsageError
from ncf.training.config import PER_BATCH_SCHEDULES, TrainConfig

Scheduler = torch.optim.lr_scheduler.LRScheduler

# Adagrad / SparseAdam on sparse gradients: torch's internal note, not the user's concern
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def make_optimizer(
    params: list[nn.Parameter],
    name: str,
    lr: float,
    config: TrainConfig,
    sparse: bool = False,
) -> torch.optim.Optimizer:
    """adam / adamw / sgd (momentum) / rmsprop (momentum) / adagrad, with ``weight_decay``
    (none for ``sparse`` tables, where adam and adamw become SparseAdam)."""
    wd = 0.0 if sparse else config.weight_decay
    if sparse and name in ("adam", "adamw"):
        return torch.optim.SparseAdam(params, lr=lr, betas=(0.9, config.beta2))
    if sparse and name == "rmsprop":
        raise UsageError("rmsprop cannot train sparse embeddings; use sgd, adagrad or adam")
    betas = (0.9, config.beta2)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=wd, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=wd, fused=True)
    if name == "sgd":  # momentum would make a sparse table's every row move every step
        momentum = 0.0 if sparse else config.momentum
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)


GROUPS = ("main", "sparse", "bias", "bias-sparse")


def parameter_groups(model: nn.Module, config: TrainConfig) -> dict[str, list[nn.Parameter]]:
    """``main`` / ``sparse`` / ``bias`` / ``bias-sparse`` -> the trainable parameters of
    each (see the module docstring; sparse bias tables follow the bias settings with a
    sparse-capable optimiser); groups without parameters are left out."""
    sparse_ids = {
        id(m.weight)
        for m in model.modules()
        if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse
    }
    split_bias = bool(config.bias_lr or config.bias_optimizer)
    groups: dict[str, list[nn.Parameter]] = {name: [] for name in GROUPS}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = "bias" if split_bias and "bias" in name else "main"
        sparse = id(param) in sparse_ids
        key = {"main": "sparse", "bias": "bias-sparse"}[kind] if sparse else kind
        groups[key].append(param)
    return {k: v for k, v in groups.items() if v}


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, batches_per_epoch: int
) -> Scheduler | None:
    """The schedule of ``config.schedule`` on one optimiser (see the module docstring)."""
    kind, lr = config.schedule, optimizer.param_groups[0]["lr"]
    scale = lr / config.lr  # a group with its own rate follows the schedule scaled
    cycle = max(1, round(config.cycle_epochs * batches_per_epoch))  # batches
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size, gamma=config.gamma
        )
    if kind in ("triangular", "triangular2", "exp_range"):
        return torch.optim.lr_scheduler.CyclicLR(
            optimizer,
            base_lr=lr,
            max_lr=peak_lr(config) * scale,
            step_size_up=max(1, cycle // 2),
            step_size_down=max(1, cycle - cycle // 2),  # a cycle of exactly ``cycle``
            mode=kind,
            gamma=config.gamma ** (1 / cycle),  # gamma per cycle -> torch's per batch
            cycle_momentum=False,
        )
    if kind == "cosine-restarts":
        for group in optimizer.param_groups:  # the cycle starts at the peak
            group["lr"] = peak_lr(config) * scale
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer, T_0=cycle, T_mult=config.cycle_mult, eta_min=lr
        )
    return None


def peak_lr(config: TrainConfig) -> float:
    """The top of a cyclic schedule: ``max_lr``, or 10 x ``lr`` when unset."""
    return config.max_lr or 10 * config.lr


class Optimisation:
    """The optimisers of one model, one per parameter group, and their schedules.

    Args:
        model: the model.
        config: training settings.
        batches_per_epoch: to turn cycles given in epochs into batches.
        switched: build the optimisers of ``switch_optimizer`` (from ``switch_epoch``).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        batches_per_epoch: int,
        switched: bool = False,
    ):
        self.model, self.config, self.batches_per_epoch = model, config, batches_per_epoch
        self.per_batch = config.schedule in PER_BATCH_SCHEDULES
        self.switched = switched
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        for group, params in parameter_groups(model, config).items():
            name, lr = self._setting(group)
            sparse = group.endswith("sparse")
            self.optimizers[group] = make_optimizer(params, name, lr, config, sparse)
        self.schedulers = {
            group: make_scheduler(opt, config, batches_per_epoch)
            for group, opt in self.optimizers.items()
        }

    def _setting(self, group: str) -> tuple[str, float]:
        """(optimiser name, learning rate) of a group."""
        config = self.config
        name, lr = config.optimizer, config.lr
        if self.switched:
            name, lr = config.switch_optimizer, config.switch_lr or config.lr
        if group.startswith("bias"):
            name = config.bias_optimizer or name
            lr = config.bias_lr or lr
        return name, lr

    @property
    def lr(self) -> float:
        """The learning rate logged and plotted: the embeddings' (``main``, else ``sparse``)."""
        first = next(self.optimizers[g] for g in GROUPS if g in self.optimizers)
        return float(first.param_groups[0]["lr"])

    def zero_grad(self) -> None:
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        """One optimisation step, then the per-batch schedules' step."""
        for optimizer in self.optimizers.values():
            optimizer.step()
        if self.per_batch:
            for scheduler in self.schedulers.values():
                scheduler.step()  # type: ignore[union-attr]

    def end_epoch(self) -> None:
        if not self.per_batch:
            for scheduler in self.schedulers.values():
                if scheduler is not None:
                    scheduler.step()

    def switch(self) -> Optimisation:
        """The optimisers of ``switch_optimizer``, with this schedule's position and its
        current rates (or ``switch_lr``, with the schedule scaled to it)."""
        new = Optimisation(self.model, self.config, self.batches_per_epoch, switched=True)
        ratio = (self.config.switch_lr / self.config.lr) if self.config.switch_lr else 1.0
        for group, optimizer in self.optimizers.items():
            old_rates = [g["lr"] for g in optimizer.param_groups]
            bias_fixed = group.startswith("bias") and self.config.bias_optimizer
            factor = 1.0 if bias_fixed else ratio
            for g, rate in zip(new.optimizers[group].param_groups, old_rates, strict=True):
                g["lr"] = rate * factor
            scheduler = self.schedulers[group]
            if scheduler is not None:
                new.schedulers[group].load_state_dict(  # type: ignore[union-attr]
                    _scaled(scheduler.state_dict(), factor)
                )
        return new

    def state_dict(self) -> dict[str, Any]:
        return {
            "switched": self.switched,
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {
                k: None if s is None else s.state_dict() for k, s in self.schedulers.items()
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for group, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][group])
            scheduler, saved = self.schedulers[group], state["schedulers"][group]
            if scheduler is not None and saved is not None:
                scheduler.load_state_dict(saved)


def _scaled(state: dict[str, Any], factor: float) -> dict[str, Any]:
    """A scheduler's state with its rates multiplied by ``factor``."""
    if factor == 1.0:
        return state
    out = dict(state)
    for key in ("base_lrs", "max_lrs", "_last_lr", "eta_min"):
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [v * factor for v in value]
        elif isinstance(value, float) and key == "eta_min":
            out[key] = value * factor
    return out
