"""The selection phase of a run: a model fitted on the training part and chosen on
validation, the test part untouched. `train_run` continues with the refit and the test;
the tuner (`ncf.tuning`) scores a trial by it.

    >>> fitted, run = select(model, config, prepared, out, device, RunOptions(), [])
    >>> fitted.valid["hr@10"], fitted.best_epoch
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ncf.config import RunConfig, TrainConfig
from ncf.data.interactions import Interactions
from ncf.data.splits import Split
from ncf.evaluation.protocols import Evaluator
from ncf.models import Model
from ncf.preparation import Prepared
from ncf.pretrained import runs_to_start_from
from ncf.random import Generators
from ncf.training.tracking import MlflowTracker

Echo = Callable[[str], None]


@dataclass
class RunOptions:
    """How a run is carried out: resumed, replacing a finished one, with progress bars,
    tracked, echoing its events; ``callbacks`` see every epoch's history row (the tuner
    prunes trials with one); ``writes``: whether this process writes the run's logs
    (only the first of several processes does, `ncf.distributed`)."""

    resume: bool = False
    overwrite: bool = False
    progress: bool = False
    tracker: MlflowTracker | None = None
    echo: Echo = lambda line: None
    callbacks: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    writes: bool = True


@dataclass
class Fitted:
    """What a gradient run chose: its history, the best validation metrics, the best
    epoch and the epochs run, of the main phase and of fine-tuning (0 when none)."""

    history: list[dict[str, Any]]
    valid: dict[str, float]
    best_epoch: int
    epochs_run: int
    tune_best_epoch: int = 0
    tune_epochs_run: int = 0


GradientRun = Callable[[Model, Interactions, Evaluator | None, tuple[int, int] | None], Fitted]


def select(
    model: Model,
    config: RunConfig,
    prepared: Prepared,
    out: Path,
    device: torch.device,
    options: RunOptions,
    lr_trace: list[dict[str, Any]],
) -> tuple[Fitted, GradientRun | None]:
    """The selection phase: ``model`` (built and started as `train_run` does) fitted on the
    training part and chosen on validation; the test part is not touched. Returns what
    was chosen, and for gradient models the runner that trains the refit."""
    if model.objective == "fit":
        model.fit(prepared.split.train.csr())
        valid = prepared.valid(model)
        row = {"epoch": 1, **{f"valid_{k}": v for k, v in valid.items()}}
        for callback in options.callbacks:
            callback(row)
        if options.tracker is not None:
            options.tracker("select")(row)
        return Fitted([row], valid, 1, 1), None
    run = _gradient_runner(config, prepared.split, out, device, options, lr_trace)
    return run(model, prepared.split.train, prepared.valid, None), run


def _gradient_runner(
    config: RunConfig,
    split: Split,
    out: Path,
    device: torch.device,
    options: RunOptions,
    lr_trace: list[dict[str, Any]],
) -> GradientRun:
    """A function that trains a model on some interactions, with selection by an
    evaluator, or (``refit_epochs``: the main phase's and fine-tuning's) blind for fixed
    numbers of epochs; it appends the per-batch learning rates (phase, epoch position,
    lr) to ``lr_trace``.

    A model with frozen parts (``unfreeze``) and ``fine_tune_epochs`` trains on after its
    main phase with everything unfrozen at ``fine_tune_lr``: phase ``fine-tune`` (and
    ``refit-fine-tune``), where an epoch is selected only when it beats the main phase."""
    from ncf.training.logs import TensorBoardLogger
    from ncf.training.loop import Trainer
    from ncf.training.progress import epoch_line

    def stage(
        model: Model,
        train: Interactions,
        evaluate: Evaluator | None,
        phase: str,
        settings: TrainConfig,
        stop_at: int | None,
        baseline: float | None,
    ) -> tuple[list[dict[str, Any]], Trainer]:
        checkpoint = out / f"checkpoint-{phase}.pt"
        epochs = min(stop_at or settings.epochs, settings.epochs)
        callbacks = [epoch_line(phase, epochs, settings.monitor, options.echo)]
        tensorboard = TensorBoardLogger(out / "tensorboard" / phase) if options.writes else None
        if tensorboard is not None:
            callbacks.append(tensorboard)
        callbacks += options.callbacks
        if options.tracker is not None:
            callbacks.append(options.tracker(phase))
        trainer = Trainer(
            model,
            train,
            settings,
            evaluate,
            Generators.from_seed(config.seed),
            checkpoint=checkpoint,
            callbacks=callbacks,
            progress=options.progress,
            amp=device.type == "cuda",
            stop_at=stop_at,
            baseline=baseline,
        )
        if options.resume and checkpoint.exists():
            trainer.resume(checkpoint)
            options.echo(f"resuming the {phase} phase {trainer.resumed_at()}")
        history = [{"phase": phase, **row} for row in trainer.fit()]
        lr_trace.extend({"phase": phase, "epoch": e, "lr": lr} for e, lr in trainer.lr_trace)
        if tensorboard is not None:
            tensorboard.close()
        return history, trainer

    def best_valid(history: list[dict[str, Any]], epoch: int) -> dict[str, float]:
        best = next((r for r in history if r["epoch"] == epoch), {})
        return {k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")}

    def run(
        model: Model,
        train: Interactions,
        evaluate: Evaluator | None,
        refit_epochs: tuple[int, int] | None,
    ) -> Fitted:
        refit = refit_epochs is not None
        if refit:  # a fresh model, started from the runs' refit weights
            model.start_from(runs_to_start_from(config, split, refit=True))
        phase = "refit" if refit else "select"
        stop_at = refit_epochs[0] if refit_epochs else None
        history, trainer = stage(model, train, evaluate, phase, config.train, stop_at, None)
        fitted = Fitted(history, {}, trainer.best_epoch, trainer.epoch)
        if not refit:
            fitted.valid = best_valid(history, trainer.best_epoch)
        tune = config.train
        if tune.fine_tune_epochs and (not refit_epochs or refit_epochs[1]):
            model.unfreeze()  # type: ignore[attr-defined]
            settings = replace(
                tune,
                epochs=tune.fine_tune_epochs,
                lr=tune.fine_tune_lr or tune.lr / 10,
                switch_optimizer="",
            )
            baseline = None if refit else trainer.best_score
            phase = f"{phase}-fine-tune" if refit else "fine-tune"
            stop_at = refit_epochs[1] if refit_epochs else None
            more, tuner = stage(model, train, evaluate, phase, settings, stop_at, baseline)
            fitted.history += more
            fitted.tune_best_epoch, fitted.tune_epochs_run = tuner.best_epoch, tuner.epoch
            if not refit and tuner.best_epoch:
                fitted.valid = best_valid(more, tuner.best_epoch)
        return fitted

    return run
