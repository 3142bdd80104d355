"""Recommendations for many users written to a file a block at a time.

>>> rec = ncf.load("runs/neumf")
>>> write_recommendations(rec, "recs.parquet", users=None, k=100)   # every user
Written(rows=604000, users=6040)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ncf.errors import UsageError
from ncf.inference.recommender import Recommender


class Written(NamedTuple):
    rows: int
    users: int  # with at least one row


def write_recommendations(
    rec: Recommender,
    path: str | Path,
    users: list | np.ndarray | None = None,
    k: int = 10,
    exclude_seen: bool = True,
    exclude_items: list | np.ndarray | None = None,
    candidates: list | np.ndarray | None = None,
    advance: Callable[[int], None] | None = None,
) -> Written:
    """Writes the top-k of ``users`` (raw ids; None: every known user) to a ``.parquet``
    or ``.csv`` file, one row per (user, rank): user, rank, item, score and the item
    metadata. Memory stays that of one block of users whatever their number.

    Args:
        advance: called with the number of users of each block written (progress).

    Returns:
        The rows written, and the users with at least one row (a user may have none left
        when every candidate is seen or excluded).
    """
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise UsageError(f"{path}: expected a .parquet or .csv file name")
    schema = _schema(rec)
    writer = pq.ParquetWriter(path, schema) if path.suffix == ".parquet" else None
    rows = users_with_rows = 0
    try:
        blocks = rec.recommend_blocks(users, k, exclude_seen, exclude_items, candidates)
        for number, frame in enumerate(blocks):
            if writer is not None:
                writer.write_table(pa.Table.from_pandas(frame, schema, preserve_index=False))
            else:
                frame.to_csv(
                    path, mode="w" if number == 0 else "a", header=number == 0, index=False
                )
            rows += len(frame)
            listed = frame["user"].nunique()
            users_with_rows += listed
            if advance is not None:
                advance(listed)
    finally:
        if writer is not None:
            writer.close()
    if advance is not None:  # the users left with no row
        advance((rec.model.n_users if users is None else len(users)) - users_with_rows)
    return Written(rows, users_with_rows)


def _schema(rec: Recommender) -> pa.Schema:
    """The columns' types, from the whole vocabularies and item table (a block whose
    titles happen to be all missing must not change them)."""
    items = pa.Schema.from_pandas(rec.item_rows(np.arange(rec.model.n_items)), preserve_index=False)
    user = pa.array(rec.known.user_vocab.ids[:1]).type
    fields = [
        pa.field("user", user),
        pa.field("rank", pa.int64()),
        *items,
        pa.field("score", pa.float32()),
    ]
    return pa.schema(fields)
