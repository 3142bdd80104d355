"""Fuzzing: every reader either returns consistent interactions or raises `DataError`.

Arbitrary bytes, token soups, near-valid rows and byte-level mutations of valid files of
every format (tables, sequences, lists, NCF, RecBole, ``.npy``, parquet)."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncf.data.io.formats import read_path
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
    "user_id:token",
    "item_id:token",
    "rating:float",
    "timestamp:float",
    "class:token_seq",
    ":token",
    ":float",
    ":token_seq",
    "alice",
    "item_a",
    "\x93NUMPY",
    "PK\x03\x04",
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
    "table.txt": ["table.txt"],
    "table.inter": ["table.inter"],
    "table.npy": ["table.npy"],
    "recbole": ["x.inter", "x.item"],
    "recbole-split": ["x.train.inter", "x.valid.inter", "x.test.inter"],
    "lists-valid": ["train.txt", "valid.txt", "test.txt"],
    "npy-split": ["train_list.npy", "valid_list.npy", "test_list.npy"],
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


# --------------------------------------------------------------------------- mutated files


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


INTER = (
    b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    b"1\t10\t4\t100\n1\t11\t5\t101.5\n2\t10\t3\t102\n"
)
ITEM = (
    b"item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    b"10\tToy Story\t1995\tAnimation Comedy\n11\tHeat\t1995\tAction\n"
)
PAIRS = np.array([[0, 0], [0, 1], [1, 0], [1, 2]], np.int64)
VALID_FILES = {
    "table.csv": [b"alice,item_a,4.5,1600000000\nbob,item_b,3,1600000001\nalice,item_b,2,3\n"],
    "table.txt": [b"1 1 2 3 4 5\n2 3 6 7\n3 2 8 9 4 1 3\n"],
    "table.inter": [INTER],
    "table.npy": [npy(np.array([[0, 1, 4.5], [1, 2, 3.0]]))],
    "recbole": [INTER, ITEM],
    "recbole-split": [INTER, INTER.replace(b"101.5", b"7"), INTER.replace(b"\t10\t", b"\t12\t")],
    "lists-valid": [b"0 1 2 3\n1 0 2\n", b"0 4\n1 3\n", b"0 5\n1 4 5\n"],
    "npy-split": [npy(PAIRS), npy(PAIRS[:1] + 2), npy(PAIRS[1:] + 1)],
}


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few bytes replaced, inserted or deleted, or cut short."""
    content = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(content) - 1, 0)))
        op = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        byte = draw(st.sampled_from([*b"\x00\t\n ,:-.x9\xe9\xff", draw(st.integers(0, 255))]))
        if op == "replace" and content:
            content[at] = byte
        elif op == "insert":
            content.insert(at, byte)
        elif op == "delete" and content:
            del content[at]
        elif op == "cut":
            del content[at:]
    return bytes(content)


@pytest.mark.parametrize("layout", sorted(VALID_FILES))
@FUZZ
@given(data=st.data())
def test_mutated_valid_files_never_fail_with_anything_but_a_data_error(layout, data):
    contents = [
        data.draw(st.one_of(st.just(valid), mutated(valid))) for valid in VALID_FILES[layout]
    ]
    check(layout, contents)


ARRAY_VALUES = [0, 1, 2, 7, -1, 2**62, 2**63 - 1, 1.5, float("nan"), float("inf"), 1e30]
DTYPES = ["int64", "int32", "uint64", "float64", "float32", "int8", "object", "bool", "<U2"]


@FUZZ
@given(data=st.data())
def test_npy_arrays_with_odd_shapes_dtypes_and_values(data):
    """Structurally valid ``.npy`` files holding odd arrays, as a table and as a split."""
    contents = []
    for _ in range(3):
        shape = data.draw(st.sampled_from([(0, 2), (3, 2), (2, 3), (4,), (2, 4), (1, 1, 2)]))
        values = [data.draw(st.sampled_from(ARRAY_VALUES)) for _ in range(int(np.prod(shape)))]
        try:
            array = np.array(values, dtype=data.draw(st.sampled_from(DTYPES))).reshape(shape)
        except (OverflowError, ValueError):  # a value the dtype cannot hold
            array = np.array(values, dtype=object).reshape(shape)
        contents.append(npy(array))
    check("npy-split", contents)
    check("table.npy", contents[:1])


@pytest.mark.parametrize(
    ("layout", "separator", "n_fields"),
    [("table.txt", " ", 7), ("lists-valid", " ", 5), ("table.csv", ",", 4)],
)
@FUZZ
@given(data=st.data())
def test_near_valid_sequences_and_lists(layout, separator, n_fields, data):
    contents = []
    for _ in LAYOUTS[layout]:
        lines = data.draw(rows(n_fields))
        contents.append("".join(separator.join(line) + "\n" for line in lines).encode())
    check(layout, contents)


@FUZZ
@given(data=st.data())
def test_near_valid_recbole_files(data):
    """Typed headers with known, unknown and odd field names and types, then odd rows."""
    names = st.sampled_from(["user_id", "item_id", "rating", "timestamp", "uid", "class", ""])
    kinds = st.sampled_from(["token", "float", "token_seq", "float_seq", "int", ""])
    contents = []
    for _ in LAYOUTS["recbole-split"]:
        n_fields = data.draw(st.integers(1, 5))
        header = "\t".join(f"{data.draw(names)}:{data.draw(kinds)}" for _ in range(n_fields))
        lines = data.draw(rows(n_fields))
        contents.append((header + "\n" + "".join("\t".join(r) + "\n" for r in lines)).encode())
    check("recbole-split", contents)
    check("recbole", contents[:1] + [ITEM])
