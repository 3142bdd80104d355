"""A whole run: data -> split -> sample -> train -> evaluate -> bundle -> run folder.

The command line's ``ncf train`` is a thin layer over `train_run`.

    >>> config = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 5})
    >>> result = train_run(config, Path("runs/gmf"))
    >>> result.metrics["test"]["hr@10"]
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ncf.config import RunConfig, credit_weights
from ncf.data.metadata import is_column_name
from ncf.data.registry import DATASETS, resolve
from ncf.data.splits import fingerprint
from ncf.device import pick_device, use_threads
from ncf.distributed import Gathered, World, join
from ncf.errors import UsageError
from ncf.models import MODELS, Model
from ncf.preparation import Prepared, prepare_run
from ncf.pretrained import load_runs, runs_to_start_from
from ncf.random import Generators, seed_torch
from ncf.run_folder import (
    check_folder,
    config_text,
    default_run_folder,
    flatten_toml,
    prepare_folder,
    toml_ready,
)
from ncf.selection import Echo, RunOptions, select
from ncf.training.regimes import REGIMES
from ncf.training.tracking import MlflowTracker

__all__ = [
    "default_run_folder",
    "flatten_toml",
    "resolve_config",
    "toml_ready",
    "train_run",
]


def model_defaults(name: str) -> dict[str, Any]:
    """Constructor arguments of a registered model with their default values."""
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    params = inspect.signature(MODELS[name].__init__).parameters
    return {
        key: list(p.default) if isinstance(p.default, tuple) else p.default
        for key, p in params.items()
        if key not in ("self", "n_users", "n_items")
    }


def resolve_config(values: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
    """Builds a `RunConfig` from flat ``key -> value`` settings layered over the model's
    ``train_defaults`` (and over ``base`` when given)."""
    base = base or RunConfig()
    name = str(values.get("model", base.model))
    defaults = regime_defaults(name, values) if name in MODELS else {}
    cls = MODELS.get(name)
    runs = {key: str(values[key]) for key in (cls.run_keys if cls else ()) if values.get(key)}
    if cls is not None and runs:
        defaults.update(cls.shapes_from_runs(load_runs(runs, selected=True)))
        defaults.update(cls.pretrained_defaults)
    pairs = {**defaults, **values}
    if "monitor" not in values:  # a default monitor follows the cut-offs asked for
        pairs["monitor"] = monitor_at(pairs.get("monitor", base.train.monitor), pairs, base)
    arguments = model_defaults(name)
    config = replace(base, model=name).with_overrides(pairs, set(arguments))
    config = replace(config, model_args={**arguments, **config.model_args})
    # the run's config.toml must find its files from anywhere
    paths = ("gmf_run", "mlp_run", "base_run", "item_table")
    config = replace(config, **{k: _absolute(getattr(config, k)) for k in paths})
    if not is_column_name(config.item_features):  # else a metadata column (genres)
        config = replace(config, item_features=_absolute(config.item_features))
    return config


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
    if model.objective == "fit" and (train.partial_credit or train.fine_tune_lr):
        raise UsageError(
            f"{config.model} is fitted in closed form: partial_credit and fine_tune_lr "
            "apply to models trained on sampled negatives"
        )


def _absolute(path: str) -> str:
    return str(Path(path).absolute()) if path else path


def monitor_at(monitor: str, pairs: dict[str, Any], base: RunConfig) -> str:
    """``monitor`` (e.g. ``ndcg@10``) at the first cut-off of the run's ``ks`` when its own
    is not among them (``--k 20`` selects on ``ndcg@20``)."""
    name, _, k = monitor.partition("@")
    ks = pairs.get("ks", base.ks)
    parts = str(ks).split(",") if isinstance(ks, (str, int)) else [str(v) for v in ks]
    wanted = [p.strip() for p in parts if p.strip().isdigit()]
    if not k or not wanted or k in wanted:
        return monitor
    return f"{name}@{wanted[0]}"


def regime_defaults(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """A model's ``train_defaults`` and those of the regime it trains with
    (`Regime.run_defaults`: metric, protocol, split). The model's come first for its own
    regime; a regime picked with ``objective`` overrides what the model tuned for another."""
    cls = MODELS[name]
    own = dict(cls.train_defaults)
    if cls.objective == "fit":
        if values.get("objective"):
            raise UsageError(f"model {name!r} is fitted in closed form; it takes no objective")
        return own
    objective = str(values.get("objective") or cls.objective)
    if objective not in REGIMES:
        raise UsageError(f"unknown objective {objective!r}; known: {', '.join(REGIMES)}")
    missing = [m for m in REGIMES[objective].needs if not hasattr(cls, m)]
    if missing or (cls.own_objective_only and objective != cls.objective):
        raise UsageError(
            f"model {name!r} cannot train with objective {objective!r}; "
            f"it trains with {cls.objective!r}"
        )
    regime = REGIMES[objective].run_defaults
    if objective == cls.objective:
        return {**regime, **own}
    return {**own, **regime}


def build_model(config: RunConfig, prepared: Prepared) -> Model:
    """The model of ``config`` for the prepared data, with its item vectors when given."""
    cls = MODELS[config.model]
    train = prepared.split.train
    arguments = dict(config.model_args)
    for key, value in arguments.items():
        _check_size(config.model, key, value)
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


def _check_size(model: str, key: str, value: Any) -> None:
    """Sizes (``dim``, ``layers``) must be positive whole numbers; ``layers`` a list."""
    if key == "dim" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise UsageError(f"model {model!r}: dim must be a positive integer, got {value!r}")
    if key == "layers":
        sizes = value if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, (int, str)) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes
        ):
            raise UsageError(
                f"model {model!r}: layers must be a list of positive integers such as "
                f"64,32,16, got {value!r}"
            )


@dataclass
class RunResult:
    metrics: dict[str, Any]
    model: Model
    prepared: Prepared
    out: Path


def train_run(
    config: RunConfig,
    out: Path,
    resume: bool = False,
    progress: bool = True,
    tracker: MlflowTracker | None = None,
    overwrite: bool = False,
    echo: Echo | None = None,
) -> RunResult:
    """Trains, selects on validation, tests once, and writes the run folder.

    Args:
        config: the run's settings.
        out: the run folder. A finished run there is replaced only with ``overwrite``; an
            unfinished one is continued with ``resume`` (from its last checkpoint).
        progress: progress bars.
        tracker: MLflow tracking; receives the parameters, every epoch's numbers, the
            final metrics and the bundle.
        echo: receives one line per epoch and per notable event (rows dropped, the
            device); None prints nothing.
    """
    options = RunOptions(resume, overwrite, progress, tracker, echo or (lambda line: None))
    if tracker is None:
        return _train_run(config, out, options)
    tracker.log_params(config.to_dict())
    try:
        result = _train_run(config, out, options)
    except BaseException:
        tracker.abort()
        raise
    tracker.finish(result.metrics, out)
    return result


def _train_run(config: RunConfig, out: Path, options: RunOptions) -> RunResult:
    from ncf.bundle import save_bundle
    from ncf.training.checkpoint import atomic_write
    from ncf.training.logs import write_history, write_plots

    started = time.perf_counter()
    device = pick_device(config.device, config.deterministic)
    world = join(device)  # several processes under a launcher (`ncf.distributed`)
    if not world.main:  # process 0 speaks and writes for all
        options = replace(
            options, echo=lambda line: None, progress=False, tracker=None, writes=False
        )
    check_folder(out, config_text(config), options.resume, options.overwrite)
    threads = use_threads(config.threads)
    if world.main and config.data in DATASETS:
        resolve(config.data)  # downloaded once, before the others read it
    world.barrier()
    generators = Generators.from_seed(config.seed)
    prepared = spread_evaluation(prepare_run(config, generators), world)
    split = prepared.split
    dropped = {**prepared.log.dropped, **split.dropped}
    for reason, n in dropped.items():
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
    resolved = {
        "split": split.spec,
        "protocol": prepared.protocol.label,
        "device": str(device),
        "threads": threads,
        **({"processes": world.size} if world.size > 1 else {}),
    }
    processes = f", {world.size} processes" if world.size > 1 else ""
    options.echo(
        f"{config.model} on {config.data}: {split.train.n_users:,} users, "
        f"{split.train.n_items:,} items, train / valid / test "
        f"{len(split.train):,} / {len(split.valid):,} / {len(split.test):,} rows "
        f"({split.spec}, {prepared.protocol.label}, {device}, threads {threads}{processes})"
    )
    load_s = time.perf_counter() - started

    seed_torch(config.seed)
    model = build_model(config, prepared).to(device)
    # the runs it starts from, checked before anything is written; the selection phase
    # trains this model as started here
    model.start_from(runs_to_start_from(config, split, refit=False))
    check_settings(config, model)
    # every input is checked: only now is a run replaced (--overwrite) or its folder made
    if world.main:
        prepare_folder(out, config_text(config), options.resume, options.overwrite)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(config_text(config, resolved))
    world.barrier()
    fit_started = time.perf_counter()
    refit = config.refit  # prepare_run refuses a split without validation rows
    known = prepared.known  # the refit data
    lr_trace: list[dict[str, Any]] = []  # per-batch learning rates, when scheduled per batch
    selected = None
    fitted, run = select(model, config, prepared, out, device, options, lr_trace)
    history, valid = fitted.history, fitted.valid
    best_epoch, epochs_run = fitted.best_epoch, fitted.epochs_run
    tuning: dict[str, int] = {}  # fine-tuning's best epoch and epochs run, when it ran
    if config.train.fine_tune_epochs:
        tuning = {"best_epoch": fitted.tune_best_epoch, "epochs_run": fitted.tune_epochs_run}
    if refit and run is None:
        model.fit(known.csr())
    elif refit:
        # the epoch count is chosen on validation; the final model learns from train +
        # validation for that many epochs, from the same initial weights
        selected = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        seed_torch(config.seed)
        model = build_model(config, prepared).to(device)
        history += run(model, known, None, (best_epoch, fitted.tune_best_epoch)).history
    if run is None:
        shown = f"valid {config.train.monitor} {valid.get(config.train.monitor, float('nan')):.4f}"
        options.echo(f"fitted in {time.perf_counter() - fit_started:.1f} s; {shown}")
    fit_s = time.perf_counter() - fit_started

    eval_started = time.perf_counter()
    test = prepared.test(model)
    eval_s = time.perf_counter() - eval_started
    if not world.main:
        return RunResult({"test": test}, model, prepared, out)

    # a user's every interaction (the test part too) is what recommendations exclude
    save_bundle(
        out / "bundle",
        model.cpu(),
        known.concat(split.test),
        selected,
        fingerprint(split.train, split.valid),
    )
    frame = write_history(history, out / "history.csv")
    trace = write_history(lr_trace, out / "lr.csv") if lr_trace else None
    metrics = {
        "model": config.model,
        "data": config.data,
        "protocol": prepared.protocol.label,
        "split": split.spec,
        "valid": valid,
        "test": test,
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        **({"fine_tune": tuning} if tuning else {}),
        "refit": refit,
        "n_users": split.train.n_users,
        "n_items": split.train.n_items,
        "n_train": len(split.train),
        "n_valid": len(split.valid),
        "n_test": len(split.test),
        "dropped": dropped,
        **(
            {
                "item_features": {
                    "file": str(vectors.path),
                    "dim": vectors.matrix.shape[1],
                    "missing": vectors.missing,
                }
            }
            if vectors is not None
            else {}
        ),
        "seed": config.seed,
        "device": str(device),
        "threads": threads,
        "processes": world.size,
        "timing": {
            "load_s": round(load_s, 3),
            "fit_s": round(fit_s, 3),
            "eval_s": round(eval_s, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
    write_plots(out, frame, metrics, trace)
    # written last and atomically: a run folder with metrics.json is a finished run
    atomic_write(out / "metrics.json", lambda tmp: tmp.write_text(json.dumps(metrics, indent=2)))
    return RunResult(metrics, model, prepared, out)
