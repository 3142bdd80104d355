"""RecBole atomic files (Zhao et al. 2021): tab-separated ``NAME.inter`` with typed headers
(``user_id:token  item_id:token  rating:float  timestamp:float``), optional ``NAME.item``
metadata (``item_id:token  movie_title:token_seq  release_year:token  class:token_seq``),
and the benchmark splits ``NAME.train.inter`` / ``NAME.valid.inter`` / ``NAME.test.inter``.

    >>> source = read_recbole(Path("dataset/ml-100k"))   # ml-100k.inter + ml-100k.item
    >>> source.data.items.loc[0, "title"]                 # 'Toy Story (1995)'
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import from_raw
from ncf.data.io.common import COLUMN_GUESSES, id_column, read_csv
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.data.io.tables import frame_columns, map_columns
from ncf.errors import DataError

TYPES = ("token", "token_seq", "float", "float_seq")
SPLIT_SUFFIXES = ((TRAIN, ".train.inter"), (VALID, ".valid.inter"), (TEST, ".test.inter"))
_TITLE = ("movie_title", "title", "name", "item_name", "book_title", "track_name")
_GENRES = ("class", "genre", "genres", "categories", "category")
_YEAR = ("release_year", "year")


def is_recbole_folder(folder: Path) -> bool:
    return any(folder.glob("*.inter"))


def _pick(folder: Path, names: list[str], what: str) -> str:
    """The dataset name to read: the folder's own name, else the only one."""
    if folder.name in names:
        return folder.name
    if len(names) == 1:
        return names[0]
    raise DataError(
        f"several RecBole datasets ({', '.join(sorted(names))}) and none named like the "
        f"folder; give the path of one {what} file",
        folder,
    )


def _layout(folder: Path) -> tuple[str, list[tuple[int, Path]]]:
    """The dataset name and its (part, file) list: the benchmark split files when there are
    ``NAME.train.inter`` and ``NAME.test.inter``, else ``NAME.inter`` (part TRAIN)."""
    split_names = [
        p.name.removesuffix(".train.inter")
        for p in folder.glob("*.train.inter")
        if (folder / p.name.replace(".train.inter", ".test.inter")).is_file()
    ]
    if split_names:
        name = _pick(folder, split_names, ".train.inter")
        files = [(part, folder / f"{name}{suffix}") for part, suffix in SPLIT_SUFFIXES]
        return name, [(part, path) for part, path in files if path.is_file()]
    wholes = [
        p.name.removesuffix(".inter")
        for p in folder.glob("*.inter")
        if not p.name.endswith(tuple(suffix for _, suffix in SPLIT_SUFFIXES))
    ]
    if not wholes:
        found = ", ".join(sorted(p.name for p in folder.glob("*.inter")))
        raise DataError(
            f"RecBole files {found}: expected NAME.inter, or NAME.train.inter with NAME.test.inter",
            folder,
        )
    name = _pick(folder, wholes, ".inter")
    return name, [(TRAIN, folder / f"{name}.inter")]


def read_fields(path: Path, **kwargs: object) -> tuple[pd.DataFrame, dict[str, str]]:
    """A RecBole atomic file with its ``name:type`` header: the frame (columns renamed to the
    names) and name -> type."""
    frame = read_csv(path, sep="\t", header=0, quoting=csv.QUOTE_NONE, **kwargs)
    only = str(frame.columns[0]) if frame.shape[1] == 1 else ""
    if only and not re.fullmatch(rf"[^\s,;:|]+:({'|'.join(TYPES)})", only):
        raise DataError(  # one field such as item_id:token is valid (an id-only .item file)
            f"one column only ({str(frame.columns[0])!r}); RecBole files are tab-separated",
            path,
            1,
        )
    fields: dict[str, str] = {}
    for column in frame.columns:  # a loop over header fields, not rows
        name, sep, kind = str(column).rpartition(":")
        if not sep or not name or kind not in TYPES:
            raise DataError(
                f"header field {str(column)!r}: expected NAME:TYPE with TYPE one of "
                f"{', '.join(TYPES)} (a RecBole atomic file)",
                path,
                1,
            )
        if name in fields:
            raise DataError(f"header field {name!r} appears twice", path, 1)
        fields[name] = kind
    frame.columns = list(fields)
    return frame, fields


def _read_inter(
    path: Path, columns: dict[str, str] | None
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None], str]:
    """Checked raw columns of one ``.inter`` file, and the name of its item field."""
    frame, fields = read_fields(path)
    found = map_columns(frame, dict(columns or {}), path, header=True)
    for role in ("user", "item"):
        kind = fields[str(found[role])]
        if kind != "token":
            raise DataError(
                f"the {role} field {found[role]!r} is {kind}; {role} ids must be a token field",
                path,
                1,
            )
    return frame_columns(frame, found, path, 2, float_times=True), str(found["item"])


def _metadata(path: Path, item_field: str) -> pd.DataFrame | None:
    """``title`` and ``genres`` (``|``-joined) by raw item id from a ``.item`` file, as the
    MovieLens readers give them: a ``release_year`` is appended to the title as
    ``Title (1995)``."""
    frame, fields = read_fields(path, dtype=str, keep_default_na=False)
    lower = {name.lower(): name for name in fields}
    id_field = next(
        (lower[g] for g in (item_field.lower(), *COLUMN_GUESSES["item"]) if g in lower), None
    )
    if id_field is None:
        raise DataError(f"no item field {item_field!r}; the header has {list(fields)}", path, 1)
    meta = pd.DataFrame(index=id_column(frame, id_field, "item", path, 2))
    title = next((lower[g] for g in _TITLE if g in lower), None)
    genres = next((lower[g] for g in _GENRES if g in lower), None)
    year = next((lower[g] for g in _YEAR if g in lower), None)
    if title is not None:
        titles = frame[title].str.strip()
        if year is not None:
            years = frame[year].str.strip()
            add = years.str.fullmatch(r"\d{4}") & (titles.str[-6:] != "(" + years + ")")
            titles = titles.where(~add, titles + " (" + years + ")")
        meta["title"] = titles.to_numpy(dtype=object)
    if genres is not None:
        joined = frame[genres].str.strip().str.replace(r"\s+", "|", regex=True)
        meta["genres"] = joined.to_numpy(dtype=object)
    if meta.shape[1] == 0:
        return None
    return meta[~meta.index.duplicated()]


def _concat_ids(parts: list[np.ndarray]) -> np.ndarray:
    """Ids of several files as one array; tokens stay text when any file's ids are text."""
    if len({a.dtype.kind == "O" for a in parts}) > 1:
        parts = [a.astype(str).astype(object) for a in parts]
    return np.concatenate(parts)


def read_recbole(path: Path, columns: dict[str, str] | None = None) -> Source:
    """RecBole atomic files: a folder or a path to a ``.inter`` file.

    A folder holding ``NAME.train.inter`` and ``NAME.test.inter`` (+ optional
    ``NAME.valid.inter``) gives a fixed split; else its ``NAME.inter`` is read whole (give
    the path of a ``.inter`` file to read that file whole). ``NAME`` is the folder's name,
    or the only dataset in it. Fields are found by name with the ``:type`` suffix removed
    (``user_id``, ``item_id``, ``rating``, ``timestamp`` and the other common names), or
    given by ``columns``; user and item must be ``token`` fields. Fractional timestamps are
    floored to whole seconds. ``NAME.item`` beside it gives item titles and genres.

    Args:
        path: a folder or a ``.inter`` file.
        columns: role -> field name (without its type) or 0-based position.

    Returns:
        A `Source`, with ``part`` set for the benchmark split files.
    """
    if path.is_file():
        name, files = path.name.removesuffix(".inter"), [(TRAIN, path)]
        for _, suffix in SPLIT_SUFFIXES:  # NAME.train.inter read whole: NAME.item is its items
            name = name.removesuffix(suffix.removesuffix(".inter"))
        folder = path.parent
    else:
        folder = path
        name, files = _layout(folder)
    parts, item_field = [], "item_id"
    for part, file in files:
        if part == VALID and not file.read_bytes().strip().count(b"\n"):
            continue  # a header only, or nothing: no validation rows
        arrays, item_field = _read_inter(file, columns)
        parts.append((part, *arrays))
    users = _concat_ids([p[1] for p in parts])
    items = _concat_ids([p[2] for p in parts])
    ratings = None
    if all(p[3] is not None for p in parts):
        ratings = np.concatenate([p[3] for p in parts])  # type: ignore[misc]
    times = None
    if all(p[4] is not None for p in parts):
        times = np.concatenate([p[4] for p in parts])  # type: ignore[misc]
    meta = None
    if (folder / f"{name}.item").is_file():
        meta = _metadata(folder / f"{name}.item", item_field)
    data = from_raw(users, items, ratings=ratings, times=times, items_frame=meta)
    part = None
    if len(parts) > 1 or parts[0][0] != TRAIN:
        part = np.concatenate([np.full(len(p[1]), p[0], np.int8) for p in parts])
    return Source(data, name=str(path), part=part, ordered=times is not None)
