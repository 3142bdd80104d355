"""Hyper-parameter search with Optuna (``ncf tune``, the ``tune`` extra).

Every trial is the selection phase of a run (`ncf.experiment.selection.select`) with settings drawn
from the model's ``search_space`` and its training regime's (the learning rate, the
negatives, the weight decay), on the one split and the one set of evaluation negatives
every trial shares. Its score is the best validation value of the monitored metric;
every evaluated epoch is reported, so that a trial below the median of the earlier
ones at the same epoch stops there (pruned). The test part is never evaluated: the best
settings are written as ``best.toml``, a config that ``ncf train --config`` runs (and
tests once).

The study lives in its folder (``study.db``, SQLite): the same command run again goes
on where it stopped, up to ``trials`` in all. ``jobs`` processes share the study. The
folder holds ``base.toml`` (the settings searched around, and the space), ``trials.csv``,
``best.toml``, ``history.png`` (the optimisation history) and ``trials/NNNN/`` (each
trial's config and per-epoch history).

    >>> result = tune(resolve_config({"model": "gmf", "data": "ml-100k"}), Path("tune"), 20)
    >>> result["best_value"], result["best_params"]
"""

from __future__ import annotations

import multiprocessing
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from ncf.errors import UsageError
from ncf.evaluation.metrics import higher_is_better
from ncf.experiment.config import RunConfig
from ncf.models import MODELS
from ncf.models.base import ClosedForm
from ncf.training.regimes import REGIMES, regime_name

Echo = Callable[[str], None]
STUDY = "ncf"


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise UsageError("ncf tune needs the tune extra: pip install 'ncf[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def search_space(config: RunConfig, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings searched for ``config.model``: its training regime's, then its own,
    then ``overrides`` (setting -> spec; see `parse_space`)."""
    model = MODELS[config.model]
    space: dict[str, Any] = {}
    if not issubclass(model, ClosedForm):  # closed-form models have no training regime
        space.update(REGIMES[regime_name(model, config.train)].search_space)
    space.update(model.search_space)
    space.update(overrides or {})
    if not space:
        raise UsageError(f"model {config.model!r} has no settings to search; give --space")
    return space


#: settings a study holds fixed: they decide the data, the split or what is measured
FIXED = {"epochs", "monitor", "objective", "eval_every", "eval_at_start", "patience"}


def check_space(config: RunConfig, space: dict[str, Any]) -> dict[str, Any]:
    """The space with every range matching its setting's type (a float setting searched
    over ``1:10`` is a float range); each setting is known, searchable and takes every
    choice and bound (else a `UsageError` naming it, before any trial)."""
    from dataclasses import fields

    from ncf.data.preprocess import PrepareConfig
    from ncf.experiment.run_folder import flatten_toml, toml_ready
    from ncf.experiment.settings import model_defaults

    fixed = FIXED | {f.name for f in fields(RunConfig)} | {f.name for f in fields(PrepareConfig)}
    current = flatten_toml(toml_ready(config.to_dict()))
    arguments = set(model_defaults(config.model))
    checked: dict[str, Any] = {}
    for name, spec in space.items():
        if name in fixed - {"model_args", "train", "prepare"} and name not in arguments:
            raise UsageError(
                f"--space {name}: a study holds {name} fixed (it decides the data, the split "
                "or what is measured); set it with its flag or --set"
            )
        if not isinstance(spec, list) and isinstance(current.get(name), float):
            spec = (float(spec[0]), float(spec[1]), *spec[2:])
        values = spec if isinstance(spec, list) else list(spec[:2])
        for value in values:
            try:
                config.with_overrides({name: value}, arguments)
            except (UsageError, ValueError, TypeError) as err:
                raise UsageError(f"--space {name}={value}: {err}") from None
        checked[name] = spec
    return checked


def parse_space(text: str) -> tuple[str, Any]:
    """``name=spec``: ``8,16,32`` (choices), ``LOW:HIGH`` (a range; ints when both are)
    or ``LOW:HIGH:log`` (a log-uniform range)."""
    from ncf.training.config import parse_value

    name, _, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not name or not spec:
        raise UsageError(f"--space {text!r}: expected NAME=SPEC (8,16,32 or 1e-4:1e-2:log)")
    if ":" in spec and not spec.startswith("["):
        parts = spec.split(":")
        log = parts[-1] == "log"
        bounds = [parse_value(p) for p in (parts[:-1] if log else parts)]
        if len(bounds) != 2 or not all(isinstance(b, int | float) for b in bounds):
            raise UsageError(f"--space {text!r}: a range is LOW:HIGH or LOW:HIGH:log")
        if bounds[0] >= bounds[1] or (log and bounds[0] <= 0):
            raise UsageError(f"--space {text!r}: needs LOW < HIGH (and LOW > 0 on a log scale)")
        return name, (*bounds, "log") if log else tuple(bounds)
    choices = [parse_value(p.strip()) for p in _split_choices(spec)]
    return name, [str(c) if isinstance(c, list) else c for c in choices]


def _split_choices(spec: str) -> list[str]:
    """``8,16,32`` -> three; ``[64, 32],[32, 16]`` -> two lists."""
    if not spec.startswith("["):
        return spec.split(",")
    return ["[" + part.strip().strip(",").strip() for part in spec.split("[") if part.strip()]


def suggest(trial: Any, name: str, spec: Any) -> Any:
    """One value of ``spec`` for ``trial``."""
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    low, high, *scale = spec
    log = scale == ["log"]
    if isinstance(low, int) and isinstance(high, int):
        return trial.suggest_int(name, low, high, log=log)
    return trial.suggest_float(name, float(low), float(high), log=log)


def tune(
    config: RunConfig,
    out: Path,
    trials: int,
    jobs: int = 1,
    overrides: dict[str, Any] | None = None,
    timeout: float | None = None,
    echo: Echo = lambda line: None,
) -> dict[str, Any]:
    """Searches the settings of ``config.model`` around ``config`` (see the module).

    Args:
        out: the study's folder; a study already there continues.
        trials: trials in all (finished and pruned), counting those of earlier runs.
        jobs: processes running trials at once.
        overrides: search-space entries replacing or adding to the model's.
        timeout: seconds after which no new trial starts.

    Returns:
        ``best_number``, ``best_value``, ``best_params``, ``monitor``, ``complete``,
        ``pruned``, ``failed`` and the files written.
    """
    from ncf.experiment.run_folder import config_text

    optuna = import_optuna()
    if trials < 1 or jobs < 1:
        raise UsageError("--trials and --jobs must be at least 1")
    space = check_space(config, search_space(config, overrides))
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    base = out / "base.toml"
    searched = {name: list(spec) for name, spec in space.items()}
    text = config_text(config) + "\n" + tomli_w.dumps({"search_space": searched})
    if base.exists() and tomllib.loads(base.read_text()) != tomllib.loads(text):
        raise UsageError(
            f"{out} holds a study of other settings or another search space ({base}); "
            f"{_differences(tomllib.loads(base.read_text()), tomllib.loads(text))}; give the "
            "same ones to continue it, or another --out"
        )
    base.write_text(text)
    study = _study(optuna, out, config)
    done = _finished(optuna, study)
    left = max(0, trials - done)
    if done:
        echo(f"study {out}: {done} trials done, {left} to go")
    shares = [left // jobs + (rank < left % jobs) for rank in range(jobs)]
    if jobs == 1:
        run_trials(config, out, space, left, 0, timeout, echo)
    elif left:
        spawn = multiprocessing.get_context("spawn")
        workers = [
            spawn.Process(target=run_trials, args=(config, out, space, share, rank, timeout, print))
            for rank, share in enumerate(shares)
            if share
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if any(worker.exitcode for worker in workers):
            raise UsageError(f"a tuning process failed; {out} keeps the trials it finished")
    return _summarise(optuna, _study(optuna, out, config), config, out)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The settings, and the search space, two base.toml files disagree on."""
    from ncf.experiment.run_folder import config_differences

    searched_old, searched_new = old.pop("search_space", {}), new.pop("search_space", {})
    settings = config_differences(old, new, shown=4)
    differ = [settings] if settings else []
    if searched_old != searched_new:
        differ.append(f"search space: {searched_old} -> {searched_new}")
    return ", ".join(differ)


def _study(optuna: Any, out: Path, config: RunConfig) -> Any:
    direction = "maximize" if higher_is_better(config.train.monitor) else "minimize"
    return optuna.create_study(
        storage=f"sqlite:///{(out / 'study.db').absolute()}",
        study_name=STUDY,
        direction=direction,
        load_if_exists=True,
    )


def _finished(optuna: Any, study: Any) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def run_trials(
    config: RunConfig,
    out: Path,
    space: dict[str, Any],
    n_trials: int,
    rank: int,
    timeout: float | None,
    echo: Echo,
) -> None:
    """Runs ``n_trials`` trials of the study in ``out`` in this process (the data is
    prepared once for them all)."""
    from ncf.experiment.preparation import prepare_run
    from ncf.random import Generators
    from ncf.runtime.device import pick_device, use_threads

    if not n_trials:
        return
    optuna = import_optuna()
    use_threads(config.threads)
    prepared = prepare_run(config, Generators.from_seed(config.seed))
    device = pick_device(config.device, config.deterministic)
    study = _study(optuna, out, config)
    # a seed of its own per process and per resumption: none repeats another's draws
    done = len(study.get_trials(deepcopy=False))
    seed = int(np.random.SeedSequence([config.seed, rank, done]).generate_state(1)[0])
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    study.pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    objective = _objective(optuna, config, out, space, prepared, device, echo)
    study.optimize(objective, n_trials=n_trials, timeout=timeout, gc_after_trial=True)


def _objective(
    optuna: Any,
    config: RunConfig,
    out: Path,
    space: dict[str, Any],
    prepared: Any,
    device: Any,
    echo: Echo,
) -> Callable[[Any], float]:
    from ncf.experiment.run_folder import config_text, remove_checkpoints
    from ncf.experiment.selection import RunOptions, select
    from ncf.experiment.settings import model_defaults
    from ncf.experiment.steps import build
    from ncf.training.logs import write_history

    monitor = config.train.monitor
    arguments = set(model_defaults(config.model))

    def objective(trial: Any) -> float:
        started = time.perf_counter()
        params = {name: suggest(trial, name, spec) for name, spec in space.items()}
        settings = config.with_overrides(params, arguments)
        folder = out / "trials" / f"{trial.number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.toml").write_text(config_text(settings))
        shown = ", ".join(f"{k} {_short(v)}" for k, v in params.items())

        def report(row: dict[str, Any]) -> None:
            value = row.get(f"valid_{monitor}")
            if value is None:
                return
            trial.report(value, row["epoch"])
            if trial.should_prune():
                echo(f"trial {trial.number}: pruned at epoch {row['epoch']} ({shown})")
                raise optuna.TrialPruned()

        model = build(settings, prepared, device)
        try:
            options = RunOptions(callbacks=[report])
            fitted, _ = select(model, settings, prepared, folder, device, options, [])
        finally:
            remove_checkpoints(folder)
        write_history(fitted.history, folder / "history.csv")
        value = fitted.valid[monitor]
        seconds = time.perf_counter() - started
        echo(
            f"trial {trial.number}: valid {monitor} {value:.4f} at epoch {fitted.best_epoch} "
            f"({shown}) in {seconds:.1f} s"
        )
        return value

    return objective


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _summarise(optuna: Any, study: Any, config: RunConfig, out: Path) -> dict[str, Any]:
    """Writes trials.csv, best.toml and history.png; returns the study's summary."""
    from ncf.experiment.run_folder import config_text
    from ncf.experiment.settings import model_defaults

    state = optuna.trial.TrialState
    complete = study.get_trials(deepcopy=False, states=(state.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(state.PRUNED,))
    frame = study.trials_dataframe(attrs=("number", "value", "state", "params", "duration"))
    frame.insert(3, "seconds", frame.pop("duration").dt.total_seconds().round(2))
    frame.to_csv(out / "trials.csv", index=False)
    failed = study.get_trials(deepcopy=False, states=(state.FAIL,))
    summary: dict[str, Any] = {
        "monitor": config.train.monitor,
        "complete": len(complete),
        "pruned": len(pruned),
        "failed": len(failed),
        "trials_csv": out / "trials.csv",
    }
    if not complete:
        return summary
    best = study.best_trial
    settings = config.with_overrides(best.params, set(model_defaults(config.model)))
    header = (
        f"# ncf tune: trial {best.number} of {out}, valid {config.train.monitor} "
        f"{best.value:.4f}\n# ncf train --config {out / 'best.toml'}\n"
    )
    (out / "best.toml").write_text(header + config_text(settings))
    title = f"ncf tune: {config.model} on {Path(str(config.data)).name}"
    _plot_history(
        complete, pruned, config.train.monitor, out / "history.png", study.direction, title
    )
    summary.update(
        best_number=best.number,
        best_value=best.value,
        best_params=best.params,
        best_toml=out / "best.toml",
        history_png=out / "history.png",
    )
    return summary


def _plot_history(
    complete: list, pruned: list, monitor: str, path: Path, direction: Any, title: str
) -> None:
    """Each trial's validation value by trial number, the best so far as a step line,
    pruned trials at their last reported value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    numbers = np.array([t.number for t in complete])
    values = np.array([t.value for t in complete])
    order = np.argsort(numbers)
    numbers, values = numbers[order], values[order]
    maximise = direction.name == "MAXIMIZE"
    best = np.maximum.accumulate(values) if maximise else np.minimum.accumulate(values)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.scatter(numbers, values, s=22, color="#2f6fde", label="finished trial", zorder=3)
    ax.step(numbers, best, where="post", color="#d9480f", label="best so far")
    top = int(np.argmax(values) if maximise else np.argmin(values))
    ax.scatter(numbers[top], values[top], s=140, marker="*", color="#d9480f", zorder=4)
    ax.annotate(
        f"best: trial {numbers[top]}, {values[top]:.4f}",
        (numbers[top], values[top]),
        textcoords="offset points",
        xytext=(8, -12 if maximise else 6),
        fontsize=9,
    )
    last = [(t.number, t.intermediate_values) for t in pruned if t.intermediate_values]
    cut = [(number, values[max(values)]) for number, values in last]
    if cut:
        ax.scatter(*zip(*cut), s=22, marker="x", color="#98a2b3", label="pruned (last value)")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"valid {monitor}")
    ax.set_title(f"{title}: optimisation history")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
