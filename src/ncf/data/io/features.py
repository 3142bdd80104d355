"""Item feature vectors from a file: item id -> a fixed vector (S12's pretrained book
embeddings, genres as a multi-hot vector, text embeddings).

Layouts, chosen by the file's suffix:

- ``.csv`` / ``.tsv`` / ``.txt``: one item per line, the id first, then the vector, either
  as one value per column (``42,0.1,0.2,0.3``) or as one quoted field
  (``42,"[0.1, 0.2, 0.3]"``, separated by commas or spaces). A header line is
  recognised by its non-numeric values and skipped. Tabs, commas or spaces separate.
- ``.parquet``: the first column is the id; then either one column of lists or one
  numeric column per dimension.
- ``.npy``: a 2-D float array whose row ``r`` is the vector of item id ``r`` (all-zero
  rows of ids the data lacks are padding: row 0 of 1-based ids).
- ``.npz``: arrays ``ids`` (n,) and ``vectors`` (n, d).

Every vector must have the same length and only finite numbers; every id must be an
item of the data and occur once. Bad input fails with a `DataError` naming the file and
line. Items of the training vocabulary without a vector get zeros and are counted.

    >>> features = read_item_features("genres.csv", source.data.items, split.train.items)
    >>> features.matrix.shape, features.missing
    ((1682, 19), 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.io.common import check_text, read_csv, read_parquet, side_file
from ncf.errors import DataError

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".npy", ".npz")


@dataclass(frozen=True)
class ItemVectors:
    """Vectors aligned with a vocabulary.

    Attributes:
        matrix: (n_items, d) float32; row i is item i's vector (zeros when it has none).
        missing: items of the vocabulary without a vector in the file.
        path: the file read.
    """

    matrix: np.ndarray
    missing: int
    path: Path


def read_item_features(path: str | Path, data_items: Vocabulary, items: Vocabulary) -> ItemVectors:
    """Reads ``path`` and aligns it with ``items`` (the training vocabulary).

    Args:
        path: the feature file (see the module docstring for layouts).
        data_items: every item of the data as read; an id outside it is an error.
        items: the vocabulary the rows of the result follow.
    """
    path = Path(path)
    suffix = side_file(path, SUFFIXES, "item features file")
    if suffix == ".npy":
        ids, vectors, first_line = _read_npy(path)
    elif suffix == ".npz":
        ids, vectors, first_line = _read_npz(path)
    elif suffix == ".parquet":
        ids, vectors, first_line = _read_parquet_features(path)
    else:
        ids, vectors, first_line = _read_text(path)
    return _align(ids, vectors, first_line, path, data_items, items)


def genre_vectors(data: Interactions) -> pd.DataFrame:
    """Multi-hot genre vectors of the data's items (``item`` = raw id, then one 0/1 column
    per genre), from the item metadata's ``|``-joined genres; written by ``ncf data
    genres``, read back as item features."""
    if data.items is None or "genres" not in data.items:
        raise DataError("this data has no item genres (MovieLens folders and synthetic data do)")
    genres = data.items["genres"].fillna("").astype(str)
    hot = genres.str.get_dummies(sep="|").astype(np.int8)
    hot = hot.drop(columns=[c for c in hot.columns if c in ("", "(no genres listed)")])
    return pd.concat([pd.Series(data.item_vocab.ids, name="item"), hot], axis=1)


def _align(
    ids: np.ndarray,
    vectors: np.ndarray,
    first_line: int,
    path: Path,
    data_items: Vocabulary,
    items: Vocabulary,
) -> ItemVectors:
    """``first_line``: the file line of row 0, or 0 for arrays (then rows are named)."""

    position = np.arange(len(ids))  # in the file

    def fail(message: str, row: int) -> DataError:
        if first_line:
            return DataError(message, path, first_line + int(position[row]))
        return DataError(f"row {position[row]}: {message}", path)

    known = data_items.index(ids, missing="mask")
    if not first_line:  # an array by position: all-zero rows of other ids are padding
        kept = (known >= 0) | vectors.any(axis=1)
        ids, vectors, known, position = ids[kept], vectors[kept], known[kept], position[kept]
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise fail("the vector has a NaN or infinite value", int(bad[0]))
    if (known < 0).any():
        row = int(np.flatnonzero(known < 0)[0])
        raise fail(f"item id {_shown(ids[row])} is not in the data", row)
    repeated = pd.Series(known).duplicated().to_numpy()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        raise fail(f"item id {_shown(ids[row])} has a second vector", row)
    rows = items.index(ids, missing="mask")  # -1: an item of the data left out of training
    matrix = np.zeros((len(items), vectors.shape[1]), dtype=np.float32)
    matrix[rows[rows >= 0]] = vectors[rows >= 0]
    has = np.zeros(len(items), dtype=bool)
    has[rows[rows >= 0]] = True
    return ItemVectors(matrix, int((~has).sum()), path)


def _shown(value: object) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _read_npy(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    try:
        vectors = np.load(path, allow_pickle=False)
    except Exception as err:
        raise DataError(f"cannot read .npy ({type(err).__name__}: {err})", path) from None
    if vectors.ndim != 2 or vectors.dtype.kind not in "iuf":
        raise DataError(
            f"expected a 2-D numeric array (row r = item id r), got {vectors.dtype} "
            f"of shape {vectors.shape}",
            path,
        )
    return np.arange(len(vectors)), vectors.astype(np.float64), 0


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not {"ids", "vectors"} <= set(archive.files):
                raise DataError(f"expected arrays 'ids' and 'vectors', found {archive.files}", path)
            ids, vectors = archive["ids"], archive["vectors"]
    except DataError:
        raise
    except Exception as err:
        raise DataError(f"cannot read .npz ({type(err).__name__}: {err})", path) from None
    if vectors.ndim != 2 or vectors.dtype.kind not in "iuf" or len(ids) != len(vectors):
        raise DataError(
            f"expected ids (n,) and numeric vectors (n, d); got {ids.shape} and {vectors.shape}",
            path,
        )
    return ids, vectors.astype(np.float64), 0


def _read_parquet_features(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    frame = read_parquet(path)
    if frame.shape[1] < 2:
        raise DataError("expected an id column and vector column(s)", path)
    ids = frame.iloc[:, 0].to_numpy()
    if frame.shape[1] == 2 and frame.iloc[:, 1].dtype == object:
        values = frame.iloc[:, 1]
        lengths = values.map(lambda v: len(v) if hasattr(v, "__len__") else -1).to_numpy()
        return ids, _rectangular(values.tolist(), lengths, path, 1), 1
    return ids, _numbers(frame.iloc[:, 1:], path, 1), 1


def _read_text(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    check_text(path)
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    sep = "\t" if "\t" in first else "," if "," in first else r"\s+"
    frame = read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False)
    header = frame.shape[1] > 1 and not _numeric_row(frame.iloc[0, 1:])
    first_line = 1
    if header:
        frame, first_line = frame.iloc[1:].reset_index(drop=True), 2
    if frame.empty:
        raise DataError("no rows", path)
    ids = _text_ids(frame.iloc[:, 0])
    if frame.shape[1] == 2 and frame.iloc[:, 1].str.contains(r"[\s,;\[]", regex=True).any():
        parts = frame.iloc[:, 1].str.strip().str.strip("[]()").str.strip()
        split = parts.str.split(r"[\s,;]+", regex=True)
        lengths = split.map(len).to_numpy()
        return ids, _rectangular(split.tolist(), lengths, path, first_line), first_line
    if frame.shape[1] < 2:
        raise DataError("expected an item id and a vector on every line", path, first_line)
    return ids, _numbers(frame.iloc[:, 1:], path, first_line), first_line


def _numeric_row(values: pd.Series) -> bool:
    """Whether a line's vector part holds numbers (else it is a header)."""
    parts = " ".join(values.fillna("").astype(str)).strip(" []()")
    numbers = pd.to_numeric(pd.Series(re.split(r"[\s,;\[\]()]+", parts)), errors="coerce")
    return bool(numbers.notna().any())


def _text_ids(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and (numbers == numbers.round()).all():
        return numbers.to_numpy(np.int64)
    return values.astype(str).str.strip().to_numpy(dtype=object)


def _rectangular(rows: list, lengths: np.ndarray, path: Path, first_line: int) -> np.ndarray:
    """Vectors given one per row as sequences: all of one length, all numbers."""
    width = int(lengths[0])
    ragged = np.flatnonzero(lengths != width)
    if len(ragged):
        row = int(ragged[0])
        raise DataError(
            f"ragged vectors: {lengths[row]} values here, {width} on the first line",
            path,
            first_line + row,
        )
    return _numbers(pd.DataFrame([list(r) for r in rows]), path, first_line)


def _numbers(frame: pd.DataFrame, path: Path, first_line: int) -> np.ndarray:
    """The (n, d) values of a frame of vector columns; the first bad one fails with its line."""
    empty = (frame.isna() | (frame.astype(str).apply(lambda c: c.str.strip()) == "")).to_numpy()
    if empty.any():  # a short line (fewer fields than the widest), or an empty field
        row = int(np.flatnonzero(empty.any(axis=1))[0])
        count = int((~empty[row]).sum())
        raise DataError(
            f"ragged vectors: {count} values here, {frame.shape[1]} elsewhere",
            path,
            first_line + row,
        )
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = np.isnan(values)
    if bad.any():
        row, column = (int(x[0]) for x in np.nonzero(bad))
        shown = frame.iloc[row, column]
        if str(shown).strip().lower().lstrip("+-") == "nan":
            raise DataError("the vector has a NaN or infinite value", path, first_line + row)
        raise DataError(f"expected a number in the vector, got {shown!r}", path, first_line + row)
    return values
