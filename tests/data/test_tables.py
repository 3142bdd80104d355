"""Generic tables: the header detected by content, columns by name or position."""

from __future__ import annotations

import pandas as pd
import pytest

from ncf.data.io.formats import read_path
from ncf.data.io.tables import has_header, read_table
from ncf.errors import DataError

STRING_IDS = "alice,item_a,4.5,1600000000\nbob,item_b,3,1600000001\nalice,item_b,2,1600000002\n"


def rows(path, columns=None):
    return read_path(path, columns).data.to_frame().to_dict("list")


def sample(text: str) -> pd.DataFrame:
    return pd.DataFrame([line.split(",") for line in text.strip().split("\n")])


def test_headerless_csv_with_string_ids(tmp_path):
    (tmp_path / "r.csv").write_text(STRING_IDS)
    assert rows(tmp_path / "r.csv") == {
        "user": ["alice", "bob", "alice"],
        "item": ["item_a", "item_b", "item_b"],
        "rating": [4.5, 3.0, 2.0],
        "time": [1600000000, 1600000001, 1600000002],
    }
    data = read_path(tmp_path / "r.csv").data
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)


@pytest.mark.parametrize(
    ("text", "header"),
    [
        # 1. a known column name, any case, or one the caller names
        ("USER_ID,Thing\nalice,a\nbob,b", True),
        ("Rating,who,what\n4,alice,a\n3,alice,b", True),
        # 2. a column numeric below but not on the first line
        ("who,what,score_x\nalice,a,4\nbob,b,3", True),
        # 3. a column numeric on the first line and below: data
        ("alice,a,4\nbob,b,3", False),
        ("1,2\n3,4", False),
        # 4. all text: data when a first-line value recurs in its column ...
        ("alice,a\nalice,b\nbob,a", False),
        ("alice,a\nbob,c\ncarol,a", False),
        # ... a header when none does
        ("who,what\nalice,a\nbob,b", True),
        ("alice,a\nbob,b", True),
        ("who,what", True),
    ],
)
def test_the_header_rule(text, header):
    assert has_header(sample(text)) is header


def test_a_column_name_given_by_the_caller_makes_a_header():
    text = "person,thing\nann,thing\nbob,y"  # "thing" recurs: data, unless a name is known
    assert has_header(sample(text)) is False
    assert has_header(sample(text), {"person"}) is True


def test_the_ambiguous_case_both_ways(tmp_path):
    (tmp_path / "ids.csv").write_text("alice,a\nalice,b\nbob,a\n")  # ids recur: no header
    assert rows(tmp_path / "ids.csv") == {"user": ["alice", "alice", "bob"], "item": list("aba")}
    (tmp_path / "named.csv").write_text("who,what\nalice,a\nbob,b\n")  # names do not
    with pytest.raises(DataError, match="none of its values recurs below it"):
        read_path(tmp_path / "named.csv")
    assert rows(tmp_path / "named.csv", {"user": "who", "item": "what"}) == {
        "user": ["alice", "bob"],
        "item": ["a", "b"],
    }


@pytest.mark.parametrize("header", [True, False])
def test_positions_work_with_and_without_a_header(tmp_path, header):
    text = "when,product,person,stars\n" if header else ""
    text += "100,p1,ann,4\n101,p2,bob,5\n102,p1,ann,3\n"
    (tmp_path / "r.csv").write_text(text)
    columns = {"user": "2", "item": "1", "rating": "3", "time": "0"}
    assert rows(tmp_path / "r.csv", columns) == {
        "user": ["ann", "bob", "ann"],
        "item": ["p1", "p2", "p1"],
        "rating": [4.0, 5.0, 3.0],
        "time": [100, 101, 102],
    }
    partial = rows(tmp_path / "r.csv", {"user": "2", "item": "1"})
    assert partial["user"] == ["ann", "bob", "ann"] and partial["item"] == ["p1", "p2", "p1"]
    assert ("rating" in partial) is header  # by its name "stars"; position 2 is taken


def test_headerless_positions_leave_other_roles_at_their_free_positions(tmp_path):
    (tmp_path / "r.txt").write_text("7 1 5 100\n7 2 4 101\n8 1 3 102\n")
    assert rows(tmp_path / "r.txt", {"user": "1", "item": "0"}) == {
        "user": [1, 2, 1],
        "item": [7, 7, 8],
        "rating": [5.0, 4.0, 3.0],
        "time": [100, 101, 102],
    }
    data = read_table(tmp_path / "r.txt", {"item": "2"}).data  # rating's column is taken
    assert data.ratings is None and data.item_vocab.ids.tolist() == [3, 4, 5]


def test_dates_as_times(tmp_path):
    (tmp_path / "r.csv").write_text("ann,a,4,2020-01-01\nbob,b,3,2020-01-02T00:00:01Z\n")
    assert rows(tmp_path / "r.csv")["time"] == [1577836800, 1577923201]


def test_double_colon_tables_with_a_header(tmp_path):
    (tmp_path / "r.dat").write_text("UserID::MovieID::Rating\n1::10::5\n2::10::3\n")
    assert rows(tmp_path / "r.dat") == {"user": [1, 2], "item": [10, 10], "rating": [5.0, 3.0]}
    (tmp_path / "r.dat").write_text("ann::m1::5\nann::m2::3\n")
    assert rows(tmp_path / "r.dat")["item"] == ["m1", "m2"]


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        (STRING_IDS, {"user": "who"}, r"r.csv: no column 'who' for user: the file has no header"),
        (STRING_IDS, {"user": "9"}, r"r.csv: no column 9 for user: the file has 4 columns"),
        ("user,item\n1,2\n", {"user": "5"}, r"no column 5 for user: the file has 2 columns"),
        ("user,item\n1,2\n", {"rating": "stars"}, r"no column 'stars' for rating; columns are"),
        (STRING_IDS, {"user": "0", "item": "0"}, r"two roles name the same column"),
        ("who,what\n1,2\n", None, r"no user column .* --columns user:COLUMN .*user:0,item:1\)$"),
        ("alice,x\nbob,4.5\n", None, r"r.csv: no user column among \['alice', 'x'\]"),
        ("ann,a,4\nbob,b,3\ncat,c,x\n", None, r"r.csv, line 3: column 'rating': .* got 'x'"),
        ("ann,a,4,1\nbob,b,3,noon\n", None, r"r.csv, line 2: column 'time': .* got 'noon'"),
        ("ann,a,4,2020-01-01\nbob,b,3,noon\n", None, r"r.csv, line 2: bad time 'noon'"),
        ("user,item\n1,2\n,3\n", None, r"r.csv, line 3: missing user id"),
    ],
)
def test_bad_tables_and_mappings(tmp_path, text, columns, message):
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_path(tmp_path / "r.csv", columns)


def test_blank_or_odd_line_breaks_only_are_empty(tmp_path):
    (tmp_path / "r.dat").write_bytes(b"\x1c\x1d\n")
    with pytest.raises(DataError, match="r.dat: file is empty"):
        read_path(tmp_path / "r.dat")
