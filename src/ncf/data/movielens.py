"""Readers for the MovieLens releases (GroupLens, Harper & Konstan 2015).

- 100K: ``u.data`` (tab: user item rating time), ``u.item`` (ISO-8859-1, 19 genre flags);
- 1M / 10M: ``ratings.dat`` and ``movies.dat`` (``::``-separated);
- 20M / 25M / 32M / latest: ``ratings.csv`` and ``movies.csv``.

    >>> source = read_ml100k(Path("data/ml-100k"))
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.formats import Source, _decode_bytes, _numeric, _read_csv, _read_double_colon
from ncf.data.interactions import from_raw
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
    frame = _read_csv(path, sep="\t", header=None, names=["user", "item", "rating", "time"])
    users = _numeric(frame, "user", path, 1, integer=True)
    items = _numeric(frame, "item", path, 1, integer=True)
    meta = None
    item_path = folder / "u.item"
    if item_path.exists():
        text = _decode_bytes(item_path, "latin-1")
        names = [f"g{j}" for j in range(19)]
        genre_path = folder / "u.genre"
        if genre_path.exists():
            genre_frame = pd.read_csv(genre_path, sep="|", header=None, encoding="latin-1")
            names = [str(name) for name in genre_frame[0].tolist()][:19]
        table = _read_csv(io.StringIO(text), sep="|", header=None)  # type: ignore[arg-type]
        flags = table.iloc[:, 5:24].to_numpy()
        meta = pd.DataFrame(
            {"title": table[1].astype(str).to_numpy(), "genres": _genres_from_flags(flags, names)},
            index=table[0].to_numpy(),
        )
    data = from_raw(
        users,
        items,
        ratings=_numeric(frame, "rating", path, 1),
        times=_numeric(frame, "time", path, 1, integer=True),
        items_frame=meta,
    )
    return Source(data, name=str(folder))


def _movies_dat(path: Path, encoding: str) -> pd.DataFrame:
    movies = _read_double_colon(path, ["item", "title", "genres"], encoding)
    return movies.set_index("item")[["title", "genres"]]


def read_ml_dat(folder: Path) -> Source:
    """MovieLens 1M / 10M: ``ratings.dat`` (``user::item::rating::time``), ``movies.dat``.

    Also reads the ``interactions.tsv`` layout (``user_id movie_id seq_pos rating
    timestamp``) where ratings and timestamps may be missing: rows are ordered by
    ``seq_pos`` and, when any rating or timestamp is missing, that column is dropped.
    """
    encoding = "utf-8"
    if (folder / "ratings.dat").exists():
        path = folder / "ratings.dat"
        frame = _read_double_colon(path, ["user", "item", "rating", "time"], encoding)
        ratings = _numeric(frame, "rating", path, 1)
        times: np.ndarray | None = _numeric(frame, "time", path, 1, integer=True)
        order = None
    elif (folder / "interactions.tsv").exists():
        path = folder / "interactions.tsv"
        frame = _read_csv(path, sep="\t")
        frame = frame.rename(columns={"user_id": "user", "movie_id": "item", "timestamp": "time"})
        frame = frame.sort_values(["user", "seq_pos"], kind="stable").reset_index(drop=True)
        ratings = None if frame["rating"].isna().any() else frame["rating"].to_numpy(np.float32)
        times = None if frame["time"].isna().any() else frame["time"].to_numpy(np.int64)
        order = np.arange(len(frame), dtype=np.int64)
    else:
        raise DataError("no ratings.dat or interactions.tsv", folder)
    users = _numeric(frame, "user", path, 1, integer=True)
    items = _numeric(frame, "item", path, 1, integer=True)
    meta = None
    if (folder / "movies.dat").exists():
        meta = _movies_dat(folder / "movies.dat", "utf-8")
    data = from_raw(users, items, ratings=ratings, times=times, items_frame=meta)
    if order is not None:
        data = replace(data, order=order)
    return Source(data, name=str(folder))


def read_ml_csv(folder: Path) -> Source:
    """MovieLens 20M / 25M / 32M / latest: ``ratings.csv`` and ``movies.csv``."""
    path = folder / "ratings.csv"
    frame = _read_csv(path)
    meta = None
    if (folder / "movies.csv").exists():
        movies = _read_csv(folder / "movies.csv", encoding="utf-8")
        meta = movies.set_index("movieId")[["title", "genres"]]
    data = from_raw(
        _numeric(frame, "userId", path, 2, integer=True),
        _numeric(frame, "movieId", path, 2, integer=True),
        ratings=_numeric(frame, "rating", path, 2),
        times=_numeric(frame, "timestamp", path, 2, integer=True),
        items_frame=meta,
    )
    return Source(data, name=str(folder))
