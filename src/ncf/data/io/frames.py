"""Interactions already in memory: a pandas or polars DataFrame, a pyarrow Table, an
`Interactions`, or the parts of a split the user made (``{"train": df, "valid": df,
"test": df}``), read as the table readers read files (`ncf.data.io.tables`).

Columns are found by name as in a file (``user_id``, ``movieId``, ``rating``,
``timestamp`` ...), or given as ``{"user": "uid", "item": "book_id", "rating": "stars",
"time": "ts"}``; a frame whose column names are all positions (``pd.read_csv(...,
header=None)``) is read as user, item[, rating[, time]]. Ids keep the type they were
given in: strings stay strings, categorical columns give their values.

    >>> source = in_memory_source(pd.read_csv("ratings.csv"))
    >>> source = in_memory_source({"train": train_df, "test": test_df}, {"user": "uid"})
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, from_raw
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.data.io.tables import frame_columns, map_columns
from ncf.errors import DataError, UsageError

PARTS = {"train": TRAIN, "valid": VALID, "test": TEST}


def is_in_memory(data: object) -> bool:
    """Whether ``data`` is interactions in memory (else a data spec: a path or a name)."""
    return not isinstance(data, (str, Path))


def in_memory_source(data: Any, columns: Mapping[str, str] | None = None) -> Source:
    """A `Source` of interactions held in memory.

    Args:
        data: a pandas or polars DataFrame, a pyarrow Table, an `Interactions`, or a
            mapping of ``train`` and ``test`` (and optionally ``valid``) to any of the
            frames: a split fixed by the caller (``split="given"``).
        columns: role (``user``, ``item``, ``rating``, ``time``) -> column name.

    Raises:
        DataError: no user or item column, an empty frame, a missing id, a bad value.
        UsageError: a type that holds no interactions, or a mapping with other keys.
    """
    if isinstance(data, Interactions):
        if columns:
            raise UsageError("columns apply to tables; an Interactions has its own")
        return Source(data, name="Interactions")
    if isinstance(data, Mapping):
        return _given_parts(data, columns)
    frame, name = as_pandas(data)
    users, items, ratings, times = _columns(frame, columns, name)
    data = from_raw(users, items, ratings=ratings, times=times)
    return Source(data, name=name, ordered=times is not None)


def as_pandas(data: Any) -> tuple[pd.DataFrame, str]:
    """A pandas DataFrame of ``data`` and what it was, for messages and labels."""
    if isinstance(data, pd.DataFrame):
        return data, "pandas.DataFrame"
    module = type(data).__module__.split(".")[0]
    if module in ("polars", "pyarrow") and hasattr(data, "to_pandas"):
        kind = "polars.DataFrame" if module == "polars" else "pyarrow.Table"
        return data.to_pandas(), kind
    raise UsageError(
        f"data must be a DataFrame (pandas or polars), a pyarrow Table, an Interactions, a "
        f"mapping of split parts, or a path or dataset name; got {type(data).__name__}"
    )


def _columns(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if not len(frame):
        raise DataError("no rows", name)
    label = Path(name)
    frame = frame.reset_index(drop=True)
    positional = all(isinstance(c, (int, np.integer)) for c in frame.columns)
    if positional:  # read without a header: user, item[, rating[, time]] by position
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    given = {role: str(column) for role, column in (columns or {}).items()}
    found = map_columns(frame, given, label, header=not positional)
    # rows count from 1 as in a file, with the first row on "line" 1
    return frame_columns(frame, found, label, first_line=1, keep_text=True)


def _given_parts(parts: Mapping[str, Any], columns: Mapping[str, str] | None) -> Source:
    unknown = set(parts) - set(PARTS)
    if unknown or not {"train", "test"} <= set(parts):
        raise UsageError(
            f"a split given as a mapping has the parts train, test and optionally valid; "
            f"got {sorted(map(str, parts))}"
        )
    read = []
    for key in ("train", "valid", "test"):
        if key in parts:
            frame, kind = as_pandas(parts[key])
            if len(frame) or key != "valid":
                read.append((PARTS[key], _columns(frame, columns, f"{kind} ({key})")))
    users = np.concatenate([_comparable(c[0]) for _, c in read])
    items = np.concatenate([_comparable(c[1]) for _, c in read])
    ratings = _joined([c[2] for _, c in read], "ratings")
    times = _joined([c[3] for _, c in read], "times")
    part = np.concatenate([np.full(len(c[0]), p, np.int8) for p, c in read])
    data = from_raw(users, items, ratings=ratings, times=times)
    return Source(data, name="given parts (train / valid / test)", part=part)


def _comparable(ids: np.ndarray) -> np.ndarray:
    """Ids as one type across parts: numbers stay numbers, text stays text."""
    return ids.astype(object) if ids.dtype.kind == "O" else ids


def _joined(columns: list[np.ndarray | None], what: str) -> np.ndarray | None:
    if all(c is None for c in columns):
        return None
    if any(c is None for c in columns):
        raise DataError(f"some parts have {what} and others not", "given parts")
    return np.concatenate(columns)  # type: ignore[arg-type]
