"""RecBole atomic files: whole datasets, benchmark splits, item metadata, bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ncf.data.io.formats import read_path
from ncf.data.io.source import TEST, TRAIN, VALID
from ncf.data.splits import make_split
from ncf.errors import DataError

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
INTER = HEADER + "1\t10\t4\t100\n1\t11\t5\t101.7\n2\t10\t3\t102\n"
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "10\tToy Story\t1995\tAnimation Children's Comedy\n"
    "11\tSeven (Se7en)\t1995\tCrime Thriller\n"
    "12\tTwo Friends (1986)\t1986\tDrama\n"
    "13\tunknown\tunknown\tunknown\n"
)


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_a_folder_with_inter_and_item_files(tmp_path):
    folder = write(tmp_path / "toy", {"toy.inter": INTER, "toy.item": ITEM})
    source = read_path(folder)
    data = source.data
    assert source.part is None
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    assert data.ratings.tolist() == [4.0, 5.0, 3.0]
    assert data.times.tolist() == [100, 101, 102]  # fractional seconds floored
    assert data.items.to_dict("list") == {
        "title": ["Toy Story (1995)", "Seven (Se7en) (1995)"],
        "genres": ["Animation|Children's|Comedy", "Crime|Thriller"],
    }
    same = read_path(folder / "toy.inter")  # a path to the .inter file: the same data
    assert same.data.to_frame().equals(data.to_frame()) and same.data.items is not None


def test_metadata_matches_the_movielens_readers(tmp_path):
    folder = write(tmp_path / "toy", {"toy.inter": INTER + "2\t12\t4\t103\n2\t13\t1\t104\n"})
    write(folder, {"toy.item": ITEM})
    items = read_path(folder).data.items
    # a year already in the title is not repeated; a year that is not one is not added
    assert items["title"].tolist()[2:] == ["Two Friends (1986)", "unknown"]
    assert items["genres"].tolist()[2:] == ["Drama", "unknown"]


def test_the_real_ml100k_as_an_atomic_file_gives_the_same_data(tmp_path, shared_data):
    frame = pd.read_csv(shared_data / "ml-100k" / "u.data", sep="\t", header=None)
    frame.columns = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    frame.to_csv(folder / "ml-100k.inter", sep="\t", index=False)
    data = read_path(folder).data
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1682)
    official = read_path(shared_data / "ml-100k").data
    assert data.to_frame().equals(official.to_frame())
    # the benchmark layout of the same rows: 80,000 / 10,000 / 10,000 in file order
    lines = (folder / "ml-100k.inter").read_text().splitlines(keepends=True)
    (folder / "ml-100k.inter").unlink()
    chunks = {"train": lines[1:80_001], "valid": lines[80_001:90_001], "test": lines[90_001:]}
    for name, chunk in chunks.items():
        (folder / f"ml-100k.{name}.inter").write_text(lines[0] + "".join(chunk))
    source = read_path(folder)
    assert np.bincount(source.part).tolist() == [80_000, 10_000, 10_000]
    assert (source.data.n_users, source.data.n_items) == (943, 1682)
    split = make_split(source, "given", np.random.default_rng(0))
    assert split.counts() == {"train": 80_000, "valid": 10_000, "test": 10_000}


def test_benchmark_split_files(tmp_path):
    folder = write(
        tmp_path / "toy",
        {
            "toy.train.inter": HEADER + "1\t10\t4\t1\n1\t11\t5\t2\n2\t10\t3\t3\n2\t12\t3\t4\n",
            "toy.valid.inter": HEADER + "1\t12\t2\t5\n",
            "toy.test.inter": HEADER + "1\t13\t1\t6\n2\t11\t5\t7\n",
            "toy.item": ITEM,
        },
    )
    source = read_path(folder)
    assert source.part.tolist() == [TRAIN] * 4 + [VALID] + [TEST] * 2
    assert (source.data.n_users, source.data.n_items) == (2, 4)
    assert source.data.items["title"].tolist()[0] == "Toy Story (1995)"
    split = make_split(source, "given", np.random.default_rng(0))
    assert split.counts() == {"train": 4, "valid": 1, "test": 2}
    (folder / "toy.valid.inter").write_text(HEADER)  # a header only: no validation rows
    assert (read_path(folder).part == VALID).sum() == 0
    (folder / "toy.valid.inter").unlink()
    assert read_path(folder).part.tolist() == [TRAIN] * 4 + [TEST] * 2
    whole = read_path(folder / "toy.train.inter")  # one file read whole, with toy.item
    assert whole.part is None and len(whole.data) == 4 and whole.data.items is not None


def test_field_names_are_mapped_by_name_without_their_type(tmp_path):
    yelp = (
        "review_id:token\tuser_id:token\tbusiness_id:token\tstars:float\tdate:float\n"
        "r1\tu_a\tb_x\t5\t1500000000\nr2\tu_b\tb_x\t2\t1500000001\nr3\tu_a\tb_y\t4\t1.5e9\n"
    )
    data = read_path(write(tmp_path / "yelp", {"yelp.inter": yelp})).data
    assert data.user_vocab.ids.tolist() == ["u_a", "u_b"]
    assert data.item_vocab.ids.tolist() == ["b_x", "b_y"]
    assert data.ratings.tolist() == [5.0, 2.0, 4.0]
    assert data.times.tolist() == [1_500_000_000, 1_500_000_001, 1_500_000_000]
    music = "uid:token\tsong:token\tplays:float\n1\t7\t3\n2\t7\t1\n"
    folder = write(tmp_path / "music", {"music.inter": music})
    with pytest.raises(DataError, match=r"music.inter: no item column .* --columns item:COLUMN"):
        read_path(folder)
    data = read_path(folder, {"item": "song", "rating": "plays"}).data
    assert data.item_vocab.ids.tolist() == [7] and data.ratings.tolist() == [3.0, 1.0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.inter": "user_id\titem_id\n1\t2\n"}, r"x.inter, line 1: header field 'user_id': "),
        ({"x.inter": "user_id:token,item_id:token\n1,2\n"}, r"x.inter, line 1: one column only"),
        ({"x.inter": "user_id:int\titem_id:token\n1\t2\n"}, r"header field 'user_id:int'"),
        (
            {"x.inter": "user_id:token_seq\titem_id:token\n1 2\t2\n"},
            r"x.inter, line 1: the user field 'user_id' is token_seq",
        ),
        ({"x.inter": HEADER + "1\t2\t4\t5\n1\t3\tfour\t6\n"}, r"x.inter, line 3: column 'rating'"),
        ({"x.inter": HEADER + "1\t2\t4\t5\n1\t-3\t4\t6\n"}, r"x.inter, line 3: negative item id"),
        ({"x.inter": HEADER + "1\t2\t4\t5\n1\t3\t4\t6\t7\n"}, r"x.inter, line 3: malformed line"),
        ({"x.inter": HEADER}, r"x.inter: no rows"),
        ({"x.inter": HEADER + "1\t2\t4\tnoon\n"}, r"x.inter, line 2: column 'timestamp'"),
        ({"x.inter": INTER, "x.item": "id:token\tname:token\n1\ta\n"}, r"x.item, line 1: no item"),
        ({"a.inter": INTER, "b.inter": INTER}, r"several RecBole datasets \(a, b\)"),
        ({"x.train.inter": INTER}, r"RecBole files x.train.inter: expected NAME.inter"),
        ({"x.inter": b"\x93NUMPY\x01\x00v\x00"}, r"x.inter: unsupported file type: NumPy"),
    ],
)
def test_bad_atomic_files_name_the_file_and_line(tmp_path, files, message):
    folder = tmp_path / "data"
    folder.mkdir()
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_path(folder)


def test_data_info_shows_the_given_split(tmp_path):
    folder = write(
        tmp_path / "toy",
        {
            "toy.train.inter": HEADER + "1\t10\t4\t1\n1\t11\t5\t2\n2\t10\t3\t3\n",
            "toy.test.inter": HEADER + "1\t12\t1\t6\n2\t11\t5\t7\n",
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "ncf.cli", "data", "info", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "3 / 0 / 2" in done.stdout and "interactions" in done.stdout


def test_an_id_only_item_file_means_no_metadata(tmp_path):
    folder = write(tmp_path / "toy", {"toy.inter": INTER, "toy.item": "item_id:token\n10\n11\n"})
    source = read_path(folder)
    assert len(source.data) == 3 and source.data.items is None
