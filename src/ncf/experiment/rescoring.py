"""Scoring a finished run again: another protocol or cut-offs, per-query metrics.

Validation is scored with the model that was selected on it (trained on the training part
only), never with the final model refit on train + validation.

    >>> evaluate_run(Path("runs/gmf-ml-100k"), protocol="sampled:99", ks=(10, 20))["test"]
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf.data.splits import Split
from ncf.evaluation.protocols import Evaluator, RatingEvaluator
from ncf.experiment.config import RunConfig
from ncf.experiment.preparation import Prepared, prepare_run
from ncf.experiment.run_folder import flatten_toml
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import fitted_on_train
from ncf.models import Model
from ncf.models.base import ClosedForm
from ncf.random import Generators
from ncf.runtime.device import use_threads


def evaluate_run(
    run_dir: Path,
    protocol: str | None = None,
    ks: tuple[int, ...] | None = None,
    threads: int | None = None,
    per_query: bool = False,
) -> dict[str, Any]:
    """Re-evaluates a run on its split, with another protocol or cut-offs.

    The test part is scored with the run's final model. The validation part is scored
    with the model that was selected on it, trained on the training part only: the
    bundle's ``selected`` weights, or for closed-form models a fit on the training part.
    A model refit on train + validation is never scored on validation (it saw it).

    Returns:
        ``protocol``, ``valid`` and ``test`` metrics, ``valid_model`` (which model scored
        validation), ``valid_note`` (why validation is missing, if it is) and, with
        ``per_query``, a frame of each query's metrics (``part``, ``user``, [``item``]).
    """
    from ncf.inference.bundle import load_parts

    use_threads(threads or 0)
    values = flatten_toml(tomllib.loads((run_dir / "config.toml").read_text()))
    if protocol:
        values["protocol"] = protocol
    if ks:
        values["ks"] = list(ks)
    if protocol or ks:  # the monitor only chose epochs: keep it among the metrics scored
        first_k = (values.get("ks") or [10])[0]
        values["monitor"] = "rmse" if values.get("protocol") == "rating" else f"ndcg@{first_k}"
    config = resolve_config(values)
    prepared = prepare_run(config, Generators.from_seed(config.seed))
    model, _, _ = load_parts(run_dir)
    valid_model, note = _validation_model(run_dir, config, prepared, model)
    result: dict[str, Any] = {
        "protocol": prepared.protocol.label,
        "valid": prepared.valid(valid_model) if valid_model is not None else {},
        "test": prepared.test(model),
        "valid_model": "valid, train-only model" if valid_model is not model else "valid",
        "valid_note": note,
    }
    if per_query:
        parts = [("test", prepared.test, model)]
        if valid_model is not None:
            parts.insert(0, ("valid", prepared.valid, valid_model))
        result["per_query"] = _per_query_frame(parts, prepared.split)
    return result


def _validation_model(
    run_dir: Path, config: RunConfig, prepared: Prepared, final: Model
) -> tuple[Model | None, str]:
    """The model to score validation with, or None and the reason."""
    from ncf.inference.bundle import bundle_folder, load_parts

    metrics_path = run_dir / "metrics.json"
    refit = (
        json.loads(metrics_path.read_text()).get("refit", True) if metrics_path.exists() else True
    )
    if not refit:  # (prepare_run refuses a split without validation rows)
        return final, ""
    if (bundle_folder(run_dir) / "selected.safetensors").exists():
        return load_parts(run_dir, selected=True)[0], ""
    if isinstance(final, ClosedForm):  # refit on train alone: cheap, and exact
        return fitted_on_train(config, prepared), ""
    return None, (
        "validation is not scored: the final model was refit on train + validation and "
        "the bundle holds no train-only weights"
    )


def _per_query_frame(
    parts: list[tuple[str, Evaluator | RatingEvaluator, Model]], split: Split
) -> Any:
    frames = []
    for name, evaluator, model in parts:
        values = evaluator.per_query(model)
        frame = pd.DataFrame({"part": name, "user": split.train.user_vocab.raw(evaluator.users)})
        if evaluator.protocol.kind in ("sampled", "rating"):  # one row per held-out item
            frame["item"] = split.train.item_vocab.raw(evaluator.relevant[:, 0])
        for metric, per in values.items():
            frame[metric] = np.asarray(per, dtype=np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
