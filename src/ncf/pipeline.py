"""A whole run: data -> split -> sample -> train -> evaluate -> bundle -> run folder.

The command line's ``ncf train`` is a thin layer over `train_run`.

    >>> config = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 5})
    >>> result = train_run(config, Path("runs/gmf"))
    >>> result.metrics["test"]["hr@10"]
"""

from __future__ import annotations

import inspect
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomli_w
import torch

from ncf.config import RunConfig
from ncf.data.formats import TEST, Source, parse_columns, read_path
from ncf.data.interactions import Interactions
from ncf.data.preprocess import DropLog, PrepareConfig, count_duplicates, prepare
from ncf.data.registry import DATASETS, resolve
from ncf.data.sampling import SeenSet, sample_distinct_negatives
from ncf.data.splits import Split, default_split, make_split
from ncf.data.synthetic import make_synthetic
from ncf.errors import UsageError
from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.models import MODELS, Model, load_pretrained
from ncf.random import Generators, seed_torch
from ncf.training.tracking import MlflowTracker


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
    defaults = dict(MODELS[name].train_defaults) if name in MODELS else {}
    if name == "neumf" and (values.get("gmf_run") or values.get("mlp_run")):
        defaults.update(pretrained_shapes(values))
        defaults.update(getattr(MODELS[name], "pretrained_defaults", {}))
    pairs = {**defaults, **values}
    arguments = model_defaults(name)
    config = replace(base, model=name).with_overrides(pairs, set(arguments))
    return replace(config, model_args={**arguments, **config.model_args})


def flatten_toml(values: dict[str, Any]) -> dict[str, Any]:
    """A config.toml's sections ([train], [prepare], [model_args]) as flat settings."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        section = value if key in ("train", "prepare", "model_args") else {key: value}
        if not isinstance(section, dict):
            raise UsageError(f"[{key}] must be a table of settings")
        for name, setting in section.items():
            if name in flat and flat[name] != setting:
                raise UsageError(
                    f"setting {name!r} is given twice, as {flat[name]!r} and {setting!r}"
                )
            flat[name] = setting
    return flat


def load_source(spec: str, columns: str = "") -> Source:
    """A data spec (registry name, file, folder, ``synthetic``) -> `Source`."""
    if spec == "synthetic":
        return make_synthetic()
    if spec in DATASETS:
        return read_path(resolve(spec))
    if not Path(spec).exists() and "/" not in spec and "." not in spec:
        raise UsageError(
            f"unknown dataset {spec!r} and no such file or folder; "
            f"known datasets: synthetic, {', '.join(DATASETS)}"
        )
    return read_path(spec, parse_columns(columns) if columns else None)


def prepare_source(source: Source, config: PrepareConfig) -> tuple[Source, DropLog]:
    """Applies filters; a source with a given split only accepts the default settings,
    since dropping rows would break the files' split and negatives."""
    if source.part is not None:
        if replace(config, dedupe=True, subsample_seed=0) != PrepareConfig():
            raise UsageError(
                f"{source.name} fixes its split: filters and implicit_threshold "
                "cannot be applied to it; filter before splitting"
            )
        log = DropLog(read=len(source.data))
        duplicates = count_duplicates(source.data)
        if duplicates:
            log.notes["duplicate (user, item) rows, kept: the files fix the split"] = duplicates
        if source.test_negatives is not None:
            test_items = source.data.item_ids[source.part == TEST]
            clash = int((source.test_negatives == test_items[:, None]).any(axis=1).sum())
            if clash:  # kept as published; the tie counts against the model
                log.notes["test rows whose negatives include the test item, kept"] = clash
        return source, log
    data, log = prepare(source.data, config)
    return replace(source, data=data), log


@dataclass
class Prepared:
    """The data side of a run: split and evaluators."""

    source: Source
    split: Split
    protocol: Protocol
    valid: Evaluator
    test: Evaluator
    log: DropLog


def prepare_run(config: RunConfig, generators: Generators) -> Prepared:
    """Loads, filters and splits the data and builds the validation and test evaluators."""
    source, log = prepare_source(load_source(config.data, config.columns), config.prepare)
    split = make_split(source, config.split or default_split(source), generators.split)
    given = split.test_negatives
    default = f"sampled:{given.shape[1]}" if given is not None else "full"
    protocol = Protocol.parse(config.protocol or default)
    valid_neg = test_neg = None
    if protocol.kind == "sampled":
        everything = SeenSet.from_interactions(split.train, split.valid, split.test)
        valid_neg = sample_distinct_negatives(
            split.valid.user_ids, protocol.n_negatives, everything, generators.eval_negatives
        )
        if given is not None and given.shape[1] == protocol.n_negatives:
            test_neg = given
        else:
            test_neg = sample_distinct_negatives(
                split.test.user_ids, protocol.n_negatives, everything, generators.eval_negatives
            )
    ks = tuple(config.ks)
    valid = Evaluator.build(split.valid, protocol, [split.train], valid_neg, ks)
    test = Evaluator.build(split.test, protocol, [split.train, split.valid], test_neg, ks)
    return Prepared(source, split, protocol, valid, test, log)


def pick_device(name: str, deterministic: bool = False) -> torch.device:
    """The run's device; ``deterministic`` makes CUDA runs repeat bit for bit (at a cost in
    speed): deterministic kernels only, no cuBLAS workspace reuse across streams, no TF32."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if deterministic and name == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return torch.device(name)


def build_model(config: RunConfig, split: Split) -> Model:
    cls = MODELS[config.model]
    try:
        return cls(split.train.n_users, split.train.n_items, **config.model_args)
    except (TypeError, ValueError) as err:
        raise UsageError(f"model {config.model!r}: {err}") from None


def pretrained_shapes(values: dict[str, Any]) -> dict[str, Any]:
    """NeuMF pre-training: ``dim`` of the GMF run and ``layers`` of the MLP run."""
    from ncf.bundle import read_config

    shapes = {}
    if values.get("gmf_run"):
        shapes["dim"] = read_config(values["gmf_run"])["args"]["dim"]
    if values.get("mlp_run"):
        shapes["layers"] = read_config(values["mlp_run"])["args"]["layers"]
    return shapes


def pretrain_neumf(model: Model, config: RunConfig, refit: bool) -> None:
    """Initialises a NeuMF from a GMF run and an MLP run (``gmf_run`` / ``mlp_run``).

    The selection phase starts from their train-only, validation-selected weights (the
    validation part stays unseen); the refit phase from their final weights, which were
    refit on train + validation like the NeuMF itself."""
    from ncf.bundle import load_parts

    if not (config.gmf_run and config.mlp_run):
        raise UsageError("NeuMF pre-training needs both gmf_run=DIR and mlp_run=DIR")
    gmf, _, _ = load_parts(config.gmf_run, selected=not refit)
    mlp, _, _ = load_parts(config.mlp_run, selected=not refit)
    if gmf.name != "gmf" or mlp.name != "mlp":
        raise UsageError(
            f"gmf_run holds {gmf.name!r} and mlp_run {mlp.name!r}; expected gmf and mlp"
        )
    try:
        load_pretrained(model, gmf, mlp)  # type: ignore[arg-type]
    except ValueError as err:
        raise UsageError(f"cannot pre-train NeuMF: {err}") from None


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
) -> RunResult:
    """Trains, selects on validation, tests once, and writes the run folder.

    ``tracker`` (MLflow) receives the parameters, every epoch's numbers, the final
    metrics and the bundle."""
    if tracker is None:
        return _train_run(config, out, resume, progress, None)
    tracker.log_params(config.to_dict())
    try:
        result = _train_run(config, out, resume, progress, tracker)
    except BaseException:
        tracker.abort()
        raise
    tracker.finish(result.metrics, out)
    return result


def _train_run(
    config: RunConfig, out: Path, resume: bool, progress: bool, tracker: MlflowTracker | None
) -> RunResult:
    from ncf.bundle import save_bundle
    from ncf.training.logs import plot_history, write_history

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps(_toml_ready(config.to_dict()))
    if resume and (out / "config.toml").exists():
        _check_same_config(out / "config.toml", text)
    (out / "config.toml").write_text(text)
    generators = Generators.from_seed(config.seed)
    prepared = prepare_run(config, generators)
    split = prepared.split
    load_s = time.perf_counter() - started

    device = pick_device(config.device, config.deterministic)
    seed_torch(config.seed)
    model = build_model(config, split).to(device)
    fit_started = time.perf_counter()
    refit = bool(config.refit and len(split.valid))
    known = split.train.concat(split.valid)  # refit data, and what recommendations exclude
    history: list[dict[str, Any]] = []
    selected = None
    if model.objective == "fit":
        model.fit(split.train.csr())
        valid = prepared.valid(model)
        history = [{"epoch": 1, **{f"valid_{k}": v for k, v in valid.items()}}]
        if tracker is not None:
            tracker("select")(history[0])
        best_epoch = epochs_run = 1
        if refit:
            model.fit(known.csr())
    else:
        history, valid, best_epoch, epochs_run = _train_gradient(
            model, config, split.train, prepared.valid, out, device, resume, progress, tracker
        )
        if refit:
            # the epoch count is chosen on validation; the final model learns from
            # train + validation for that many epochs, from the same initial weights
            selected = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            seed_torch(config.seed)
            model = build_model(config, split).to(device)
            refit_history, _, _, _ = _train_gradient(
                model, config, known, None, out, device, resume, progress, tracker, best_epoch
            )
            history += refit_history
    fit_s = time.perf_counter() - fit_started

    eval_started = time.perf_counter()
    test = prepared.test(model)
    eval_s = time.perf_counter() - eval_started

    save_bundle(out / "bundle", model.cpu(), known, selected)
    frame = write_history(history, out / "history.csv")
    if model.objective != "fit":
        selection = frame[frame["phase"] == "select"] if "phase" in frame else frame
        plot_history(
            selection, out / "plots" / "learning_curve.png", f"{config.model} on {config.data}"
        )
    metrics = {
        "model": config.model,
        "data": config.data,
        "protocol": prepared.protocol.label,
        "split": split.spec,
        "valid": valid,
        "test": test,
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        "refit": refit,
        "n_users": split.train.n_users,
        "n_items": split.train.n_items,
        "n_train": len(split.train),
        "n_valid": len(split.valid),
        "n_test": len(split.test),
        "seed": config.seed,
        "device": str(device),
        "timing": {
            "load_s": round(load_s, 3),
            "fit_s": round(fit_s, 3),
            "eval_s": round(eval_s, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
    from ncf.training.checkpoint import atomic_write

    # written last and atomically: a run folder with metrics.json is a finished run
    atomic_write(out / "metrics.json", lambda tmp: tmp.write_text(json.dumps(metrics, indent=2)))
    return RunResult(metrics, model, prepared, out)


def _train_gradient(
    model: Model,
    config: RunConfig,
    train: Interactions,
    evaluate: Evaluator | None,
    out: Path,
    device: torch.device,
    resume: bool,
    progress: bool,
    tracker: MlflowTracker | None = None,
    refit_epochs: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float], int, int]:
    """Trains on ``train`` with selection by ``evaluate``, or (``refit_epochs``) for a fixed
    number of epochs without evaluation. Returns history, best validation metrics, best
    epoch and epochs run."""
    from ncf.training.logs import TensorBoardLogger
    from ncf.training.loop import Trainer

    refit = refit_epochs is not None
    if config.model == "neumf" and (config.gmf_run or config.mlp_run):
        pretrain_neumf(model, config, refit)
    phase = "refit" if refit else "select"
    checkpoint = out / f"checkpoint-{phase}.pt"
    tensorboard = TensorBoardLogger(out / "tensorboard" / phase)
    trainer = Trainer(
        model,
        train,
        config.train,
        evaluate,
        Generators.from_seed(config.seed),
        checkpoint=checkpoint,
        callbacks=[tensorboard] + ([tracker(phase)] if tracker is not None else []),
        progress=progress,
        amp=device.type == "cuda",
        stop_at=refit_epochs,
    )
    if resume and checkpoint.exists():
        trainer.resume(checkpoint)
    history = [{"phase": phase, **row} for row in trainer.fit()]
    tensorboard.close()
    best = history[trainer.best_epoch - 1] if history and not refit else {}
    valid = {k.removeprefix("valid_"): v for k, v in best.items() if k.startswith("valid_")}
    return history, valid, trainer.best_epoch, trainer.epoch


def evaluate_run(run_dir: Path, protocol: str | None, ks: tuple[int, ...] | None) -> dict[str, Any]:
    """Re-evaluates a run's bundle on its test split, with another protocol or cut-offs."""
    import tomllib

    from ncf.bundle import load_parts

    values = flatten_toml(tomllib.loads((run_dir / "config.toml").read_text()))
    if protocol:
        values["protocol"] = protocol
    if ks:
        values["ks"] = list(ks)
    config = resolve_config(values)
    prepared = prepare_run(config, Generators.from_seed(config.seed))
    model, _, _ = load_parts(run_dir)
    return {
        "protocol": prepared.protocol.label,
        "valid": prepared.valid(model),
        "test": prepared.test(model),
    }


def _check_same_config(path: Path, text: str) -> None:
    """A run resumes only under the config that started it."""
    import tomllib

    old, new = flatten_toml(tomllib.loads(path.read_text())), flatten_toml(tomllib.loads(text))
    differ = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:5])
        raise UsageError(
            f"{path}: --resume needs the run's own config, but {shown} differ; "
            "use the same settings or another --out"
        )


def _toml_ready(values: dict[str, Any]) -> dict[str, Any]:
    """Drops None values (TOML has no null); they mean 'default' when read back."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = _toml_ready(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif value is not None:
            out[key] = value
    return out
