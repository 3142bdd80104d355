"""Bad input fails loudly, naming the file, line and value, or follows a documented rule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ncf.data.io.formats import read_path
from ncf.data.preprocess import PrepareConfig
from ncf.errors import DataError
from ncf.experiment.preparation import prepare_source

NCF_OK = {"x.test.rating": "0\t3\n1\t2\n", "x.test.negative": "(0,3)\t0\t4\n(1,2)\t4\t3\n"}

CASES = {
    # malformed lines
    "csv extra field": ({"r.csv": "user,item\n1,2\n3,4,5,6\n"}, r"r.csv, line 3: malformed line"),
    "u.data extra field": (
        {"u.data": "1\t2\t5\t10\n1\t3\t4\t11\t9\n"},
        r"u.data, line 2: malformed line",
    ),
    "ratings.dat short line": (
        {"ratings.dat": "1::2::5::10\n1::3::4\n"},
        r"ratings.dat, line 2: column 'time': expected a number, got an empty field",
    ),
    "lists non-integer": ({"train.txt": "0 1 2\n1 3.5\n", "test.txt": "0 4\n"}, r"line 2: .*'3.5'"),
    # wrong delimiter
    "u.data with commas": (
        {"u.data": "1,2,5,10\n1,3,4,11\n"},
        r"u.data, line 1: expected 4 tab-separated fields per line, found 1; is the delimiter",
    ),
    "ncf train with commas": (
        {"x.train.rating": "0,1,5\n1,0,4\n", **NCF_OK},
        r"x.train.rating, line 1: expected 2 to 4 tab-separated columns, found 1",
    ),
    "table with an unknown delimiter": (
        {"r.csv": "1#2#5\n3#4#4\n"},
        r"r.csv: one column only \('1#2#5'\); fields must be separated by",
    ),
    # missing or misnamed columns
    "ratings.csv misnamed": (
        {"ratings.csv": "user,movieId,rating,timestamp\n1,2,5,10\n"},
        r"ratings.csv, line 1: missing column\(s\) \['userId'\]; the header has \['user', ",
    ),
    "interactions.tsv missing": (
        {"interactions.tsv": "user_id\tmovie_id\trating\n1\t2\t5\n"},
        r"interactions.tsv, line 1: missing column\(s\) \['seq_pos', 'timestamp'\]",
    ),
    "table without an item column": (
        {"r.csv": "user,thing\n1,2\n"},
        r"r.csv: no item column among \['user', 'thing'\]; name it with --columns item:COLUMN "
        r"\(or by position: --columns user:0,item:1\)",
    ),
    # non-numeric, NaN, negative, huge
    "non-numeric id": (
        {"r.csv": "user,item\n1,2\n3,x\n"},
        r"line 3: column 'item': expected a number, got 'x'",
    ),
    "NaN rating": (
        {"r.csv": "user,item,rating\n1,2,4\n3,4,nan\n"},
        r"line 3: column 'rating': expected a number, got an empty field",
    ),
    "infinite rating": (
        {"ratings.dat": "1::2::5::10\n1::3::inf::11\n"},
        r"ratings.dat, line 2: column 'rating': expected a finite number",
    ),
    "huge rating": (
        {"r.csv": "user,item,rating\n1,2,4\n3,4,1e39\n"},
        r"line 3: column 'rating': number too large, got",
    ),
    "negative id": ({"r.csv": "user,item\n1,2\n-3,4\n"}, r"line 3: negative user id -3"),
    "negative id in u.data": (
        {"u.data": "1\t2\t5\t10\n1\t-3\t4\t11\n"},
        r"line 2: negative item id -3",
    ),
    "huge id": (
        {"r.csv": "user,item\n1,2\n99999999999999999999,4\n"},
        r"line 3: column 'user': integer out of the 64-bit range",
    ),
    "huge id in ncf files": (
        {"x.train.rating": "0\t1\n1\t99999999999999999999\n", **NCF_OK},
        r"x.train.rating, line 2: column 1: integer out of the 64-bit range",
    ),
    "huge id in lists": (
        {"train.txt": "0 1\n1 99999999999999999999\n", "test.txt": "0 2\n"},
        r"train.txt, line 2: expected an integer id >= 0 within 64 bits",
    ),
    "fractional id": (
        {"r.csv": "user,item\n1,2\n3,4.5\n"},
        r"line 3: column 'item': expected an integer, got 4.5",
    ),
    "missing id": ({"r.csv": "user,item\n1,2\n,4\n"}, r"r.csv, line 3: missing user id"),
    # empty files
    "empty table": ({"r.csv": ""}, r"r.csv: file is empty"),
    "damaged parquet": (
        {"r.parquet": b"PAR1 not really parquet PAR1"},
        r"r.parquet: cannot read parquet",
    ),
    "header only": ({"r.csv": "user,item,rating\n"}, r"r.csv: no rows"),
    "empty u.data": ({"u.data": ""}, r"u.data: file is empty"),
    "empty ncf train": ({"x.train.rating": "", **NCF_OK}, r"x.train.rating: file is empty"),
    "empty lists": ({"train.txt": "\n", "test.txt": "0 1\n"}, r"train.txt: file is empty"),
    # non-UTF-8 text outside MovieLens title files
    "latin-1 id in a table": (
        {"r.csv": "user,item\nana,2\nb\xe9a,3\n".encode("latin-1")},
        r"r.csv, line 3: byte 0xe9 is not UTF-8 text",
    ),
    # a .test.negative line that disagrees with its .test.rating line
    "negatives disagree": (
        {
            "x.train.rating": "0\t1\n1\t0\n",
            "x.test.rating": "0\t3\n1\t2\n",
            "x.test.negative": "(0,3)\t0\t4\n(1,3)\t4\t0\n",
        },
        r"x.test.negative, line 2: pair \(1,3\) disagrees with the test file's \(1,2\)",
    ),
    "negatives with a huge id": (
        {
            "x.train.rating": "0\t1\n1\t0\n",
            "x.test.rating": "0\t3\n1\t2\n",
            "x.test.negative": "(0,3)\t0\t4\n(99999999999999999999,2)\t4\t3\n",
        },
        r"x.test.negative, line 2: column 0: integer out of the 64-bit range",
    ),
    "negatives missing a line": (
        {
            "x.train.rating": "0\t1\n1\t0\n",
            "x.test.rating": "0\t3\n1\t2\n",
            "x.test.negative": "(0,3)\t0\t4\n",
        },
        r"x.test.negative: 1 lines, but the test file has 2",
    ),
    "negatives short line": (
        {
            "x.train.rating": "0\t1\n1\t0\n",
            "x.test.rating": "0\t3\n1\t2\n",
            "x.test.negative": "(0,3)\t0\t4\n(1,2)\t4\n",
        },
        r"x.test.negative, line 2: fewer negatives than on the first line",
    ),
}


def write(folder, files):
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    single = [name for name in files if name.startswith("r.")]
    return folder / single[0] if single else folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_file_line_and_value(tmp_path, case):
    files, message = CASES[case]
    with pytest.raises(DataError, match=message):
        read_path(write(tmp_path, files))


def test_the_command_line_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, CASES["huge id"][0])
    done = subprocess.run(
        [sys.executable, "-m", "ncf.cli", "data", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "r.csv, line 3: column 'user': integer out of the 64-bit range" in done.stderr


def test_duplicates_and_filters_are_dropped_by_rule_and_counted(tmp_path):
    rows = "user,item,rating,timestamp\n" + "".join(
        f"{u},{i},{r},{t}\n"
        for u, i, r, t in [
            (1, 10, 5, 1),
            (1, 10, 2, 5),  # the same pair later: the later row is kept
            (1, 11, 4, 2),
            (1, 12, 1, 3),  # below the threshold
            (2, 10, 5, 4),
            (2, 11, 5, 6),
            (3, 10, 5, 7),  # user 3 is below min_user
        ]
    )
    path = tmp_path / "r.csv"
    path.write_text(rows)
    source, log = prepare_source(read_path(path), PrepareConfig(implicit_threshold=4, min_user=2))
    assert log.read == 7 and log.kept == 4 == len(source.data)
    assert log.dropped == {
        "rating < 4": 2,  # (1, 12) and the later (1, 10) with rating 2
        "user with < 2 interactions": 1,  # user 3
    }
    assert source.data.user_vocab.ids.tolist() == [1, 2]
    source, log = prepare_source(read_path(path), PrepareConfig())
    assert log.dropped == {"duplicate (user, item), older row": 1}
    kept = source.data.ratings[(source.data.user_ids == 0) & (source.data.item_ids == 0)]
    assert kept.tolist() == [2.0]
    with pytest.raises(DataError, match="no interactions left after filtering"):
        prepare_source(read_path(path), PrepareConfig(min_user=10))


def test_given_splits_keep_their_rows_and_say_so(tmp_path):
    write(
        tmp_path,
        {
            "x.train.rating": "0\t1\n0\t1\n1\t0\n",
            "x.test.rating": "0\t3\n1\t2\n",
            "x.test.negative": "(0,3)\t3\t4\n(1,2)\t4\t3\n",
        },
    )
    source, log = prepare_source(read_path(tmp_path), PrepareConfig())
    assert log.kept == 5 and not log.dropped
    assert log.notes == {
        "duplicate (user, item) rows, kept: the files fix the split": 1,
        "test rows whose negatives include the test item, kept": 1,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ncf.cli", "data", "info", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", **__import__("os").environ},
    )
    assert done.returncode == 0, done.stderr
    assert "duplicate (user, item) rows, kept" in done.stdout


def test_movielens_titles_in_iso_8859_1_are_read(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1::5::10\n")
    (tmp_path / "movies.dat").write_bytes("1::Caf\xe9 (1995)::Comedy\n".encode("latin-1"))
    data = read_path(tmp_path).data
    assert data.items.loc[0, "title"] == "Café (1995)"
    assert np.array_equal(data.item_vocab.ids, [1])
