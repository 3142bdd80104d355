"""Sequence files (``user item item ...`` per line, in time order) and user-item lists."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data.io.formats import read_path
from ncf.data.io.given import read_lists
from ncf.data.io.sequences import looks_like_sequences, read_sequences
from ncf.data.io.source import TEST, TRAIN, VALID
from ncf.data.splits import make_split
from ncf.errors import DataError

BEAUTY = "1 1 2 3 4 5\n2 3 6 7\n3 2 8 9 4 1 3\n"


def test_a_sequence_file_is_read_in_row_order(tmp_path):
    path = tmp_path / "Beauty.txt"
    path.write_text(BEAUTY)
    source = read_path(path)
    data = source.data
    assert (len(data), data.n_users, data.n_items) == (14, 3, 9)
    assert data.times is None and data.order.tolist() == list(range(14))
    assert data.user_vocab.raw(data.user_ids).tolist() == [1] * 5 + [2] * 3 + [3] * 6
    assert data.item_vocab.raw(data.item_ids).tolist()[:8] == [1, 2, 3, 4, 5, 3, 6, 7]
    assert source.part is None


def test_loo_holds_out_the_last_item_and_validates_on_the_one_before(tmp_path):
    path = tmp_path / "Beauty.txt"
    path.write_text(BEAUTY)
    split = make_split(read_path(path), "loo", np.random.default_rng(0))

    def pairs(part):
        raw = part.to_frame()
        return sorted(zip(raw["user"].tolist(), raw["item"].tolist()))

    assert pairs(split.test) == [(1, 5), (2, 7), (3, 3)]
    assert pairs(split.valid) == [(1, 4), (2, 6), (3, 1)]
    assert split.counts() == {"train": 8, "valid": 3, "test": 3}


@pytest.mark.parametrize(
    ("text", "sequences"),
    [
        (BEAUTY, True),
        ("1 2 3 4 5\n2 3 4 5 6\n", True),  # more than 4 fields
        ("1 2\n1 2 3\n", True),  # varying counts
        ("1\t2\t3\n2\t3\n", True),
        ("1 2 -3\n4 5\n", True),  # read as sequences: the negative id fails with its line
        ("1 2 3\n2 3 4\n", False),  # a 3-column table
        ("0\t1\n1\t0\n", False),  # NCF-style 2 columns
        ("1 2 5 100\n2 3 4 101\n", False),  # user item rating time
        ("1,2\n1,2,3\n", False),
        ("1 2 4.5\n3 4\n", False),
        ("a b c d e\n", False),
        ("", False),
    ],
)
def test_detection_by_content(text, sequences):
    assert looks_like_sequences(text.encode()) is sequences


def test_detection_ignores_a_cut_last_line():
    assert looks_like_sequences(b"1 2\n3 4\n5 6 7 8", complete=False) is False
    assert looks_like_sequences(b"1 2\n3 4\n5 6 7 8", complete=True) is True


def test_tables_of_two_to_four_columns_are_still_tables(tmp_path):
    (tmp_path / "r.txt").write_text("1 7 5\n2 7 3\n")
    assert read_path(tmp_path / "r.txt").data.ratings.tolist() == [5.0, 3.0]
    (tmp_path / "r.csv").write_text("1 2 3 4 5 6\n7 8 9 10 11 12\n")  # .csv: never sequences
    assert read_path(tmp_path / "r.csv").data.n_users == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3 4 5\n2 -3 4\n", r"s.txt, line 2: expected an integer id >= 0 .*got '-3'"),
        ("1 2 3 4 5\n2 99999999999999999999 4\n", r"s.txt, line 2: .*within 64 bits"),
    ],
)
def test_bad_sequence_files_name_the_line(tmp_path, text, message):
    (tmp_path / "s.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        read_path(tmp_path / "s.txt")


def test_a_sequence_file_of_users_only(tmp_path):
    (tmp_path / "s.txt").write_text("1\n2\n")
    with pytest.raises(DataError, match=r"s.txt: no interactions: every line holds a user only"):
        read_sequences(tmp_path / "s.txt")


def test_lists_with_a_validation_file(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 3\n1 0 2\n")
    (tmp_path / "valid.txt").write_text("0 4\n1 3\n")
    (tmp_path / "test.txt").write_text("0 5\n1 4 5\n")
    source = read_path(tmp_path)
    assert source.part.tolist() == [TRAIN] * 5 + [VALID] * 2 + [TEST] * 3
    split = make_split(source, "given", np.random.default_rng(0))
    assert split.counts() == {"train": 5, "valid": 2, "test": 3}
    assert sorted(zip(split.valid.user_ids.tolist(), split.valid.item_ids.tolist())) == [
        (0, 4),
        (1, 3),
    ]
    (tmp_path / "valid.txt").write_text("\n")  # empty: as none, validation is cut from train
    split = make_split(read_lists(tmp_path), "given", np.random.default_rng(0))
    assert split.counts() == {"train": 3, "valid": 2, "test": 3}
    (tmp_path / "valid.txt").write_text("0 4\n1 x\n")
    with pytest.raises(DataError, match=r"valid.txt, line 2: .*got 'x'"):
        read_path(tmp_path)


def test_a_folder_with_half_a_layout_says_what_is_missing(tmp_path):
    (tmp_path / "train.txt").write_text("0 1\n")
    with pytest.raises(DataError, match="train.txt without test.txt"):
        read_path(tmp_path)
    (tmp_path / "train.txt").unlink()
    with pytest.raises(DataError, match=r"unrecognised folder: .*RecBole.*valid_list.npy"):
        read_path(tmp_path)
