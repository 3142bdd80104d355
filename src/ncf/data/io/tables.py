"""Generic interaction tables: csv / tsv / txt / dat / parquet, with or without a header.

The delimiter (``,`` tab ``;`` ``|`` space ``::``) and the header are detected; columns are
found by common names or given by role, by name or by 0-based position.

    >>> source = read_table(Path("ratings.csv"), {"user": "0", "item": "1"})
    >>> source.data.n_users
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import from_raw
from ncf.data.io.common import (
    COLUMN_GUESSES,
    check_text,
    id_column,
    numeric_column,
    read_csv,
    read_double_colon,
    read_parquet,
)
from ncf.data.io.source import Source
from ncf.errors import DataError

ROLES = ("user", "item", "rating", "time")
_KNOWN_NAMES = {name for names in COLUMN_GUESSES.values() for name in names}
_SAMPLE_BYTES = 65536
_SAMPLE_LINES = 200  # lines the header rule looks at


def read_table(path: Path, columns: dict[str, str] | None = None) -> Source:
    """A csv / tsv / txt / dat / parquet table of interactions.

    The first line is a header when (in this order):

    1. one of its fields is a known column name (``user_id``, ``movieId``, ``rating``,
       ``timestamp`` ..., any case) or a column name given in ``columns``: header;
    2. a column is numeric on the lines below (in the first 200) but not on the first
       line: header;
    3. a column is numeric on the first line and below: no header (``alice,a,4.5,1600``);
    4. otherwise every field is text: no header when a first-line value recurs in its
       column below (ids repeat: ``alice,a`` / ``alice,b``), a header when none does
       (``who,what`` / ``alice,a`` / ``bob,b``). A one-line text file is a header.

    Columns are found by common names or given by ``columns`` (role -> column name, or
    0-based position, in files with or without a header). A headerless file's columns are
    user, item[, rating[, time]] by position; roles given in ``columns`` take their
    columns first, the others keep their position when it is free.

    Args:
        path: the table.
        columns: role (``user``, ``item``, ``rating``, ``time``) -> column name or position.

    Returns:
        A `Source` without a given split.
    """
    columns = dict(columns or {})
    if path.suffix == ".parquet":
        frame = read_parquet(path)
        header, first_line, why = True, 1, ""  # errors name the 1-based row
    else:
        frame, header, why = _read_text_table(path, columns)
        first_line = 2 if header else 1
    if frame.shape[1] < 2:
        raise DataError(
            f"one column only ({str(frame.columns[0])!r}); fields must be separated by "
            "',', tab, ';', '|', a space or '::'",
            path,
        )
    found = map_columns(frame, columns, path, header, note=why)
    return frame_source(frame, found, path, first_line)


def _read_text_table(path: Path, columns: dict[str, str]) -> tuple[pd.DataFrame, bool, str]:
    """The table, whether its first line was a header, and why when that was a guess."""
    with path.open("rb") as file:
        raw = file.read(_SAMPLE_BYTES)
    if not raw.strip():
        raise DataError("file is empty", path)
    check_text(path, raw)
    head = re.split(r"\r\n|\r|\n", raw.decode("utf-8", errors="replace"))
    if len(raw) == _SAMPLE_BYTES and len(head) > 1:
        head = head[:-1]  # the last line may be cut
    head = [line for line in head[:_SAMPLE_LINES] if line.strip()]
    if not head:
        raise DataError("file is empty", path)
    names = {name.lower() for name in columns.values() if not name.isdigit()}
    if "::" in "\n".join(head[:20]):
        header, why = header_rule(_sample_frame(head, "::"), names)
        frame = read_double_colon(path, None, "utf-8", header=0 if header else None)
        return frame, header, why
    try:
        delimiter = csv.Sniffer().sniff("\n".join(head[:20]), delimiters=",\t;| ").delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in head[0] else ","
    header, why = header_rule(_sample_frame(head, delimiter), names)
    frame = read_csv(path, sep=delimiter, header=0 if header else None, skipinitialspace=True)
    return frame, header, why


def _sample_frame(lines: list[str], delimiter: str) -> pd.DataFrame:
    """The sample lines split into fields, as text ("" for a missing field)."""
    text = "\n".join(lines)
    if delimiter == "::":
        text, delimiter = text.replace("::", "\t"), "\t"
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            on_bad_lines="skip",
            quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError):
        frame = pd.DataFrame([lines[0].split(delimiter)]) if lines else pd.DataFrame()
    return frame.fillna("").astype(str)


_GUESSED = "the first line was taken for a header, since none of its values recurs below it"


def has_header(sample: pd.DataFrame, names: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether the first row of ``sample`` (fields as text) is a header; see `read_table`.

    Args:
        sample: (n, c) the first lines of a file, split into fields.
        names: lower-case column names the caller gave.
    """
    return header_rule(sample, names)[0]


def header_rule(
    sample: pd.DataFrame, names: set[str] | frozenset[str] = frozenset()
) -> tuple[bool, str]:
    """`has_header`, with a note when the all-text rule (4) decided for a header."""
    if sample.empty:
        return False, ""
    first = sample.iloc[0].str.strip().str.strip("\"'")
    if first.str.lower().isin(_KNOWN_NAMES | set(names)).any():
        return True, ""
    below = sample.iloc[1:]
    numeric_first = pd.to_numeric(first, errors="coerce").notna().to_numpy()
    as_numbers = below.apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    filled = (below.apply(lambda column: column.str.strip()) != "").to_numpy()
    numeric = as_numbers.notna().to_numpy()
    # numeric below: at least half the filled fields (one bad value does not flip it)
    numeric_below = 2 * (numeric & filled).sum(axis=0) >= np.maximum(filled.sum(axis=0), 1)
    numeric_below &= filled.any(axis=0)
    if (numeric_below & ~numeric_first).any():
        return True, ""
    if (numeric_below & numeric_first).any() or numeric_first.all():
        return False, ""
    recurs = (below.apply(lambda column: column.str.strip()).to_numpy() == first.to_numpy()).any()
    return (False, "") if recurs else (True, _GUESSED)


def map_columns(
    frame: pd.DataFrame, columns: dict[str, str], path: Path, header: bool, note: str = ""
) -> dict[str, object]:
    """Role -> column of ``frame``; a headerless frame's mapped columns are renamed to their
    roles (so that errors say ``column 'rating'``).

    Args:
        frame: the table; a headerless one has the columns ``0 .. c - 1``.
        columns: role -> column name or 0-based position, as given by the caller.
        path: the file, for errors.
        header: whether the frame's column names came from the file.
        note: added to the error for a missing user or item column.
    """
    n_columns = frame.shape[1]
    found: dict[str, object] = {}
    for role, name in columns.items():
        if name.isdigit() and (not header or name not in frame.columns):
            if int(name) >= n_columns:
                raise DataError(
                    f"no column {name} for {role}: the file has {n_columns} columns "
                    f"(positions 0 to {n_columns - 1})",
                    path,
                )
            found[role] = frame.columns[int(name)]
        elif header and name in frame.columns:
            found[role] = name
        elif header:
            raise DataError(
                f"no column {name!r} for {role}; columns are {[str(c) for c in frame.columns]}",
                path,
            )
        else:
            raise DataError(
                f"no column {name!r} for {role}: the file has no header (its first line is "
                "data); give columns by position, e.g. --columns user:0,item:1",
                path,
            )
    taken = list(found.values())
    if len(set(taken)) < len(taken):
        raise DataError(f"two roles name the same column: {columns}", path)
    if header:
        lower = {str(c).lower(): c for c in frame.columns}
        for role, guesses in COLUMN_GUESSES.items():
            hit = next((lower[g] for g in guesses if g in lower), None)
            if role not in found and hit is not None and hit not in taken:
                found[role] = hit
    else:
        for position, role in enumerate(ROLES[:n_columns]):
            if role not in found and position not in taken:
                found[role] = position
        frame.columns = [
            {column: role for role, column in found.items()}.get(c, c) for c in frame.columns
        ]
        found = {role: role for role in found}
    for role in ("user", "item"):
        if role not in found:
            raise DataError(
                f"no {role} column among {[str(c) for c in frame.columns]}; name it with "
                f"--columns {role}:COLUMN (or by position: --columns user:0,item:1)"
                + (f"; {note}" if note else ""),
                path,
            )
    return found


def frame_columns(
    frame: pd.DataFrame,
    found: dict[str, object],
    path: Path,
    first_line: int,
    float_times: bool = False,
    keep_text: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Checked raw columns (users, items, ratings or None, times or None) of ``frame``.

    Args:
        frame: the table as read.
        found: role -> column; ``user`` and ``item`` required.
        path: the file, for errors.
        first_line: the file line of the frame's first row.
        float_times: times are numbers, maybe fractional (floored to whole units), never
            dates (RecBole's ``timestamp:float``).
        keep_text: ids given as strings stay strings (`id_column`).
    """
    users = id_column(frame, found["user"], "user", path, first_line, keep_text)
    items = id_column(frame, found["item"], "item", path, first_line, keep_text)
    ratings = (
        numeric_column(frame, found["rating"], path, first_line) if "rating" in found else None
    )
    times = None
    if "time" in found:
        column = frame[found["time"]]
        text = column.dtype.kind in "OMm" and not pd.api.types.is_numeric_dtype(column)
        dates = text and not float_times and pd.to_numeric(column, errors="coerce").isna().all()
        if dates:
            parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
            if parsed.isna().any():
                parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
            if parsed.isna().any():
                row = int(np.flatnonzero(parsed.isna())[0])
                raise DataError(f"bad time {column.iloc[row]!r}", path, first_line + row)
            epoch = pd.Timestamp("1970-01-01", tz="UTC")  # any resolution (pandas 3: us)
            times = ((parsed - epoch) // pd.Timedelta(1, "s")).to_numpy(np.int64)
        elif float_times:
            seconds = numeric_column(frame, found["time"], path, first_line)
            big = np.flatnonzero(np.abs(seconds) >= 2.0**63)
            if len(big):
                line = first_line + int(big[0])
                raise DataError(f"time {seconds[big[0]]} is out of range", path, line)
            times = np.floor(seconds).astype(np.int64)
        else:
            times = numeric_column(frame, found["time"], path, first_line, integer=True)
    return users, items, ratings, times


def frame_source(
    frame: pd.DataFrame, found: dict[str, object], path: Path, first_line: int
) -> Source:
    """A `Source` of the columns ``found`` (role -> column) of ``frame``; see `frame_columns`."""
    users, items, ratings, times = frame_columns(frame, found, path, first_line)
    data = from_raw(users, items, ratings=ratings, times=times)
    return Source(data, name=str(path), ordered=times is not None)
