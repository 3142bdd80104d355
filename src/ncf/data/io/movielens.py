"""Readers for the MovieLens releases (GroupLens, Harper & Konstan 2015).

- 100K: ``u.data`` (tab: user item rating time), ``u.item`` (ISO-8859-1, 19 genre flags);
- 1M / 10M: ``ratings.dat`` and ``movies.dat`` (``::``-separated);
- 20M / 25M / 32M / latest: ``ratings.csv`` and ``movies.csv``.

    >>> source = read_ml100k(Path("data/ml-100k"))
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import from_raw
from ncf.data.io.common import (
    decode_bytes,
    id_column,
    numeric_column,
    read_csv,
    read_double_colon,
    require_columns,
)
from ncf.data.io.source import Source
from ncf.errors import DataError


def _genres_from_flags(flags: np.ndarray, names: list[str]) -> np.ndarray:
    """(n, g) 0/1 flags -> (n,) ``|``-joined genre names."""
    out = np.full(len(flags), "", dtype=object)
    for j, name in enumerate(names):  # a loop over genres, not rows
        out = out + np.where(flags[:, j] > 0, name + "|", "")
    return pd.Series(out, dtype=object).str[:-1].to_numpy(dtype=object)


def read_ml100k(folder: Path) -> Source:
    """MovieLens 100K: ``u.data`` (tab: user item rating time), ``u.item`` (ISO-8859-1)."""
    path = folder / "u.data"
    frame = read_csv(path, sep="\t", header=None, quoting=csv.QUOTE_NONE)
    _require_fields(frame, 4, path, "tab")
    frame.columns = ["user", "item", "rating", "time"]
    users = id_column(frame, "user", "user", path, 1)
    items = id_column(frame, "item", "item", path, 1)
    meta = None
    item_path = folder / "u.item"
    if item_path.exists():
        text = decode_bytes(item_path, "latin-1")
        names = [f"g{j}" for j in range(19)]
        genre_path = folder / "u.genre"
        if genre_path.exists():
            genre_frame = pd.read_csv(genre_path, sep="|", header=None, encoding="latin-1")
            names = [str(name) for name in genre_frame[0].tolist()][:19]
        table = read_csv(io.StringIO(text), item_path, sep="|", header=None, quoting=csv.QUOTE_NONE)
        _require_fields(table, 24, item_path, "'|'")
        flags = np.column_stack(
            [numeric_column(table.fillna({c: 0}), c, item_path, 1) for c in range(5, 24)]
        )
        meta = pd.DataFrame(
            {"title": table[1].astype(str).to_numpy(), "genres": _genres_from_flags(flags, names)},
            index=id_column(table, 0, "item", item_path, 1),
        )
    data = from_raw(
        users,
        items,
        ratings=numeric_column(frame, "rating", path, 1),
        times=numeric_column(frame, "time", path, 1, integer=True),
        items_frame=meta,
    )
    return Source(data, name=str(folder))


def _require_fields(frame: pd.DataFrame, n: int, path: Path, separator: str) -> None:
    if frame.shape[1] != n:
        raise DataError(
            f"expected {n} {separator}-separated fields per line, found {frame.shape[1]}; "
            "is the delimiter right?",
            path,
            1,
        )


def _metadata(frame: pd.DataFrame, column: object, path: Path, first_line: int) -> pd.DataFrame:
    """``title`` and ``genres`` indexed by raw item id; a repeated id keeps its first row."""
    ids = id_column(frame, column, "item", path, first_line)
    meta = pd.DataFrame(
        {"title": frame["title"].astype(str).to_numpy(), "genres": frame["genres"].to_numpy()},
        index=ids,
    )
    return meta[~meta.index.duplicated()]


def movies_dat(path: Path, encoding: str) -> pd.DataFrame:
    movies = read_double_colon(path, None, encoding)
    _require_fields(movies, 3, path, "'::'")
    movies.columns = ["item", "title", "genres"]
    return _metadata(movies, "item", path, 1)


def read_ml_dat(folder: Path) -> Source:
    """MovieLens 1M / 10M: ``ratings.dat`` (``user::item::rating::time``), ``movies.dat``.

    Also reads the ``interactions.tsv`` layout (``user_id movie_id seq_pos rating
    timestamp``) where ratings and timestamps may be missing: rows are ordered by
    ``seq_pos`` and, when any rating or timestamp is missing, that column is dropped.
    """
    encoding = "utf-8"
    if (folder / "ratings.dat").exists():
        path = folder / "ratings.dat"
        frame = read_double_colon(path, None, encoding)
        _require_fields(frame, 4, path, "'::'")
        frame.columns = ["user", "item", "rating", "time"]
        ratings = numeric_column(frame, "rating", path, 1)
        times: np.ndarray | None = numeric_column(frame, "time", path, 1, integer=True)
        order = None
    elif (folder / "interactions.tsv").exists():
        path = folder / "interactions.tsv"
        frame = read_csv(path, sep="\t", quoting=csv.QUOTE_NONE)
        require_columns(frame, ["user_id", "movie_id", "seq_pos", "rating", "timestamp"], path)
        frame = frame.rename(columns={"user_id": "user", "movie_id": "item", "timestamp": "time"})
        # checked in file order (so errors name the right line), then put in sequence order
        seq = numeric_column(frame, "seq_pos", path, 2, integer=True)
        frame["user"] = id_column(frame, "user", "user", path, 2)
        frame["item"] = id_column(frame, "item", "item", path, 2)
        ratings = times = None
        if frame["rating"].notna().all():  # partly missing columns are dropped, not guessed
            ratings = numeric_column(frame, "rating", path, 2)
        if frame["time"].notna().all():
            times = numeric_column(frame, "time", path, 2, integer=True)
        by_user = frame[["user"]].assign(seq=seq).sort_values(["user", "seq"], kind="stable")
        sequence = by_user.index.to_numpy()
        frame = frame.iloc[sequence].reset_index(drop=True)
        ratings = None if ratings is None else ratings[sequence]
        times = None if times is None else times[sequence]
        order = np.arange(len(frame), dtype=np.int64)
    else:
        raise DataError("no ratings.dat or interactions.tsv", folder)
    first_line = 1 if path.name == "ratings.dat" else 2
    users = id_column(frame, "user", "user", path, first_line)
    items = id_column(frame, "item", "item", path, first_line)
    meta = None
    if (folder / "movies.dat").exists():
        meta = movies_dat(folder / "movies.dat", "utf-8")
    data = from_raw(users, items, ratings=ratings, times=times, items_frame=meta)
    if order is not None:
        data = replace(data, order=order)
    return Source(data, name=str(folder))


def read_ml_csv(folder: Path) -> Source:
    """MovieLens 20M / 25M / 32M / latest: ``ratings.csv`` and ``movies.csv``."""
    path = folder / "ratings.csv"
    frame = read_csv(path)
    require_columns(frame, ["userId", "movieId", "rating", "timestamp"], path)
    meta = None
    if (folder / "movies.csv").exists():
        movies_path = folder / "movies.csv"
        movies = read_csv(movies_path, encoding="utf-8")
        require_columns(movies, ["movieId", "title", "genres"], movies_path)
        meta = _metadata(movies, "movieId", movies_path, 2)
    data = from_raw(
        id_column(frame, "userId", "user", path, 2),
        id_column(frame, "movieId", "item", path, 2),
        ratings=numeric_column(frame, "rating", path, 2),
        times=numeric_column(frame, "timestamp", path, 2, integer=True),
        items_frame=meta,
    )
    return Source(data, name=str(folder))
