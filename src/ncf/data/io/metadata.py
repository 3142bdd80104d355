"""Item metadata: tables of item id -> columns, and their columns as model inputs.

A data source brings the metadata it has (MovieLens titles and genres, a RecBole
``.item`` file); ``--set item_table=FILE`` adds any table of its own: a ``.csv`` /
``.tsv`` / ``.parquet`` with an item id column (named ``item``, ``item_id``, ``itemId``,
``movieId`` or ``id``; else the first) and any other columns, which then travel with the
data: into the bundle, beside recommendations and similar items, into the report.

A column of several values per item (``genres``) joins them with ``|``. Such a column
becomes, for the models,

- a multi-hot matrix (`multi_hot`): one 0/1 column per value, the ``hybrid``'s metadata
  input and ``--set item_features=genres`` for GMF / MLP / NeuMF;
- a padded matrix of value codes (`value_codes`), with which the partial-credit loss
  asks whether two items share a value.

    >>> meta = read_item_table("items.csv", data.item_vocab)     # indexed by item index
    >>> multi_hot(meta["genres"]).shape                           # (n_items, n_genres)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.io.common import decode_bytes, read_csv, read_parquet, side_file
from ncf.errors import DataError, UsageError

ID_COLUMNS = ("item", "item_id", "itemid", "movieid", "id")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


def read_item_table(path: str | Path, items: Vocabulary) -> tuple[pd.DataFrame, int]:
    """Reads an item table and aligns it with ``items``.

    Returns:
        the metadata indexed by item index (rows of items the table lacks are empty),
        and the number of the table's rows whose id is not an item of the data (ignored:
        a catalogue may be larger than the interactions).
    """
    path = Path(path)
    suffix = side_file(path, TABLE_SUFFIXES, "item table")
    if suffix == ".parquet":
        frame = read_parquet(path)
    else:
        first = decode_bytes(path, "utf-8").partition("\n")[0]  # binary, not UTF-8: one line
        sep = "\t" if suffix == ".tsv" or "\t" in first else ","
        # read headerless so that a line with more fields than the header fails by number
        frame = read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False)
        frame = frame.iloc[1:].set_axis(frame.iloc[0].str.strip(), axis=1).reset_index(drop=True)
    if frame.shape[1] < 2:
        raise DataError("an item table needs an item id column and at least one more", path)
    lower = {str(c).lower(): c for c in frame.columns}
    id_column = next((lower[c] for c in ID_COLUMNS if c in lower), frame.columns[0])
    raw = frame[id_column]
    numbers = pd.to_numeric(raw, errors="coerce")
    if items.ids.dtype.kind in "iu":
        bad = numbers.isna() | (numbers != numbers.round())
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise DataError(f"item id {raw.iloc[line - 2]!r} is not a whole number", path, line)
        ids = numbers.to_numpy(np.int64)
    else:
        ids = raw.astype(str).str.strip().to_numpy(dtype=object)
    repeated = pd.Series(ids).duplicated().to_numpy()
    if repeated.any():
        line = int(np.flatnonzero(repeated)[0]) + 2
        raise DataError(f"item id {raw.iloc[line - 2]} has a second row", path, line)
    index = items.index(ids, missing="mask")
    known = index >= 0
    if not known.any():
        raise DataError(
            f"no item id of the table (column {id_column!r}) is an item of the data", path
        )
    meta = frame.drop(columns=[id_column])[known]
    meta.index = pd.Index(index[known])
    return meta.reindex(pd.RangeIndex(len(items))), int((~known).sum())


def with_item_table(data: Interactions, path: str | Path) -> tuple[Interactions, int]:
    """``data`` with the table's columns added to its metadata (where a column of the
    same name exists, the table's values replace the data's for the items it lists), and
    the count of the table's ids the data lacks."""
    table, unknown = read_item_table(path, data.item_vocab)
    if data.items is not None:  # the table's values first; the data's where it has none
        table = table.combine_first(data.items)[[*data.items.columns, *table.columns]]
        table = table.loc[:, ~table.columns.duplicated()]
    return replace(data, items=table), unknown


def is_column_name(spec: str) -> bool:
    """Whether an ``item_features`` value names a metadata column (``genres``) rather than
    a file: a bare name, without a suffix, that is no file here."""
    path = Path(spec)
    return bool(spec) and not path.is_file() and not path.suffix and len(path.parts) == 1


def metadata_column(items: pd.DataFrame | None, key: str) -> pd.Series:
    """The metadata column ``key`` names (case aside; ``genre`` finds ``genres``)."""
    columns = {} if items is None else {str(c).lower(): c for c in items.columns}
    for name in (key.lower(), key.lower() + "s", key.lower().removesuffix("s")):
        if name in columns:
            return items[columns[name]]  # type: ignore[index]
    raise UsageError(
        f"no item metadata column {key!r}; this data has "
        + (", ".join(map(str, items.columns)) if columns else "no item metadata")  # type: ignore[union-attr]
        + " (add a table with --set item_table=FILE)"
    )


def _values(column: pd.Series) -> pd.Series:
    """Each item's values, one row per (item, value), from ``|``-joined text."""
    text = column.astype(object).where(column.notna(), "").astype(str)
    values = text.str.split("|").explode().str.strip()
    return values[(values != "") & (values != "(no genres listed)")]


def multi_hot(column: pd.Series) -> pd.DataFrame:
    """(n_items, n_values) 0/1 frame: one column per value of the ``|``-joined column,
    in sorted order."""
    values = _values(column)
    names = np.sort(values.unique())
    hot = np.zeros((len(column), len(names)), dtype=np.int8)
    hot[values.index.to_numpy(), np.searchsorted(names, values.to_numpy())] = 1
    return pd.DataFrame(hot, columns=names, index=column.index)


def value_codes(column: pd.Series) -> np.ndarray:
    """(n_items, most values of one item) int64 codes of each item's values, padded with
    -1: two items share a value when a code of one equals a code of the other."""
    values = _values(column)
    codes, _ = pd.factorize(values.to_numpy())
    rows = values.index.to_numpy()
    counts = np.bincount(rows, minlength=len(column))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(rows, kind="stable")
    rows, codes = rows[order], codes[order]
    out = np.full((len(column), max(int(counts.max(initial=0)), 1)), -1, dtype=np.int64)
    out[rows, np.arange(len(rows)) - starts[rows]] = codes
    return out
