"""The steps of a run, which ``ncf train``, `ncf.fit`, `ncf.compare`, the tuner and
rescoring compose: `start` (device, processes, threads), `prepare` (data, split,
evaluators), `build` (the model, started from the runs it names), `select_and_refit`
(the epochs chosen on validation, then the final model on train + validation),
`evaluate_test` (once), `run_metrics` (``metrics.json``) and `write` (the run folder).

    >>> setup, options = start(config, RunOptions())
    >>> prepared = prepare(config, setup, options)
    >>> model = build(config, prepared, setup.device)
    >>> outcome = select_and_refit(model, config, prepared, None, setup, options)
    >>> tested = evaluate_test(outcome.model, prepared)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncf.data.io.registry import DATASETS, resolve
from ncf.data.io.source import Source
from ncf.data.splits import fingerprint
from ncf.errors import UsageError
from ncf.experiment.config import RunConfig
from ncf.experiment.preparation import Prepared, prepare_run
from ncf.experiment.pretrained import runs_to_start_from
from ncf.experiment.selection import RunOptions, select
from ncf.experiment.settings import check_size
from ncf.inference.bundle import save_bundle
from ncf.models import MODELS, Model
from ncf.models.base import ClosedForm
from ncf.random import Generators, seed_torch
from ncf.runtime.device import pick_device, use_threads
from ncf.runtime.distributed import Gathered, World, join
from ncf.training.checkpoint import atomic_write
from ncf.training.config import credit_weights
from ncf.training.fitting import fit_model
from ncf.training.logs import write_history, write_plots


@dataclass
class Setup:
    """Where a run computes: its device, its processes (`World`), its CPU threads, and
    when it started (``time.perf_counter``)."""

    device: torch.device
    world: World
    threads: int
    started: float = field(default_factory=time.perf_counter)


def start(config: RunConfig, options: RunOptions) -> tuple[Setup, RunOptions]:
    """Picks the device, joins the other processes of a run launched on several, applies
    the thread count and fetches a registry dataset once. Processes other than the first
    get options that print and write nothing (the first speaks and writes for all)."""
    started = time.perf_counter()
    device = pick_device(config.device, config.deterministic)
    world = join(device)  # several processes under a launcher (`ncf.runtime.distributed`)
    if not world.main:
        quiet = {"progress": False, "tracker": None, "writes": False}
        options = replace(options, echo=lambda line: None, **quiet)  # type: ignore[arg-type]
    threads = use_threads(config.threads)
    if world.main and config.data in DATASETS:
        resolve(config.data)  # downloaded once, before the others read it
    world.barrier()
    return Setup(device, world, threads, started), options


def prepare(
    config: RunConfig, setup: Setup, options: RunOptions, source: Source | None = None
) -> Prepared:
    """The data side of the run (`prepare_run`, from ``source`` when given, else from
    ``config.data``), its evaluators spread over the processes; echoes what was dropped
    and the run's one-line summary."""
    prepared = spread_evaluation(
        prepare_run(config, Generators.from_seed(config.seed), source), setup.world
    )
    split = prepared.split
    for reason, n in prepared.dropped.items():
        options.echo(f"dropped {n:,} rows: {reason}")
    for note, n in prepared.log.notes.items():
        options.echo(f"note: {n:,} {note}")
    if config.train.partial_credit:
        weights = credit_weights(config.train.partial_credit)
        shown = ", ".join(f"{key} {weight:g}" for key, weight in weights.items())
        options.echo(
            f"partial credit: a negative's loss less the weight of each key it shares ({shown})"
        )
    vectors = prepared.item_vectors
    if vectors is not None:
        options.echo(
            f"item vectors of {vectors.matrix.shape[1]} values from {vectors.path}; "
            f"{vectors.missing:,} of {split.train.n_items:,} items have none (zeros)"
        )
    world = setup.world
    processes = f", {world.size} processes" if world.size > 1 else ""
    options.echo(
        f"{config.model} on {config.data}: {split.train.n_users:,} users, "
        f"{split.train.n_items:,} items, train / valid / test "
        f"{len(split.train):,} / {len(split.valid):,} / {len(split.test):,} rows "
        f"({split.spec}, {prepared.protocol.label}, {setup.device}, threads "
        f"{setup.threads}{processes})"
    )
    return prepared


def resolved(prepared: Prepared, setup: Setup) -> dict[str, Any]:
    """What the settings became on this machine and data (``config.toml``'s [resolved])."""
    return {
        "split": prepared.split.spec,
        "protocol": prepared.protocol.label,
        "device": str(setup.device),
        "threads": setup.threads,
        **({"processes": setup.world.size} if setup.world.size > 1 else {}),
    }


def build(config: RunConfig, prepared: Prepared, device: torch.device) -> Model:
    """The model of ``config``, seeded, on ``device``, started from the runs it names
    (their train-only weights: the selection phase trains it as started here)."""
    seed_torch(config.seed)
    model = build_model(config, prepared).to(device)
    model.start_from(runs_to_start_from(config, prepared.split, refit=False))
    check_settings(config, model)
    return model


@dataclass
class Outcome:
    """What fitting a run gave: the final model, the history of every phase, the
    validation metrics of the selected epoch, the best epoch and the epochs run, the
    fine-tuning's (``tuning``: best epoch and epochs run, when it ran), the selected
    train-only weights of a refit gradient model (what rescoring scores validation with),
    the per-batch learning rates, and the seconds fitting took."""

    model: Model
    history: list[dict[str, Any]]
    valid: dict[str, float]
    best_epoch: int
    epochs_run: int
    tuning: dict[str, int]
    selected: dict[str, torch.Tensor] | None
    lr_trace: list[dict[str, Any]]
    fit_s: float


def select_and_refit(
    model: Model,
    config: RunConfig,
    prepared: Prepared,
    out: Path | None,
    setup: Setup,
    options: RunOptions,
) -> Outcome:
    """Fits ``model`` on the training part with the epochs chosen on validation; then,
    with ``config.refit``, fits a fresh model (same seed, same initial weights) on train +
    validation for the chosen epochs. ``out``: where checkpoints and TensorBoard logs go
    (None: nowhere)."""
    started = time.perf_counter()
    lr_trace: list[dict[str, Any]] = []  # per-batch learning rates, when scheduled per batch
    fitted, run = select(model, config, prepared, out, setup.device, options, lr_trace)
    history = fitted.history
    tuning: dict[str, int] = {}
    if config.train.fine_tune_epochs:
        tuning = {"best_epoch": fitted.tune_best_epoch, "epochs_run": fitted.tune_epochs_run}
    selected = None
    if config.refit:  # prepare_run refuses a split without validation rows
        # a gradient model's train-only weights are kept; a closed-form one is fitted on
        # train alone again, exactly and cheaply, when validation is scored later
        if not isinstance(model, ClosedForm):
            selected = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        seed_torch(config.seed)
        model = build_model(config, prepared).to(setup.device)
        epochs = (fitted.best_epoch, fitted.tune_best_epoch)
        history += run(model, prepared.known, None, epochs).history
    return Outcome(
        model,
        history,
        fitted.valid,
        fitted.best_epoch,
        fitted.epochs_run,
        tuning,
        selected,
        lr_trace,
        time.perf_counter() - started,
    )


@dataclass
class Tested:
    """The test metrics, the per-query values they are the means of (what `ncf.compare`
    pairs across models), and the seconds the test took."""

    metrics: dict[str, float]
    per_query: dict[str, np.ndarray]
    seconds: float


def fitted_on_train(config: RunConfig, prepared: Prepared) -> Model:
    """A closed-form model of ``config`` fitted on the training part alone: exactly the
    model its selection scored validation with (it keeps no selected weights)."""
    model = build_model(config, prepared)
    fit_model(model, prepared.split.train)
    return model


def evaluate_test(model: Model, prepared: Prepared) -> Tested:
    """The test, computed once: each query's metrics, then their summary."""
    started = time.perf_counter()
    per_query = prepared.test.per_query(model)
    metrics = prepared.test.summarise(per_query)
    return Tested(metrics, per_query, time.perf_counter() - started)


def run_metrics(
    config: RunConfig,
    prepared: Prepared,
    outcome: Outcome,
    test: dict[str, float],
    setup: Setup,
    timing: dict[str, float],
) -> dict[str, Any]:
    """The run's ``metrics.json``: metrics labelled with their protocol, sizes, timings."""
    split, vectors = prepared.split, prepared.item_vectors
    features = {}
    if vectors is not None:
        shape = {"file": str(vectors.path), "dim": vectors.matrix.shape[1]}
        features = {"item_features": {**shape, "missing": vectors.missing}}
    return {
        "model": config.model,
        "data": config.data,
        "protocol": prepared.protocol.label,
        "split": split.spec,
        "valid": outcome.valid,
        "test": test,
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.epochs_run,
        **({"fine_tune": outcome.tuning} if outcome.tuning else {}),
        "refit": config.refit,
        "n_users": split.train.n_users,
        "n_items": split.train.n_items,
        "n_train": len(split.train),
        "n_valid": len(split.valid),
        "n_test": len(split.test),
        "dropped": prepared.dropped,
        **features,
        "seed": config.seed,
        "device": str(setup.device),
        "threads": setup.threads,
        "processes": setup.world.size,
        "timing": {key: round(value, 3) for key, value in timing.items()},
    }


def write(out: Path, outcome: Outcome, prepared: Prepared, metrics: dict[str, Any]) -> None:
    """The run folder: the bundle (a user's every interaction, the test part too, is what
    recommendations exclude), history, learning rates, plots, then ``metrics.json``, last
    and atomically: a folder with it holds a finished run."""
    split = prepared.split
    save_bundle(
        out / "bundle",
        outcome.model.cpu(),
        prepared.known.concat(split.test),
        outcome.selected,
        fingerprint(split.train, split.valid),
        rating_range(prepared),
    )
    frame = write_history(outcome.history, out / "history.csv")
    trace = write_history(outcome.lr_trace, out / "lr.csv") if outcome.lr_trace else None
    write_plots(out, frame, metrics, trace)
    atomic_write(out / "metrics.json", lambda tmp: tmp.write_text(json.dumps(metrics, indent=2)))


def rating_range(prepared: Prepared) -> tuple[float, float] | None:
    """The training ratings' range the ``rating`` protocol clips predictions to (None for
    the ranking protocols)."""
    test = prepared.test
    return (test.low, test.high) if test.protocol.kind == "rating" else None


def spread_evaluation(prepared: Prepared, world: World) -> Prepared:
    """``prepared`` with its evaluators split among ``world``'s processes (`Gathered`)."""
    if world.size == 1:
        return prepared
    valid, test = Gathered(prepared.valid, world), Gathered(prepared.test, world)
    return replace(prepared, valid=valid, test=test)  # type: ignore[arg-type]


def check_settings(config: RunConfig, model: Model) -> None:
    """Refuses training settings the model would silently ignore."""
    train = config.train
    if train.fine_tune_epochs and not hasattr(model, "unfreeze"):
        raise UsageError(
            f"fine_tune_epochs unfreezes what a model trains frozen at first (hybrid); "
            f"{config.model} freezes nothing"
        )
    if isinstance(model, ClosedForm) and (train.partial_credit or train.fine_tune_lr):
        raise UsageError(
            f"{config.model} is fitted in closed form: partial_credit and fine_tune_lr "
            "apply to models trained on sampled negatives"
        )


def build_model(config: RunConfig, prepared: Prepared) -> Model:
    """The model of ``config`` for the prepared data, with its item vectors when given."""
    cls = MODELS[config.model]
    train = prepared.split.train
    arguments = dict(config.model_args)
    for key, value in arguments.items():
        check_size(config.model, key, value)
    vectors = prepared.item_vectors
    if "feature_dim" in arguments:
        arguments["feature_dim"] = 0 if vectors is None else vectors.matrix.shape[1]
    try:
        model = cls(train.n_users, train.n_items, **arguments)
    except (TypeError, ValueError) as err:
        raise UsageError(f"model {config.model!r}: {err}") from None
    if vectors is not None:
        model.set_item_features(vectors.matrix)  # type: ignore[attr-defined]
    return model
