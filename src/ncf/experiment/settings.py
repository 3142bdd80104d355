"""A run's settings: flat ``key -> value`` pairs (a TOML file, command-line flags, ``--set``,
keyword arguments of `ncf.fit`) resolved into a `RunConfig` over the model's own defaults
and those of its training regime (`resolve_config`).

    >>> config = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 5})
    >>> config.train.epochs, config.model_args["dim"]
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ncf.data.io.metadata import is_column_name
from ncf.data.splits import parse_split
from ncf.errors import UsageError
from ncf.experiment.config import RunConfig, with_start_from
from ncf.experiment.pretrained import load_runs
from ncf.models import MODELS
from ncf.models.base import ClosedForm
from ncf.training.config import TrainConfig
from ncf.training.regimes import REGIMES


def model_defaults(name: str) -> dict[str, Any]:
    """Constructor arguments of a registered model with their default values."""
    if name not in MODELS:
        close = [name.lower()] if name.lower() in MODELS else []
        close = close or difflib.get_close_matches(name.lower(), MODELS, n=2)
        hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(MODELS)}"
        raise UsageError(f"unknown model {name!r}; {hint}")
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
    values = with_start_from(values)
    name = str(values.get("model", base.model))
    defaults = regime_defaults(name, values) if name in MODELS else {}
    cls = MODELS.get(name)
    given = values.get("start_from") or {}
    runs = {role: given[role] for role in (cls.starts_from if cls else ()) if role in given}
    if cls is not None and runs:
        defaults.update(cls.shapes_from_runs(load_runs(runs, selected=True)))
        defaults.update(cls.pretrained_defaults)
    pairs = {**defaults, **values}
    if "monitor" not in values:  # a default monitor follows the cut-offs asked for
        pairs["monitor"] = monitor_at(pairs.get("monitor", base.train.monitor), pairs, base)
    arguments = model_defaults(name)
    used = used_train_settings(name)
    config = replace(base, model=name).with_overrides(pairs, set(arguments), used)
    config = replace(config, model_args={**arguments, **config.model_args})
    check_model_args(name, config.model_args, arguments)
    if config.split:  # refused now, before any data is read
        parse_split(config.split)
    # the run's config.toml must find its files from anywhere
    starts = {role: _absolute(path) for role, path in config.start_from.items()}
    config = replace(config, start_from=starts, item_table=_absolute(config.item_table))
    if not is_column_name(config.item_features):  # else a metadata column (genres)
        config = replace(config, item_features=_absolute(config.item_features))
    return config


def used_train_settings(name: str) -> set[str] | None:
    """The training settings model ``name`` uses: a closed-form model's few (its
    ``train_settings``), None for every other (all of them)."""
    cls = MODELS.get(name)
    if cls is None or not issubclass(cls, ClosedForm):
        return None
    return set(cls.train_settings)


def applicable(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the training settings model ``name`` does not use (a closed-form
    model's epochs, learning rate ...): settings given to every model of a comparison."""
    used = used_train_settings(name)
    if used is None:
        return dict(values)
    unused = {f.name for f in fields(TrainConfig)} - used
    return {key: value for key, value in values.items() if key not in unused}


def check_model_args(name: str, given: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Each model argument has its default's kind (a whole number, a number or numbers per
    layer, true / false or text): ``--set dim=abc`` is refused before any data is read."""
    kinds = ((bool, "true or false"), (int, "a whole number"), (float, "a number"), (str, "text"))

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    for key, value in given.items():
        default = defaults.get(key)
        check_size(name, key, value)
        for kind, what in kinds:
            if isinstance(default, kind):
                fits = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
                if kind is float:  # a whole number, or one per layer (dropout=0.5,0.3)
                    many = isinstance(value, list | tuple) and all(map(number, value))
                    fits = number(value) or many
                if not fits:
                    raise UsageError(f"model {name!r}: {key} must be {what}, got {value!r}")
                break


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
    if issubclass(cls, ClosedForm):
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


def check_size(model: str, key: str, value: Any) -> None:
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
