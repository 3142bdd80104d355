"""How a model is trained: the frozen, validated `TrainConfig`, and the casting of
setting values (text from ``--set``, TOML values, Python values) to a config's field types
(`coerce`), which `ncf.experiment.config.RunConfig` shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from ncf.errors import UsageError
from ncf.evaluation.metrics import METRICS, monitored_metrics

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
PER_BATCH_SCHEDULES = ("triangular", "triangular2", "exp_range", "cosine-restarts")
SCHEDULES = ("none", "cosine", "step", *PER_BATCH_SCHEDULES)
SAMPLERS = ("exact", "approximate")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained.

    Attributes:
        epochs: maximum number of epochs.
        batch_size: examples per step: scored rows (positives and negatives) for
            pointwise models, (user, positive, negative) triples for pairwise ones.
        lr: learning rate.
        optimizer: one of adam, adamw, sgd, rmsprop, adagrad.
        momentum: momentum for sgd and rmsprop.
        beta2: Adam / AdamW's decay of the squared-gradient average (0.999; SASRec 0.98).
        weight_decay: the optimiser's weight decay (L2 on every parameter, every step).
        reg: L2 weight on the embeddings each batch touches (per-batch regularisation).
        reduction: ``mean`` (the default) or ``sum`` of the loss over a batch's examples
            (S6's torchmf sums; with ``sum`` the learning rate acts per example).
        n_negatives: negatives per positive, drawn afresh every epoch.
        sampler: ``exact`` (never an item the user has) or ``approximate`` (unchecked).
        schedule: learning-rate schedule (`ncf.training.optim`): stepped per epoch,
            none, cosine or step; stepped per batch, triangular, triangular2, exp_range
            or cosine-restarts.
        step_size: epochs between decays of the ``step`` schedule.
        gamma: decay factor of the ``step`` schedule, and of the ``exp_range``
            schedule's amplitude per cycle.
        max_lr: the peak of the per-batch schedules (0: 10 x ``lr``).
        cycle_epochs: length of one cycle of the per-batch schedules, in epochs.
        cycle_mult: ``cosine-restarts``: each cycle this many times longer than the last.
        bias_lr: learning rate of the bias parameters (0: ``lr``); setting it or
            ``bias_optimizer`` gives them an optimiser of their own.
        bias_optimizer: optimiser of the bias parameters (empty: ``optimizer``).
        switch_optimizer: from ``switch_epoch`` on, train with this optimiser instead
            (empty: never switch).
        switch_epoch: the first epoch (1-based) trained with ``switch_optimizer``.
        switch_lr: learning rate after the switch (0: the rate reached).
        hogwild_workers: train with this many processes updating one shared model
            without locks (Hogwild; 0: in this process).
        patience: stop after this many evaluations (every ``eval_every`` epochs) without
            a better validation metric.
        monitor: the validation metric that selects the epoch (e.g. ``ndcg@10``).
        eval_every: evaluate on validation every this many epochs.
        eval_at_start: also evaluate the untrained model, as epoch 0 of the history.
        objective: the training regime (`ncf.training.regimes`): empty = the model's
            own; ``rating`` trains GMF / MLP / NeuMF on ratings.
        full_batch: the ``rating`` regime takes every training row in one batch.
        partial_credit: item metadata keys whose match between a positive and its
            sampled negative lowers the negative's loss (``pointwise`` / ``pairwise``):
            ``genres``, or ``genres:0.4,year:0.2`` with a weight per key (default 0.4);
            a negative's loss is scaled by 1 - the weights of the keys it shares.
        fine_tune_epochs: after training with parts of the model frozen (``hybrid``),
            unfreeze them and train on for at most this many epochs (0: no fine-tuning).
        fine_tune_lr: the learning rate of fine-tuning (0: lr / 10).
        refeed: the ``item-rows`` regime adds dense re-feeding (the reconstruction fed in
            again) to each step.
        compile: compile the loss with `torch.compile` (needs a C++ compiler on the CPU):
            about 10-30 s once (cached on disk for later runs), then NeuMF's steps at
            large batches take half the time; it pays on long runs (large data, many
            epochs), not on a run of seconds.
    """

    epochs: int = 20
    batch_size: int = 4096
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    reg: float = 0.0
    reduction: str = "mean"
    n_negatives: int = 4
    sampler: str = "exact"
    schedule: str = "none"
    step_size: int = 5
    gamma: float = 0.5
    max_lr: float = 0.0
    cycle_epochs: float = 2.0
    cycle_mult: int = 1
    bias_lr: float = 0.0
    bias_optimizer: str = ""
    switch_optimizer: str = ""
    switch_epoch: int = 2
    switch_lr: float = 0.0
    hogwild_workers: int = 0
    patience: int = 3
    monitor: str = "ndcg@10"
    eval_every: int = 1
    eval_at_start: bool = False
    objective: str = ""
    full_batch: bool = False
    refeed: bool = True
    partial_credit: str = ""
    compile: bool = False
    fine_tune_epochs: int = 0
    fine_tune_lr: float = 0.0

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("reduction", self.reduction, ("mean", "sum"))
        for name in ("bias_optimizer", "switch_optimizer"):
            if getattr(self, name):
                check_choice(name, getattr(self, name), OPTIMIZERS)
        for name in ("epochs", "batch_size", "n_negatives", "eval_every", "step_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise UsageError(f"lr must be a finite number > 0, got {self.lr}")
        name, _, k = self.monitor.partition("@")
        if self.monitor not in monitored_metrics((int(k),) if k.isdigit() else ()):
            shown = ", ".join(f"{n}@10" if m.at_k else n for n, m in METRICS.items())
            raise UsageError(f"monitor must be a metric such as {shown}; got {self.monitor!r}")
        if self.patience < 1:
            raise UsageError(f"patience must be >= 1, got {self.patience}")
        if not 0 <= self.beta2 < 1:
            raise UsageError(f"beta2 must be in [0, 1), got {self.beta2}")
        if not 0 < self.gamma <= 1:
            raise UsageError(f"gamma must be in (0, 1], got {self.gamma}")
        for name in ("max_lr", "bias_lr", "switch_lr", "fine_tune_lr"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise UsageError(f"{name} must be a finite number >= 0, got {value}")
        if self.schedule in PER_BATCH_SCHEDULES and self.max_lr and self.max_lr <= self.lr:
            raise UsageError(
                f"max_lr ({self.max_lr:g}) must be above lr ({self.lr:g}): the per-batch "
                "schedules cycle between the two"
            )
        if not math.isfinite(self.cycle_epochs) or self.cycle_epochs <= 0:
            raise UsageError(f"cycle_epochs must be > 0, got {self.cycle_epochs}")
        if self.cycle_mult < 1:
            raise UsageError(f"cycle_mult must be a positive integer, got {self.cycle_mult}")
        if self.switch_optimizer and self.switch_epoch < 2:
            raise UsageError(
                f"switch_epoch must be >= 2 (epochs count from 1), got {self.switch_epoch}"
            )
        if self.hogwild_workers < 0:
            raise UsageError(f"hogwild_workers must be >= 0, got {self.hogwild_workers}")
        if self.fine_tune_epochs < 0:
            raise UsageError(f"fine_tune_epochs must be >= 0, got {self.fine_tune_epochs}")
        credit_weights(self.partial_credit)  # checks the spec


def credit_weights(spec: str) -> dict[str, float]:
    """``partial_credit``'s keys and weights: ``genres`` -> {"genres": 0.4};
    ``genres:0.5,year:0.2`` -> both with their weights."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, weight = part.partition(":")
        try:
            value = float(weight) if weight else 0.4
        except ValueError:
            value = math.nan
        if not key.strip() or not 0 < value <= 1:
            raise UsageError(
                f"partial_credit must be KEY or KEY:WEIGHT pairs with weights in (0, 1], "
                f"such as genres or genres:0.4,year:0.2; got {spec!r}"
            )
        weights[key.strip()] = value
    return weights


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def known_keys(cls: type, values: dict[str, Any], section: str) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise UsageError(f"unknown keys {sorted(unknown)} in [{section}]; allowed: {sorted(names)}")
    return values


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def coerce(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Casts values (strings from ``--set``, or TOML values) to the field types of ``cls``.

    A text field keeps the text as given (``columns=user:uid,item:iid`` stays one string);
    a list of values given for a text field is joined with commas."""
    types = {f.name: str(f.type) for f in fields(cls)}
    out = {}
    for key, value in values.items():
        kind = types[key]
        try:
            out[key] = _cast(kind, value)
        except (TypeError, ValueError):
            raise UsageError(f"setting {key}={value!r}: expected {kind}") from None
    return out


def _cast(kind: str, value: Any) -> Any:
    if "None" in kind and (value is None or str(value).lower() == "none"):
        return None
    if kind.startswith("tuple"):
        parts = value.split(",") if isinstance(value, str) else value
        parts = parts if isinstance(parts, (list, tuple)) else [parts]
        return tuple(int(str(p).strip()) for p in parts if str(p).strip())
    if kind.startswith("bool"):
        if isinstance(value, bool):
            return value
        if str(value).lower() not in _TRUE + _FALSE:
            raise ValueError(value)
        return str(value).lower() in _TRUE
    if kind.startswith("int"):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind.startswith("float"):
        return float(value)
    if kind.startswith("str") and isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if kind.startswith("str"):
        return str(value)
    return value


def parse_value(text: str) -> Any:
    """``--set`` value text -> int, float, bool, list or string."""
    import ast

    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if "," in text:
            return [parse_value(part) for part in text.split(",")]
        return text
