"""Readers on the real MovieLens files and on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf.data.io.formats import read_path, read_table
from ncf.data.io.given import read_lists
from ncf.data.io.source import TEST, TRAIN
from ncf.errors import DataError


def test_ml100k(shared_data):
    source = read_path(shared_data / "ml-100k")
    data = source.data
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1682)
    assert data.ratings.min() == 1 and data.ratings.max() == 5
    assert data.times is not None
    index = data.item_vocab.index(np.array([1]))[0]
    assert data.items.loc[index, "title"] == "Toy Story (1995)"
    assert data.items.loc[index, "genres"] == "Animation|Children's|Comedy"
    # ISO-8859-1 titles decode (item 1633 is "Á köldum klaka (Cold Fever) (1994)")
    accented = data.items.loc[data.item_vocab.index(np.array([1633]))[0], "title"]
    assert accented.startswith("Á köldum klaka")


def test_ml_latest_small(shared_data):
    data = read_path(shared_data / "ml-latest-small").data
    assert (len(data), data.n_users, data.n_items) == (100_836, 610, 9724)
    assert set(np.unique(data.ratings)) >= {0.5, 5.0}
    assert data.items["genres"].str.contains("Comedy").any()


def test_ml1m_interactions_layout(shared_data):
    data = read_path(shared_data / "ml-1m").data
    assert (len(data), data.n_users, data.n_items) == (1_000_209, 6040, 3706)
    assert data.ratings is None  # partly missing in this layout: dropped, not guessed
    first = data.items.loc[data.item_vocab.index(np.array([1]))[0], "title"]
    assert first == "Toy Story (1995)"


def test_ncf_benchmark_files(shared_data):
    source = read_path(shared_data / "ml-1m" / "ncf")
    data = source.data
    assert (data.n_users, data.n_items) == (6040, 3706)
    assert (source.part == TRAIN).sum() == 994_169 and (source.part == TEST).sum() == 6040
    assert source.test_negatives.shape == (6040, 99)
    assert data.items is not None and data.items["title"].notna().sum() > 3600


def test_ncf_files_with_two_to_four_columns(tmp_path):
    (tmp_path / "x.train.rating").write_text(
        "0\t1\n0\t2\t5\n1\t0\t3\t100\n".replace("\t5\n", "\n").replace("\t3\t100\n", "\n")
    )
    (tmp_path / "x.test.rating").write_text("0\t3\t4\t10\n1\t2\t5\t11\n")
    (tmp_path / "x.test.negative").write_text("(0,3)\t0\t4\n(1,2)\t4\t3\n")
    source = read_path(tmp_path)
    assert source.test_negatives.tolist() == [[0, 4], [4, 3]]
    (tmp_path / "x.train.rating").write_text("0\t1\t4\n0\t2\t5\n1\t0\t3\n")
    assert read_path(tmp_path).data.n_items == 5


def test_ncf_negative_file_that_disagrees_with_the_test_file(tmp_path):
    (tmp_path / "x.train.rating").write_text("0\t1\n1\t0\n")
    (tmp_path / "x.test.rating").write_text("0\t3\n1\t2\n")
    (tmp_path / "x.test.negative").write_text("(0,3)\t0\t4\n(1,3)\t4\t0\n")
    with pytest.raises(DataError, match=r"x.test.negative, line 2: pair \(1,3\) disagrees"):
        read_path(tmp_path)


def test_generic_tables_detect_delimiter_header_and_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "product_id": [10, 11, 11],
            "stars": [4.0, 2.0, 5.0],
            "ts": [3, 2, 1],
        }
    )
    frame.to_csv(tmp_path / "x.csv", index=False)
    frame.to_csv(tmp_path / "x.tsv", index=False, sep="\t")
    frame.to_parquet(tmp_path / "x.parquet")
    for name in ("x.csv", "x.tsv", "x.parquet"):
        data = read_path(tmp_path / name).data
        assert len(data) == 3 and data.n_users == 2 and data.n_items == 2
        assert data.ratings.tolist() == [4.0, 2.0, 5.0] and data.times.tolist() == [3, 2, 1]
    (tmp_path / "plain.txt").write_text("1 7 5\n2 7 3\n")
    assert read_path(tmp_path / "plain.txt").data.ratings.tolist() == [5.0, 3.0]
    frame.rename(columns={"customer_id": "who"}).to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(DataError, match="no user column"):
        read_path(tmp_path / "odd.csv")
    data = read_table(tmp_path / "odd.csv", {"user": "who"}).data
    assert data.n_users == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        ("user,item\n1,2\n3,x\n", r"line 3: column 'item': expected a number, got 'x'"),
        ("user,item,rating\n1,2,4\n3,4,nan\n", r"line 3: column 'rating': expected a number"),
        ("user,item\n1,2\n-3,4\n", r"line 3: negative user id -3"),
        ("user,item\n1,2\n3,4,5,6\n", r"line 3: malformed line"),
    ],
)
def test_bad_tables_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_path(path)


def test_non_utf8_in_a_movielens_title_file_is_read_as_latin1(tmp_path):
    (tmp_path / "u.data").write_text("1\t1\t5\t100\n")
    (tmp_path / "u.item").write_bytes(
        "1|Caf\xe9 (1995)|01-Jan-1995||url".encode("latin-1") + b"|0" * 19 + b"\n"
    )
    data = read_path(tmp_path).data
    assert data.items.loc[0, "title"] == "Café (1995)"


def test_user_item_lists(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 3\n1 0\n2 4 1\n")
    (tmp_path / "test.txt").write_text("0 4\n1 2 3\n")
    source = read_lists(tmp_path)
    data = source.data
    train = data.subset(source.part == TRAIN)
    assert list(zip(train.user_ids, train.item_ids)) == [
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
        (2, 4),
        (2, 1),
    ]
    assert (source.part == TEST).sum() == 3
    (tmp_path / "test.txt").write_text("0 4\n1 x\n")
    with pytest.raises(
        DataError, match="test.txt, line 2: expected an integer id >= 0 within 64 bits, got 'x'"
    ):
        read_lists(tmp_path)


def test_missing_path_and_unknown_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_path(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="unrecognised folder"):
        read_path(tmp_path)


def test_read_path_names_the_layout_it_read(shared_data, tmp_path):
    assert read_path(shared_data / "ml-100k").format == "MovieLens 100K files (u.data)"
    assert read_path(shared_data / "ml-1m" / "ncf").format == "NCF benchmark files"
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "train.txt").write_text("0 1 2\n1 0\n")
    (tmp_path / "lists" / "test.txt").write_text("0 0\n1 2\n")
    assert read_path(tmp_path / "lists").format == "train.txt / test.txt user-item lists"
    (tmp_path / "seq.txt").write_text("1 1 2 3 4 5\n2 3 4\n")
    assert read_path(tmp_path / "seq.txt").format == "sequence file (user item item ...)"
    (tmp_path / "t.csv").write_text("u,i\n1,2\n")
    assert read_path(tmp_path / "t.csv").format == "text table"
    np.save(tmp_path / "pairs.npy", np.array([[0, 1], [1, 0]]))
    assert read_path(tmp_path / "pairs.npy").format == "NumPy array of (user, item[, rating]) rows"
