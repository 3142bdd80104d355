"""The run folder's bookkeeping: its ``config.toml``, and what may be written into it.

A folder holding ``metrics.json`` is a finished run and is never replaced silently:
training into it needs ``overwrite``; a folder holding checkpoints of an unfinished run
is continued with ``resume`` or replaced with ``overwrite``.

``config.toml`` holds the settings as given (``ncf train --config`` reruns them) and a
``[resolved]`` table of what they became on this machine and data (split, protocol,
device, threads), which is informational and ignored when the file is read back.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ncf.errors import UsageError
from ncf.experiment.config import RunConfig
from ncf.experiment.settings import used_train_settings

SECTIONS = ("train", "prepare", "model_args")
RESOLVED = "resolved"
#: what a run writes; ``overwrite`` removes these and nothing else
RUN_FILES = ("metrics.json", "history.csv", "config.toml", "bundle", "plots", "tensorboard")


def toml_ready(values: dict[str, Any]) -> dict[str, Any]:
    """Drops None values (TOML has no null); they mean 'default' when read back."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = toml_ready(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif value is not None:
            out[key] = value
    return out


def flatten_toml(values: dict[str, Any]) -> dict[str, Any]:
    """A config.toml's sections ([train], [prepare], [model_args]) as flat settings; the
    informational [resolved] table is skipped."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key == RESOLVED:
            continue
        section = value if key in SECTIONS else {key: value}
        if not isinstance(section, dict):
            raise UsageError(f"[{key}] must be a table of settings")
        for name, setting in section.items():
            if name in flat and flat[name] != setting:
                raise UsageError(
                    f"setting {name!r} is given twice, as {flat[name]!r} and {setting!r}"
                )
            flat[name] = setting
    return flat


def config_values(config: RunConfig) -> dict[str, Any]:
    """``config.to_dict()`` with only the training settings its model uses (a closed-form
    model's: its monitor)."""
    values = config.to_dict()
    used = used_train_settings(config.model)
    if used is not None:
        values["train"] = {k: v for k, v in values["train"].items() if k in used}
    return values


def config_text(config: RunConfig, resolved: dict[str, Any] | None = None) -> str:
    """The config.toml of ``config`` (and of the values the run ``resolved``)."""
    values = toml_ready(config_values(config))
    if resolved:
        values[RESOLVED] = toml_ready(resolved)
    return tomli_w.dumps(values)


def config_differences(old: dict[str, Any], new: dict[str, Any], shown: int = 5) -> str:
    """The settings two parsed config.toml files disagree on, as ``key: old -> new``; a
    setting the old one does not name (one added to ``ncf`` since) is taken at its
    default. Empty when they agree."""
    old, new = flatten_toml(old), flatten_toml(new)
    defaults = flatten_toml(tomllib.loads(config_text(RunConfig())))
    differ = sorted(k for k in old.keys() | new.keys() if old.get(k, defaults.get(k)) != new.get(k))
    return ", ".join(
        f"{k}: {old.get(k, defaults.get(k))!r} -> {new.get(k)!r}" for k in differ[:shown]
    )


def check_same_config(path: Path, text: str) -> None:
    """A run resumes only under the config that started it."""
    shown = config_differences(tomllib.loads(path.read_text()), tomllib.loads(text))
    if shown:
        raise UsageError(
            f"{path}: --resume needs the run's own config, but {shown} differ; "
            "use the same settings or another --out"
        )


def _checkpoints(out: Path) -> list[Path]:
    return sorted(out.glob("checkpoint-*.pt"))


def remove_checkpoints(out: Path) -> None:
    """Removes the resumable checkpoints of ``out`` (a finished run needs none)."""
    for path in _checkpoints(out):
        path.unlink(missing_ok=True)


def is_finished(out: Path) -> bool:
    return (out / "metrics.json").exists()


def check_folder(out: Path, config_toml: str, resume: bool, overwrite: bool) -> None:
    """Checks what ``out`` holds against ``resume`` / ``overwrite``, changing nothing.

    Raises:
        UsageError: a finished run without ``overwrite``; an unfinished one without
            ``resume`` or ``overwrite``; ``resume`` with no checkpoint, on a finished run
            or with a different config.
    """
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if resume:
        if (out / "config.toml").exists():
            check_same_config(out / "config.toml", config_toml)
        if is_finished(out):
            raise UsageError(
                f"{out}: the run is finished (metrics.json), nothing to resume; "
                "--overwrite trains it again"
            )
        if not _checkpoints(out):
            raise UsageError(
                f"{out}: no checkpoint to resume from; run the command without --resume"
            )
    elif not overwrite and is_finished(out):
        raise UsageError(
            f"{out} holds a finished run; add --overwrite to replace it, or leave out --out "
            "for a fresh numbered folder"
        )
    elif not overwrite and _checkpoints(out):
        raise UsageError(
            f"{out} holds an unfinished run; add --resume to continue it or --overwrite to "
            "start again"
        )


def prepare_folder(out: Path, config_toml: str, resume: bool, overwrite: bool) -> None:
    """`check_folder`, then, with ``overwrite``, removes the run there. A run calls it
    once its inputs are checked, so bad input leaves the old run (and nothing new)."""
    check_folder(out, config_toml, resume, overwrite)
    if overwrite:
        clear_run(out)


def clear_run(out: Path) -> None:
    """Removes a run's own files from ``out`` (nothing else that may live there)."""
    for name in RUN_FILES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for path in _checkpoints(out):
        path.unlink()


def run_name(config: RunConfig) -> str:
    """``MODEL-DATA``, the data's file or folder name with dots as underscores."""
    name = Path(str(config.data)).name.replace(".", "_") or "data"
    return f"{config.model}-{name}"


def default_run_folder(config: RunConfig, resume: bool = False, overwrite: bool = False) -> Path:
    """``runs/MODEL-DATA``; when that holds a finished run, the first of ``-2``, ``-3`` ...
    that does not (with ``resume``, the last one that exists; with ``overwrite``, the
    plain name)."""
    return numbered_folder(Path("runs") / run_name(config), resume, overwrite)


def numbered_folder(base: Path, resume: bool = False, overwrite: bool = False) -> Path:
    """``base``, or when that holds a finished run the first of ``base-2``, ``base-3`` ...
    that does not (as `default_run_folder`)."""
    if overwrite:
        return base
    candidates = [base]
    while is_finished(candidates[-1]) or (resume and candidates[-1].exists()):
        candidates.append(base.with_name(f"{base.name}-{len(candidates) + 1}"))
    if resume:
        return candidates[-2] if len(candidates) > 1 else base
    return candidates[-1]
