"""A whole run into a run folder: ``ncf train`` is a thin layer over `train_run`, which
composes the steps of `ncf.experiment.steps`.

    >>> config = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 5})
    >>> result = train_run(config, Path("runs/gmf"))
    >>> result.metrics["test"]["hr@10"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ncf.data.io.source import Source
from ncf.experiment.config import RunConfig
from ncf.experiment.preparation import Prepared
from ncf.experiment.run_folder import (
    check_folder,
    config_text,
    prepare_folder,
    remove_checkpoints,
)
from ncf.experiment.selection import Echo, RunOptions
from ncf.experiment.steps import (
    Outcome,
    build,
    evaluate_test,
    prepare,
    resolved,
    run_metrics,
    select_and_refit,
    start,
    write,
)
from ncf.models import Model
from ncf.training.tracking import MlflowTracker


@dataclass
class RunResult:
    """A finished run: its ``metrics.json``, final model, prepared data, everything fitting
    gave (history, selected weights), each test query's metrics, and its folder (None:
    kept in memory)."""

    metrics: dict[str, Any]
    model: Model
    prepared: Prepared
    out: Path | None
    outcome: Outcome | None = None
    test_per_query: dict[str, np.ndarray] | None = None


def train_run(
    config: RunConfig,
    out: Path | None,
    resume: bool = False,
    progress: bool = True,
    tracker: MlflowTracker | None = None,
    overwrite: bool = False,
    echo: Echo | None = None,
    source: Source | None = None,
    keep_checkpoints: bool = False,
) -> RunResult:
    """Trains, selects on validation, refits, tests once, and writes the run folder.

    Args:
        config: the run's settings.
        out: the run folder. A finished run there is replaced only with ``overwrite``; an
            unfinished one is continued with ``resume`` (from its last checkpoint). None
            writes nothing (`ncf.fit`).
        progress: progress bars.
        tracker: MLflow tracking; receives the parameters, every epoch's numbers, the
            final metrics and the bundle.
        echo: receives one line per epoch and per notable event (rows dropped, the
            device); None prints nothing.
        source: the data, already read (a DataFrame given to `ncf.fit`); None reads
            ``config.data``.
        keep_checkpoints: keep the resumable checkpoints of a finished run (by default
            they are removed once ``metrics.json`` is written: the bundle holds the model).
    """
    options = RunOptions(
        resume,
        overwrite,
        progress,
        tracker,
        echo or (lambda line: None),
        keep_checkpoints=keep_checkpoints,
    )
    if tracker is None:
        return _train_run(config, out, options, source)
    tracker.log_params(config.to_dict())
    try:
        result = _train_run(config, out, options, source)
    except BaseException:
        tracker.abort()
        raise
    tracker.finish(result.metrics, out)
    return result


def _train_run(
    config: RunConfig, out: Path | None, options: RunOptions, source: Source | None
) -> RunResult:
    setup, options = start(config, options)
    if out is not None:
        check_folder(out, config_text(config), options.resume, options.overwrite)
    prepared = prepare(config, setup, options, source)
    load_s = time.perf_counter() - setup.started
    model = build(config, prepared, setup.device)
    # every input is checked: only now is a run replaced (--overwrite) or its folder made
    if out is not None and setup.world.main:
        prepare_folder(out, config_text(config), options.resume, options.overwrite)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(config_text(config, resolved(prepared, setup)))
    setup.world.barrier()
    outcome = select_and_refit(model, config, prepared, out, setup, options)
    tested = evaluate_test(outcome.model, prepared)
    if not setup.world.main:
        return RunResult({"test": tested.metrics}, outcome.model, prepared, out, outcome)
    timing = {"load_s": load_s, "fit_s": outcome.fit_s, "eval_s": tested.seconds}
    timing["total_s"] = time.perf_counter() - setup.started
    metrics = run_metrics(config, prepared, outcome, tested.metrics, setup, timing)
    if out is not None:
        write(out, outcome, prepared, metrics)
        if not options.keep_checkpoints:
            remove_checkpoints(out)
    return RunResult(metrics, outcome.model, prepared, out, outcome, tested.per_query)
