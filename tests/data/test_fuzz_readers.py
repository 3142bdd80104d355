"""Fuzzing: every reader either returns consistent interactions or raises `DataError`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncf.data.formats import read_path
from ncf.errors import DataError

# tokens that reach the interesting paths: ids, odd numbers, delimiters, headers, bad bytes
TOKENS = [
    "0",
    "1",
    "2",
    "3",
    "17",
    "-1",
    "-5",
    "1.5",
    "nan",
    "NaN",
    "inf",
    "1e30",
    "1e400",
    "99999999999999999999",
    "9223372036854775807",
    "x",
    "",
    " ",
    "\t",
    ",",
    ";",
    "|",
    "::",
    "\n",
    "\r\n",
    '"',
    "'",
    "user",
    "item",
    "rating",
    "timestamp",
    "userId",
    "movieId",
    "user_id",
    "movie_id",
    "seq_pos",
    "(0,1)",
    "(99999999999999999999,1)",
    "(1,0)",
    "(2,3)",
    "é",
    "\x00",
]
BAD_BYTES = [b"\xff", b"\xe9", b"\xc3", b"\x80"]

text = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
raw = st.one_of(
    st.tuples(text, st.lists(st.sampled_from(BAD_BYTES), max_size=2)).map(
        lambda pair: pair[0].encode() + b"".join(pair[1])
    ),
    st.binary(max_size=120),
)

LAYOUTS = {
    "table.csv": ["table.csv"],
    "table.tsv": ["table.tsv"],
    "table.dat": ["table.dat"],
    "ml-100k": ["u.data", "u.item"],
    "ml-1m": ["ratings.dat", "movies.dat"],
    "ml-1m-tsv": ["interactions.tsv"],
    "ml-latest": ["ratings.csv", "movies.csv"],
    "ncf": ["x.train.rating", "x.test.rating", "x.test.negative"],
    "lists": ["train.txt", "test.txt"],
    "table.parquet": ["table.parquet"],
    "split": ["split.json", "train.parquet", "valid.parquet", "test.parquet"],
}


def check(layout: str, contents: list[bytes]) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        for name, content in zip(LAYOUTS[layout], contents):
            (folder / name).write_bytes(content)
        target = folder / LAYOUTS[layout][0] if layout.startswith("table") else folder
        try:
            source = read_path(target)
        except DataError:
            return
        data = source.data
        n = len(data)
        assert n > 0
        assert data.user_ids.min() >= 0 and data.user_ids.max() < data.n_users
        assert data.item_ids.min() >= 0 and data.item_ids.max() < data.n_items
        assert len(data.item_ids) == n and len(data.order) == n
        if data.ratings is not None:
            assert np.isfinite(data.ratings).all()
        if source.part is not None:
            assert len(source.part) == n
        if source.test_negatives is not None:
            assert source.test_negatives.max() < data.n_items
    finally:
        shutil.rmtree(folder)


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@FUZZ
@given(data=st.data())
def test_readers_never_fail_with_anything_but_a_data_error(layout, data):
    contents = [data.draw(raw) for _ in LAYOUTS[layout]]
    check(layout, contents)


def rows(n_fields: int):
    field = st.sampled_from(["0", "1", "2", "5", "-1", "1.5", "x", "", "1e30", "nan"])
    line = st.lists(field, min_size=1, max_size=n_fields + 1)
    return st.lists(line, min_size=0, max_size=8)


@pytest.mark.parametrize(
    ("layout", "separator", "n_fields"),
    [("table.csv", ",", 4), ("ml-100k", "\t", 4), ("ml-1m", "::", 4), ("ncf", "\t", 4)],
)
@FUZZ
@given(data=st.data())
def test_near_valid_rows_never_fail_with_anything_but_a_data_error(
    layout, separator, n_fields, data
):
    """Well-formed lines with odd values: the paths past the parser."""
    contents = []
    for _ in LAYOUTS[layout]:
        lines = data.draw(rows(n_fields))
        contents.append("".join(separator.join(line) + "\n" for line in lines).encode())
    check(layout, contents)


ODD = [0, 1, 2, 7, -1, 2**62, 1.5, float("nan"), None, "a", "", "7"]


@FUZZ
@given(data=st.data())
def test_parquet_tables_and_saved_splits_with_odd_values(data):
    """Structurally valid parquet files holding odd values: ids, ratings, missing cells."""
    import pandas as pd

    folder = Path(tempfile.mkdtemp())
    try:
        frames = []
        for _ in range(3):
            n = data.draw(st.integers(0, 5))
            columns = data.draw(st.sampled_from([["user", "item"], ["user", "item", "rating"]]))
            frame = pd.DataFrame(
                {c: [data.draw(st.sampled_from(ODD)) for _ in range(n)] for c in columns}
            )
            frames.append(frame.astype("object").astype(str) if data.draw(st.booleans()) else frame)
        (folder / "split.json").write_text("{}")
        for name, frame in zip(("train", "valid", "test"), frames):
            try:
                frame.to_parquet(folder / f"{name}.parquet")
            except Exception:  # a mix pyarrow cannot store: not a file anyone can have
                return
        frames[0].to_parquet(folder / "table.parquet")
        for target in (folder, folder / "table.parquet"):
            try:
                source = read_path(target)
            except DataError:
                continue
            assert len(source.data) > 0
            assert source.data.item_ids.max() < source.data.n_items
    finally:
        shutil.rmtree(folder)
