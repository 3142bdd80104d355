"""NumPy ``.npy`` arrays of ``(user, item[, rating])`` rows: one file is a table; a folder of
``train_list.npy`` / ``test_list.npy`` (+ optional ``valid_list.npy``), as DiffRec and its
successors ship their splits, fixes the split.

    >>> source = read_npy_folder(Path("datasets/ml-1m_clean"))   # DiffRec split
    >>> source.part[:3]                                           # TRAIN, TRAIN, TRAIN
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ncf.data.interactions import from_raw
from ncf.data.io.common import FLOAT32_MAX, INT64_MAX, binary_kind, unsupported
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.errors import DataError

SPLIT_FILES = ((TRAIN, "train_list.npy"), (VALID, "valid_list.npy"), (TEST, "test_list.npy"))
_SHAPES = "(n, 2) rows of (user, item) or (n, 3) rows of (user, item, rating)"


def is_npy_folder(folder: Path) -> bool:
    return (folder / "train_list.npy").is_file() and (folder / "test_list.npy").is_file()


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset from a ``.npy`` header, read without loading data."""
    with path.open("rb") as file:
        head = file.read(8)
        if not head.startswith(b"\x93NUMPY"):
            kind = binary_kind(head + file.read(8000))
            if kind is None:
                raise DataError("not a NumPy .npy file: it holds text; name it .csv or .txt", path)
            raise unsupported(path, kind)
        file.seek(0)
        try:
            version = np.lib.format.read_magic(file)
        except ValueError as err:
            raise DataError(f"damaged .npy header ({err})", path) from None
        if version not in ((1, 0), (2, 0)):
            raise DataError(f".npy format version {version} is not supported", path)
        read = np.lib.format.read_array_header_1_0
        if version == (2, 0):
            read = np.lib.format.read_array_header_2_0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the Python 2 header fallback warns
                shape, _, dtype = read(file)
        except Exception as err:  # numpy's header parser raises many types on damage
            raise DataError(f"damaged .npy header ({type(err).__name__}: {err})", path) from None
        return shape, dtype, file.tell()


def load_rows(path: Path, allow_empty: bool = False) -> np.ndarray:
    """A checked (n, 2) or (n, 3) numeric array from ``path``; never unpickles.

    Args:
        path: the ``.npy`` file.
        allow_empty: whether zero rows are accepted.

    Returns:
        (n, 2) or (n, 3) array of integers or floats, as stored.
    """
    shape, dtype, offset = _header(path)
    if dtype.hasobject:
        raise DataError(
            "an object array: loading it would need pickle, which can run code and is never "
            "used; save plain integers, e.g. np.save(path, pairs.astype(np.int64))",
            path,
        )
    if dtype.names is not None or dtype.kind not in "iuf":
        raise DataError(f"dtype {dtype}: expected integers (or whole-number floats)", path)
    if len(shape) != 2 or shape[1] not in (2, 3):
        raise DataError(f"shape {shape}: expected {_SHAPES}", path)
    expected = math.prod(shape) * dtype.itemsize
    stored = path.stat().st_size - offset
    if stored != expected:
        raise DataError(
            f"{stored} bytes of data where shape {shape} of {dtype} needs {expected}; "
            "the file is cut or damaged",
            path,
        )
    if shape[0] == 0 and not allow_empty:
        raise DataError("no rows", path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"cannot read .npy ({type(err).__name__}: {err})", path) from None


def _ids(values: np.ndarray, what: str, path: Path) -> np.ndarray:
    """(n,) int64 ids from a column; a fraction, NaN, huge or negative id names its row."""
    checks: list[tuple[np.ndarray, str]] = []
    if values.dtype.kind == "f":
        finite = np.where(np.isfinite(values), values, 0.5)
        checks.append((finite != np.floor(finite), "is not a whole number"))
        checks.append((np.abs(finite) >= 2.0**63, "is out of the 64-bit range"))
    elif values.dtype.kind == "u":
        checks.append((values > INT64_MAX, "is out of the 64-bit range"))
    checks.append((values < 0, "is negative"))
    for bad, problem in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"row {row + 1}: {what} id {values[row]} {problem}", path)
    return values.astype(np.int64)


def _ratings(values: np.ndarray, path: Path) -> np.ndarray:
    as_float = values.astype(np.float64)
    bad = ~np.isfinite(as_float) | (np.abs(np.nan_to_num(as_float)) > FLOAT32_MAX)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"row {row + 1}: rating {values[row]} is not a finite float32", path)
    return as_float


def _columns(rows: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    users = _ids(rows[:, 0], "user", path)
    items = _ids(rows[:, 1], "item", path)
    ratings = _ratings(rows[:, 2], path) if rows.shape[1] == 3 else None
    return users, items, ratings


def read_npy(path: Path) -> Source:
    """One ``.npy`` array of (n, 2) ``(user, item)`` or (n, 3) ``(user, item, rating)`` rows,
    integers or whole-number floats; row order is the time order."""
    users, items, ratings = _columns(load_rows(path), path)
    return Source(from_raw(users, items, ratings=ratings), name=str(path))


def read_npy_folder(folder: Path) -> Source:
    """``train_list.npy`` / ``test_list.npy`` (+ optional ``valid_list.npy``) of (n, 2)
    ``(user, item)`` rows (DiffRec, Wang et al. 2023): the split is given by the files.

    Ids are 0-based indices; the vocabularies hold the ids present. Ratings are kept when
    every file has a third column. An empty ``valid_list.npy`` is as none."""
    parts = []
    for part, name in SPLIT_FILES:
        path = folder / name
        if part == VALID and not path.is_file():
            continue
        rows = load_rows(path, allow_empty=part == VALID)
        parts.append((part, *_columns(rows, path)))
    users = np.concatenate([p[1] for p in parts])
    items = np.concatenate([p[2] for p in parts])
    with_ratings = all(p[3] is not None for p in parts)
    ratings = np.concatenate([p[3] for p in parts]) if with_ratings else None  # type: ignore[misc]
    part = np.concatenate([np.full(len(p[1]), p[0], np.int8) for p in parts])
    return Source(from_raw(users, items, ratings=ratings), name=str(folder), part=part)
