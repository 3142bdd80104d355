"""The selection phase of a run: a model fitted on the training part and chosen on
validation, the test part untouched. `train_run` continues with the refit and the test;
the tuner (`ncf.experiment.tuning`) scores a trial by it.

    >>> fitted, run = select(model, config, prepared, out, device, RunOptions(), [])
    >>> fitted.valid["hr@10"], fitted.best_epoch
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ncf.data.interactions import Interactions
from ncf.data.splits import Split
from ncf.evaluation.protocols import Evaluator
from ncf.experiment.config import RunConfig
from ncf.experiment.preparation import Prepared
from ncf.experiment.pretrained import runs_to_start_from
from ncf.models import Model
from ncf.models.base import ClosedForm
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.fitting import Fitted as FitResult
from ncf.training.fitting import fit_model
from ncf.training.logs import TensorBoardLogger
from ncf.training.progress import epoch_line
from ncf.training.tracking import MlflowTracker

Echo = Callable[[str], None]


@dataclass
class RunOptions:
    """How a run is carried out: resumed, replacing a finished one, with progress bars,
    tracked, echoing its events; ``callbacks`` see every epoch's history row (the tuner
    prunes trials with one); ``writes``: whether this process writes the run's logs
    (only the first of several processes does, `ncf.runtime.distributed`);
    ``keep_checkpoints``: keep a finished run's checkpoints."""

    resume: bool = False
    overwrite: bool = False
    progress: bool = False
    tracker: MlflowTracker | None = None
    echo: Echo = lambda line: None
    callbacks: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    writes: bool = True
    keep_checkpoints: bool = False


@dataclass
class Fitted:
    """What the fit of a phase chose: its history, the best validation metrics, the best
    epoch and the epochs run (1 of 1 for a closed-form fit), of the main phase and of
    fine-tuning (0 when none)."""

    history: list[dict[str, Any]]
    valid: dict[str, float]
    best_epoch: int
    epochs_run: int
    tune_best_epoch: int = 0
    tune_epochs_run: int = 0


#: fits a model on some interactions, selecting on an evaluator, or (refit) for the
#: chosen numbers of epochs of the main phase and of fine-tuning
Runner = Callable[[Model, Interactions, Evaluator | None, tuple[int, int] | None], Fitted]


def select(
    model: Model,
    config: RunConfig,
    prepared: Prepared,
    out: Path | None,
    device: torch.device,
    options: RunOptions,
    lr_trace: list[dict[str, Any]],
) -> tuple[Fitted, Runner]:
    """The selection phase: ``model`` (built and started as `train_run` does) fitted on the
    training part and chosen on validation; the test part is not touched. Returns what
    was chosen, and the runner that fits the refit model (``out``: the run folder of the
    checkpoints and TensorBoard logs; None keeps everything in memory)."""
    run = _runner(config, prepared.split, out, device, options, lr_trace)
    return run(model, prepared.split.train, prepared.valid, None), run


def _runner(
    config: RunConfig,
    split: Split,
    out: Path | None,
    device: torch.device,
    options: RunOptions,
    lr_trace: list[dict[str, Any]],
) -> Runner:
    """A function that fits a model (`fit_model`) on some interactions, with selection by an
    evaluator, or (``refit_epochs``: the main phase's and fine-tuning's) blind for fixed
    numbers of epochs; it appends the per-batch learning rates (phase, epoch position,
    lr) to ``lr_trace``.

    A model with frozen parts (``unfreeze``) and ``fine_tune_epochs`` trains on after its
    main phase with everything unfrozen at ``fine_tune_lr``: phase ``fine-tune`` (and
    ``refit-fine-tune``), where an epoch is selected only when it beats the main phase."""

    def stage(
        model: Model,
        train: Interactions,
        evaluate: Evaluator | None,
        phase: str,
        settings: TrainConfig,
        stop_at: int | None,
        baseline: float | None,
    ) -> FitResult:
        epochs = min(stop_at or settings.epochs, settings.epochs)
        gradient = not isinstance(model, ClosedForm)
        if stop_at is not None and gradient:
            options.echo(
                f"{phase}: on train + validation for the epochs chosen on validation ({epochs})"
            )
        callbacks = [epoch_line(phase, epochs, settings.monitor, options.echo)]
        writes = options.writes and out is not None
        tensorboard = TensorBoardLogger(out / "tensorboard" / phase) if writes else None
        if tensorboard is not None:
            callbacks.append(tensorboard)
        callbacks += options.callbacks
        if options.tracker is not None:
            callbacks.append(options.tracker(phase))
        fitted = fit_model(
            model,
            train,
            settings,
            evaluate,
            generators=Generators.from_seed(config.seed),
            callbacks=callbacks,
            checkpoint=None if out is None else out / f"checkpoint-{phase}.pt",
            resume=options.resume,
            on_resume=lambda where: options.echo(f"resuming the {phase} phase {where}"),
            progress=options.progress,
            amp=device.type == "cuda",
            stop_at=stop_at,
            baseline=baseline,
        )
        fitted.history = [{"phase": phase, **row} for row in fitted.history]
        if stop_at is None and gradient and fitted.epochs_run < epochs:
            options.echo(
                f"{phase}: stopped early after epoch {fitted.epochs_run}: valid "
                f"{settings.monitor} no better for {settings.patience} evaluations; best "
                f"epoch {fitted.best_epoch}"
            )
        if stop_at is None and gradient and fitted.best_epoch == fitted.epochs_run == epochs > 1:
            options.echo(
                f"{phase}: the best epoch was the last ({epochs}): more epochs may help (--epochs)"
            )
        lr_trace.extend({"phase": phase, "epoch": e, "lr": lr} for e, lr in fitted.lr_trace)
        if tensorboard is not None:
            tensorboard.close()
        return fitted

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
        main = stage(model, train, evaluate, phase, config.train, stop_at, None)
        fitted = Fitted(main.history, {}, main.best_epoch, main.epochs_run)
        if not refit:
            fitted.valid = best_valid(main.history, main.best_epoch)
        tune = config.train
        if tune.fine_tune_epochs and (not refit_epochs or refit_epochs[1]):
            # only models with frozen parts take fine_tune_epochs (`check_settings`)
            model.unfreeze()  # type: ignore[attr-defined]
            settings = replace(
                tune,
                epochs=tune.fine_tune_epochs,
                lr=tune.fine_tune_lr or tune.lr / 10,
                switch_optimizer="",
            )
            baseline = None if refit else main.best_score
            phase = f"{phase}-fine-tune" if refit else "fine-tune"
            stop_at = refit_epochs[1] if refit_epochs else None
            tuned = stage(model, train, evaluate, phase, settings, stop_at, baseline)
            fitted.history += tuned.history
            fitted.tune_best_epoch, fitted.tune_epochs_run = tuned.best_epoch, tuned.epochs_run
            if not refit and tuned.best_epoch:
                fitted.valid = best_valid(tuned.history, tuned.best_epoch)
        return fitted

    return run
