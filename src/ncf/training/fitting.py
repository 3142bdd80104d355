"""One entry point that fits every model: `fit_model`.

A `ClosedForm` model (popularity, EASE, iALS, item-kNN, GF-CF) learns in one call from the
user-item matrix; every other model is trained by gradient descent with the `Trainer`,
in the regime it names. Callers (a run's selection and refit, the tuner, ``ncf.fit``)
never ask which kind a model is.

    >>> fitted = fit_model(model, split.train, TrainConfig(epochs=5), valid=evaluator)
    >>> fitted.best_epoch, fitted.history[-1]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncf.data.interactions import Interactions
from ncf.models.base import ClosedForm, Model
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer

Callback = Callable[[dict[str, Any]], None]


@dataclass
class Fitted:
    """What fitting gave: one history row per epoch (a closed-form fit is epoch 1), the
    epoch selected on validation and the epochs run, the best validation score (a
    gradient fit's; None for a closed-form one), and the per-batch learning rates
    (position in epochs, lr) of schedules stepped per batch."""

    history: list[dict[str, Any]]
    best_epoch: int
    epochs_run: int
    best_score: float | None = None
    lr_trace: list[tuple[float, float]] = field(default_factory=list)


def fit_model(
    model: Model,
    train: Interactions,
    config: TrainConfig | None = None,
    valid: Callable[[Model], dict[str, float]] | None = None,
    *,
    generators: Generators | None = None,
    callbacks: list[Callback] | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    on_resume: Callable[[str], None] | None = None,
    **trainer_options: Any,
) -> Fitted:
    """Fits ``model`` on ``train``, choosing the epoch on ``valid`` when given.

    Args:
        model: any registered model, built for ``train``'s users and items.
        train: the interactions it learns from.
        config: training settings (gradient models; default `TrainConfig()`).
        valid: model -> validation metrics; selects the epoch (gradient models) and fills
            the history's ``valid_*`` columns.
        generators: random streams of the training (default: seed 0).
        callbacks: called with each history row.
        checkpoint: the file a gradient model's state is saved to after each epoch.
        resume: continue from ``checkpoint`` when it exists.
        on_resume: told where a resumed run goes on from (`Trainer.resumed_at`).
        trainer_options: `Trainer` arguments (``progress``, ``amp``, ``stop_at``,
            ``baseline``).
    """
    callbacks = list(callbacks or [])
    if isinstance(model, ClosedForm):
        started = time.perf_counter()
        model.fit(train.csr())
        row: dict[str, Any] = {"epoch": 1, "seconds": time.perf_counter() - started}
        if valid is not None:
            row |= {f"valid_{key}": value for key, value in valid(model).items()}
        for callback in callbacks:
            callback(row)
        return Fitted([row], 1, 1)
    trainer = Trainer(
        model,
        train,
        config or TrainConfig(),
        valid,
        generators or Generators.from_seed(0),
        checkpoint=checkpoint,
        callbacks=callbacks,
        **trainer_options,
    )
    if resume and checkpoint is not None and checkpoint.exists():
        trainer.resume(checkpoint)
        if on_resume is not None:
            on_resume(trainer.resumed_at())
    history = trainer.fit()
    return Fitted(history, trainer.best_epoch, trainer.epoch, trainer.best_score, trainer.lr_trace)
