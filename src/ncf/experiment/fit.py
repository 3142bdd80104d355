"""``ncf`` from Python: `fit` trains any model on a DataFrame (or anything ``--data``
takes) and returns a `Run`; the same run as ``ncf train``: the same split, selection on
validation, refit, one test and the same labelled metrics.

    >>> import ncf, pandas as pd
    >>> ratings = pd.read_csv("ratings.csv")                 # user_id, book_id, rating
    >>> run = ncf.fit(ratings, model="gmf", epochs=5, seed=0)
    >>> run.metrics["test"]["hr@10"], run.history.tail(1)
    >>> run.recommend(["42"], k=10)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rich import get_console

from ncf.data.io.frames import in_memory_source, is_in_memory
from ncf.data.io.source import Source
from ncf.experiment.pipeline import train_run
from ncf.experiment.run import Run
from ncf.experiment.settings import resolve_config
from ncf.training.tracking import MlflowTracker

log = logging.getLogger("ncf")


def fit(
    data: Any,
    model: str = "neumf",
    *,
    columns: Mapping[str, str] | None = None,
    split: str | None = None,
    protocol: str | None = None,
    k: int | Iterable[int] | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool | None = None,
    mlflow: str | bool = False,
    **settings: Any,
) -> Run:
    """Trains ``model`` on ``data``, selects its epochs on validation, refits on train +
    validation and tests it once: ``ncf train`` from Python.

    Args:
        data: a pandas or polars DataFrame, a pyarrow Table, an `ncf.Interactions`, a
            mapping ``{"train": df, "valid": df, "test": df}`` of a split made by hand
            (``valid`` optional), or what ``ncf train --data`` takes (a file, a folder, a
            registry name such as ``"ml-100k"``).
        model: a registered model name (``ncf.MODELS``).
        columns: role -> column name (``{"user": "uid", "item": "book_id", "rating":
            "stars", "time": "ts"}``) where the names are not the usual ones.
        split: split spec (``loo``, ``time:0.8,0.9``, ``user-ratio:0.8,0.1,0.1``,
            ``given`` ...; default: the data's own split, else ``loo``).
        protocol: ``full``, ``sampled:N`` or ``rating`` (default: the model's, else
            ``full``; ``sampled:N`` for data with given test negatives);
            ``full:train-history`` scores the test from the training part alone.
        k: the cut-off, or several (``[10, 20]``), of the ranking metrics.
        seed: seeds the split, the negatives, the weights and the batch order.
        out: a run folder to write, exactly as ``ncf train --out`` does; None (the
            default) writes nothing.
        progress: progress bars and one line per epoch (None: on in a terminal or a
            notebook); the lines also go to the ``ncf`` logger at INFO.
        mlflow: also log the run to MLflow (True: the local store ``./mlruns``; or a
            tracking URI or folder); needs the ``track`` extra.
        **settings: any setting ``ncf train --set`` takes (``epochs=3``, ``dim=32``,
            ``lr=1e-3``, ``item_features="vectors.csv"`` ...), checked the same way.

    Returns:
        The run with its metrics, history, model and recommendations.

    Raises:
        UsageError: an unknown model or setting, a bad value (a `ValueError`, with the
            message ``ncf train`` prints).
        DataError: bad data: an empty frame, a missing column, a missing id.

    Examples:
        >>> ratings = pd.read_csv("ratings.csv")              # user_id, item_id, rating, ...
        >>> run = ncf.fit(ratings, model="gmf", epochs=5, seed=0, dim=32)
        >>> run.metrics["test"]                               # {"hr@10": ..., "ndcg@10": ...}
        >>> ncf.fit("ml-100k", model="ease", protocol="full", k=[10, 20], out="runs/ease")
        >>> ncf.fit({"train": train_df, "test": test_df}, model="bpr-mf")  # a split by hand
    """
    source, values = data_settings(data, columns)
    values |= {"model": model, **split_settings(split, protocol, k, seed), **settings}
    return fit_config(values, source, out, progress, mlflow)


def fit_config(
    values: dict[str, Any],
    source: Source | None,
    out: str | Path | None = None,
    progress: bool | None = None,
    mlflow: str | bool = False,
) -> Run:
    """`fit` of flat settings (``model``, ``data`` and any ``--set`` key), on ``source``
    when the data is already read."""
    config = resolve_config(values)
    shown = show_progress(progress)
    folder = None if out is None else Path(out)
    tracker = None
    if mlflow:
        name = folder.name if folder is not None else f"{config.model}-python"
        tracker = MlflowTracker("mlruns" if mlflow is True else str(mlflow), "ncf", name)
    result = train_run(
        config, folder, progress=shown, tracker=tracker, echo=echo_for(shown), source=source
    )
    return Run(result, config)


def split_settings(
    split: str | None, protocol: str | None, k: int | Iterable[int] | None, seed: int
) -> dict[str, Any]:
    """The settings of `fit`'s split, protocol, cut-offs and seed (those given)."""
    values: dict[str, Any] = {"seed": seed}
    values |= {key: v for key, v in (("split", split), ("protocol", protocol)) if v}
    if k is not None:
        values["ks"] = [k] if isinstance(k, int) else list(k)
    return values


def data_settings(
    data: Any, columns: Mapping[str, str] | None
) -> tuple[Source | None, dict[str, Any]]:
    """The data already read (None for a spec) and the settings naming it (``data``, and
    ``columns`` as ``--columns`` text for a spec)."""
    if isinstance(data, Source):
        return data, {"data": data.name}
    if is_in_memory(data):
        source = in_memory_source(data, columns)
        return source, {"data": source.name}
    values: dict[str, Any] = {"data": str(data)}
    if columns:
        values["columns"] = ",".join(f"{role}:{name}" for role, name in columns.items())
    return None, values


def show_progress(progress: bool | None) -> bool:
    """``progress``, or where None whether there is someone to show it to: a terminal or
    a notebook (not a file or a pipe)."""
    if progress is not None:
        return bool(progress)
    console = get_console()
    return bool(console.is_terminal or console.is_jupyter)


def echo_for(shown: bool) -> Callable[[str], None]:
    """One line per epoch and event: to the ``ncf`` logger at INFO, and printed when
    ``shown``."""

    def echo(line: str) -> None:
        log.info(line)
        if shown:
            get_console().print(line, markup=False, highlight=False, soft_wrap=True)

    return echo
