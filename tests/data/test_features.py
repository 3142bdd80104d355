"""Item feature files: layouts, alignment with the vocabulary, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf.data.interactions import Vocabulary
from ncf.data.io.features import genre_vectors, read_item_features
from ncf.data.synthetic import make_synthetic
from ncf.errors import DataError

DATA = Vocabulary(np.array([10, 20, 30, 40]))  # every item of the data
TRAIN = Vocabulary(np.array([30, 10, 20]))  # the training vocabulary (40 left out)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wide_csv_with_a_header_aligns_rows_with_the_training_vocabulary(tmp_path):
    path = write(tmp_path, "f.csv", "item,a,b\n10,1,2\n30,5,6\n40,7,8\n")
    vectors = read_item_features(path, DATA, TRAIN)
    # rows follow TRAIN (30, 10, 20); 20 has no vector; 40 is not in training
    assert vectors.matrix.tolist() == [[5.0, 6.0], [1.0, 2.0], [0.0, 0.0]]
    assert vectors.missing == 1 and vectors.matrix.dtype == np.float32


@pytest.mark.parametrize(
    "text",
    [
        '10,"[1, 2]"\n20,"[3, 4]"\n30,"[5, 6]"\n',
        "10\t1 2\n20\t3 4\n30\t5 6\n",
        "10 1 2\n20 3 4\n30 5 6\n",
        'book_id,embedding\n10,"1,2"\n20,"3,4"\n30,"5,6"\n',
    ],
)
def test_vectors_in_one_field_or_separated_by_tabs_and_spaces(tmp_path, text):
    vectors = read_item_features(write(tmp_path, "f.csv", text), DATA, TRAIN)
    assert vectors.matrix.tolist() == [[5.0, 6.0], [1.0, 2.0], [3.0, 4.0]]
    assert vectors.missing == 0


def test_string_ids_parquet_npy_and_npz(tmp_path):
    names = Vocabulary(np.array(["a", "b"], dtype=object))
    path = write(tmp_path, "f.csv", "b,1,2\na,3,4\n")
    assert read_item_features(path, names, names).matrix.tolist() == [[3, 4], [1, 2]]
    frame = pd.DataFrame({"item": [20, 10], "v": [[1.0, 2.0], [3.0, 4.0]]})
    frame.to_parquet(tmp_path / "f.parquet")
    parquet = read_item_features(tmp_path / "f.parquet", DATA, TRAIN)
    assert parquet.matrix.tolist() == [[0, 0], [3, 4], [1, 2]] and parquet.missing == 1
    np.save(tmp_path / "f.npy", np.array([[1.0], [2.0], [3.0]]))
    identity = Vocabulary.identity(3)
    assert read_item_features(tmp_path / "f.npy", identity, identity).matrix.ravel().tolist() == [
        1,
        2,
        3,
    ]
    np.savez(tmp_path / "f.npz", ids=np.array([30]), vectors=np.array([[9.0, 9.0]]))
    npz = read_item_features(tmp_path / "f.npz", DATA, TRAIN)
    assert npz.matrix[0].tolist() == [9, 9] and npz.missing == 2


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("item,a,b\n10,1,2\n99,3,4\n", "item id 99 is not in the data", 3),
        ("10,1,2\n20,3\n", "ragged vectors: 1 values here, 2 elsewhere", 2),
        ("10,1,2\n20,3,4,5\n", "malformed line", 2),
        ('10,"[1, 2]"\n20,"[3]"\n', "ragged vectors: 1 values here, 2 on the first line", 2),
        ("10,1,2\n20,x,4\n", "expected a number in the vector, got 'x'", 2),
        ("10,1,2\n20,nan,4\n", "NaN or infinite", 2),
        ("10,1,2\n20,inf,4\n", "NaN or infinite", 2),
        ("10,1,2\n10,3,4\n", "item id 10 has a second vector", 2),
        ("item,a\n", "no rows", None),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path, text, message, line):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match=message) as caught:
        read_item_features(path, DATA, TRAIN)
    assert str(path) in str(caught.value)
    if line is not None:
        assert f"line {line}" in str(caught.value)


def test_npy_rows_are_ids_with_zero_padding_and_errors_name_the_row(tmp_path):
    one_based = Vocabulary(np.array([1, 2]))
    np.save(tmp_path / "f.npy", np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]))
    vectors = read_item_features(tmp_path / "f.npy", one_based, one_based)
    assert vectors.matrix.tolist() == [[1, 2], [3, 4]] and vectors.missing == 0
    np.save(tmp_path / "g.npy", np.array([[0.0, 0.0], [1.0, np.nan], [3.0, 4.0]]))
    with pytest.raises(DataError, match=r"g.npy: row 1: the vector has a NaN"):
        read_item_features(tmp_path / "g.npy", one_based, one_based)
    np.save(tmp_path / "h.npy", np.ones((4, 2)))
    with pytest.raises(DataError, match=r"h.npy: row 0: item id 0 is not in the data"):
        read_item_features(tmp_path / "h.npy", one_based, one_based)


def test_fractional_ids_are_not_truncated(tmp_path):
    path = write(tmp_path, "f.csv", "10,1,2\n20.5,3,4\n")
    with pytest.raises(DataError, match="line 2: item id '20.5' is not in the data"):
        read_item_features(path, DATA, TRAIN)


def test_unknown_layouts_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="no such item features file"):
        read_item_features(tmp_path / "none.csv", DATA, TRAIN)
    with pytest.raises(DataError, match="must be one of"):
        read_item_features(write(tmp_path, "f.json", "{}"), DATA, TRAIN)
    np.save(tmp_path / "f.npy", np.zeros(3))
    with pytest.raises(DataError, match="2-D numeric array"):
        read_item_features(tmp_path / "f.npy", DATA, TRAIN)


def test_genre_vectors_are_multi_hot():
    data = make_synthetic(n_users=20, n_items=30, seed=0).data
    frame = genre_vectors(data)
    assert frame.columns[0] == "item" and len(frame) == 30
    hot = frame.iloc[:, 1:].to_numpy()
    assert set(np.unique(hot)) <= {0, 1} and (hot.sum(1) >= 1).all()
    first = data.items["genres"].iloc[0].split("|")
    assert sorted(frame.columns[1:][hot[0] == 1]) == sorted(first)
