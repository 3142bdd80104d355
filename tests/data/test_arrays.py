"""NumPy ``.npy`` splits and tables, and binary files that are no known format."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest

from ncf.data.io.common import binary_kind
from ncf.data.io.formats import read_path
from ncf.data.io.source import TEST, TRAIN, VALID
from ncf.data.splits import make_split
from ncf.errors import DataError

TRAIN_PAIRS = np.array([[0, 0], [0, 1], [0, 2], [1, 0], [1, 3], [2, 1], [2, 2]], np.int64)
VALID_PAIRS = np.array([[0, 3], [1, 1]], np.int64)
TEST_PAIRS = np.array([[0, 4], [1, 2], [2, 0]], np.int64)


def save_split(folder, valid=True):
    np.save(folder / "train_list.npy", TRAIN_PAIRS)
    if valid:
        np.save(folder / "valid_list.npy", VALID_PAIRS)
    np.save(folder / "test_list.npy", TEST_PAIRS)
    return folder


def test_a_diffrec_folder_fixes_the_split(tmp_path):
    source = read_path(save_split(tmp_path))
    data = source.data
    assert (len(data), data.n_users, data.n_items) == (12, 3, 5)
    assert source.part.tolist() == [TRAIN] * 7 + [VALID] * 2 + [TEST] * 3
    assert data.ratings is None and data.times is None
    split = make_split(source, "given", np.random.default_rng(0))
    assert split.counts() == {"train": 7, "valid": 2, "test": 3}
    assert split.test.item_ids.tolist() == [4, 2, 0]  # ids are the files' 0-based ids


def test_the_validation_file_is_optional(tmp_path):
    source = read_path(save_split(tmp_path, valid=False))
    assert source.part.tolist() == [TRAIN] * 7 + [TEST] * 3
    split = make_split(source, "given", np.random.default_rng(0))
    assert split.counts() == {"train": 4, "valid": 3, "test": 3}  # last training item each
    np.save(tmp_path / "valid_list.npy", np.zeros((0, 2), np.int64))  # empty: as none
    assert (read_path(tmp_path).part == VALID).sum() == 0


def test_a_single_array_is_a_table(tmp_path):
    np.save(tmp_path / "pairs.npy", TRAIN_PAIRS.astype(np.int32))
    data = read_path(tmp_path / "pairs.npy").data
    assert (len(data), data.n_users, data.n_items) == (7, 3, 4) and data.ratings is None
    rated = np.array([[5, 7, 4.5], [6, 7, 1.0]])
    np.save(tmp_path / "rated.npy", rated)
    data = read_path(tmp_path / "rated.npy").data
    assert data.ratings.tolist() == [4.5, 1.0] and data.user_vocab.ids.tolist() == [5, 6]


def damaged_npy():
    buffer = io.BytesIO()
    np.save(buffer, TRAIN_PAIRS)
    return buffer.getvalue()[:-5]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.array([[0, "a"]], dtype=object),
            r"x.npy: an object array: loading it would need pickle",
        ),
        (np.array([0, 1, 2]), r"x.npy: shape \(3,\): expected \(n, 2\) rows"),
        (np.zeros((2, 4), np.int64), r"x.npy: shape \(2, 4\)"),
        (np.zeros((0, 2), np.int64), r"x.npy: no rows"),
        (np.array([[0, 1], [-1, 2]]), r"x.npy: row 2: user id -1 is negative"),
        (np.array([[0, 1.5]]), r"x.npy: row 1: item id 1.5 is not a whole number"),
        (np.array([[0, np.nan]]), r"x.npy: row 1: item id nan is not a whole number"),
        (np.array([[0, 1e30]]), r"x.npy: row 1: item id 1e\+30 is out of the 64-bit range"),
        (np.array([[0, 2**64 - 1]], np.uint64), r"x.npy: row 1: item id .* 64-bit range"),
        (np.array([[0, 1, np.inf]]), r"x.npy: row 1: rating inf is not a finite float32"),
        (np.array([[True, False]]), r"x.npy: dtype bool: expected integers"),
        (np.array([["1", "2"]]), r"x.npy: dtype <U1: expected integers"),
        (np.zeros(2, dtype=[("u", "i8"), ("i", "i8")]), r"x.npy: dtype .*expected integers"),
    ],
)
def test_bad_arrays_name_the_file(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    with pytest.raises(DataError, match=message):
        read_path(tmp_path / "x.npy")


def test_bad_npy_files_in_a_split_folder(tmp_path):
    save_split(tmp_path)
    (tmp_path / "test_list.npy").write_bytes(damaged_npy())
    with pytest.raises(DataError, match=r"test_list.npy: 107 bytes of data where .* cut"):
        read_path(tmp_path)
    (tmp_path / "test_list.npy").write_text("0 1\n")
    with pytest.raises(DataError, match=r"test_list.npy: not a NumPy .npy file: it holds text"):
        read_path(tmp_path)
    (tmp_path / "test_list.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}     \n")
    with pytest.raises(DataError, match=r"test_list.npy: damaged .npy header"):
        read_path(tmp_path)
    (tmp_path / "test_list.npy").unlink()
    with pytest.raises(DataError, match=r"train_list.npy without test_list.npy"):
        read_path(tmp_path)


def zipped():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ratings.csv", "user,item\n1,2\n")
    return buffer.getvalue()


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, TRAIN_PAIRS)
    return buffer.getvalue()


BINARY = {
    "npy": (npy_bytes(), "NumPy .npy data"),
    "zip": (zipped(), "a zip archive"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    "pickle": (pickle.dumps({"user": [1, 2]}), "a Python pickle"),
    "gzip": (gzip.compress(b"user,item\n1,2\n"), "gzip-compressed data"),
    "nul": (b"user,item\n1,2\x00\n", "binary data"),
    "utf-16": ("user,item\n1,2\n".encode("utf-16"), "UTF-16 text"),
}


@pytest.mark.parametrize("kind", sorted(BINARY))
@pytest.mark.parametrize("name", ["r.csv", "r.txt", "r.dat"])
def test_binary_files_fail_as_unsupported_file_types(tmp_path, kind, name):
    content, what = BINARY[kind]
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=rf"{name}: unsupported file type: {what}.*accepted: "):
        read_path(tmp_path / name)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"u.data": npy_bytes()}, r"u.data: unsupported file type: NumPy .npy data"),
        ({"ratings.dat": zipped()}, r"ratings.dat: unsupported file type: a zip archive"),
        ({"ratings.csv": zipped()}, r"ratings.csv: unsupported file type: a zip archive"),
        (
            {"train.txt": npy_bytes(), "test.txt": b"0 1\n"},
            r"train.txt: unsupported file type: NumPy",
        ),
        (
            {"x.train.rating": pickle.dumps([1]), "x.test.rating": b"0\t1\n"},
            r"x.train.rating: unsupported file type: a Python pickle",
        ),
    ],
)
def test_binary_files_in_folders(tmp_path, files, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_path(tmp_path)


def test_text_with_a_stray_latin1_byte_is_still_not_utf8(tmp_path):
    (tmp_path / "r.csv").write_bytes("user,item\nana,2\nb\xe9a,3\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"r.csv, line 3: byte 0xe9 is not UTF-8 text"):
        read_path(tmp_path / "r.csv")
    assert binary_kind("café".encode("latin-1")) is None
    assert binary_kind(b"BZh91AY&SY\x00") is not None and binary_kind(b"BZh is text") is None
