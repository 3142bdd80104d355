"""Readers for the interaction formats of the field.

Each reader returns a `Source`: all interactions, and for formats that fix the split
(the NCF benchmark files, ``train.txt`` / ``test.txt`` lists, a saved split) which rows
are train / valid / test plus any given test negatives.

    >>> source = read_path("data/ml-1m/ncf")        # NCF benchmark folder
    >>> source.data.n_users, source.test_negatives.shape
    (6040, (6040, 99))
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, from_raw
from ncf.errors import DataError

TRAIN, VALID, TEST = 0, 1, 2


@dataclass(frozen=True)
class Source:
    """Interactions as read from disk.

    Attributes:
        data: every interaction read (all parts of a given split together).
        name: where it came from, for labels.
        part: (n,) int8 per row, TRAIN / VALID / TEST, when the files fix the split.
        test_negatives: (n_test, N) item indices, aligned with the TEST rows in row order.
    """

    data: Interactions
    name: str
    part: np.ndarray | None = None
    test_negatives: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers


def _read_csv(path: Path | io.StringIO, name: Path | None = None, **kwargs: object) -> pd.DataFrame:
    """`pandas.read_csv` whose errors name the file (``name`` when reading a buffer) and line."""
    source, path = path, name or path  # type: ignore[assignment]
    try:
        frame = pd.read_csv(source, **kwargs)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", path) from None
    except pd.errors.ParserError as err:
        match = re.search(r"line (\d+)", str(err))
        line = int(match.group(1)) if match else None
        raise DataError(
            f"malformed line ({str(err).splitlines()[-1].strip()})", path, line
        ) from None
    except UnicodeDecodeError:
        raise _not_utf8(Path(path)) from None
    if frame.empty:
        raise DataError("no rows", path)
    return frame


_INT64_MAX = np.iinfo(np.int64).max
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _bad_value(column: object, values: pd.Series, rows: np.ndarray, problem: str) -> str:
    shown = values.iloc[int(rows[0])]
    shown = shown.item() if isinstance(shown, np.generic) else shown
    got = "an empty field" if pd.isna(shown) or str(shown).strip() == "" else repr(shown)
    return f"column {column!r}: {problem}, got {got}"


def _numeric(
    frame: pd.DataFrame, column: object, path: Path, first_line: int, integer: bool = False
) -> np.ndarray:
    """A numeric column; a bad value fails with its file line (``first_line`` = row 0's line).

    Integers must fit in 64 bits; other numbers must be finite and fit in float32."""
    values = frame[column]
    coerced = values if values.dtype.kind in "iuf" else pd.to_numeric(values, errors="coerce")
    out = coerced.to_numpy()
    if out.dtype.kind == "O":  # mixed big integers and strings
        out = pd.to_numeric(pd.Series(out), errors="coerce").to_numpy(np.float64)
    checks: list[tuple[np.ndarray, str]] = []
    if out.dtype.kind == "f":
        checks.append((np.isnan(out), "expected a number"))
        checks.append((np.isinf(out), "expected a finite number"))
        if integer:
            finite = np.where(np.isfinite(out), out, 0.0)
            checks.append((finite != np.round(finite), "expected an integer"))
            checks.append((np.abs(finite) >= 2.0**63, "integer out of the 64-bit range"))
        else:
            checks.append((np.abs(np.nan_to_num(out)) > _FLOAT32_MAX, "number too large"))
    elif out.dtype.kind == "u":
        checks.append((out > _INT64_MAX, "integer out of the 64-bit range"))
    for bad, problem in checks:
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(_bad_value(column, values, rows, problem), path, first_line + rows[0])
    return out.astype(np.int64) if integer else out.astype(np.float64)


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Fails naming the columns a file lacks and those it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = [str(c) for c in frame.columns]
        raise DataError(f"missing column(s) {missing}; the header has {found}", path, 1)


def _check_ids(ids: np.ndarray, what: str, path: Path, first_line: int) -> None:
    if ids.dtype.kind in "iuf":
        bad = np.flatnonzero(ids < 0)
        if len(bad):
            row = int(bad[0])
            raise DataError(f"negative {what} id {ids[row]}", path, first_line + row)


def _ids(frame: pd.DataFrame, column: object, what: str, path: Path, first_line: int) -> np.ndarray:
    """Raw ids: whole numbers >= 0, or strings (then every value must be a non-empty string)."""
    values = frame[column]
    missing = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise DataError(f"missing {what} id", path, first_line + int(np.flatnonzero(missing)[0]))
    if values.dtype.kind == "O":
        numeric = pd.to_numeric(values, errors="coerce").notna().to_numpy()
        if not numeric.any():
            return values.astype(str).to_numpy(dtype=object)
        if not numeric.all():  # ids are numbers but one is not
            row = int(np.flatnonzero(~numeric)[0])
            raise DataError(
                f"column {column!r}: expected a number, got {values.iloc[row]!r}",
                path,
                first_line + row,
            )
    ids = _numeric(frame, column, path, first_line, integer=True)
    _check_ids(ids, what, path, first_line)
    return ids


def _read_parquet(path: Path, allow_empty: bool = False) -> pd.DataFrame:
    """`pandas.read_parquet` whose errors name the file; rows are reported as lines."""
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for damaged files
        raise DataError(f"cannot read parquet ({type(err).__name__}: {err})", path) from None
    if frame.empty and not allow_empty:
        raise DataError("no rows", path)
    return frame


def _not_utf8(path: Path) -> DataError:
    """The error for a file that is not UTF-8, naming the line of the first bad byte."""
    raw = path.read_bytes() if path.is_file() else b""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        byte = raw[err.start : err.start + 1].hex()
        return DataError(f"byte 0x{byte} is not UTF-8 text; save the file as UTF-8", path, line)
    return DataError("cannot decode text as UTF-8", path)


def _decode_bytes(path: Path, encoding: str, fallback: str | None = None) -> str:
    """The file's text; ``fallback`` is tried when ``encoding`` fails (MovieLens titles are
    ISO-8859-1 in 100K and 1M, UTF-8 in later releases)."""
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        if fallback is not None:
            return raw.decode(fallback)
        if encoding == "utf-8":
            raise _not_utf8(path) from None
        raise DataError(f"cannot decode text as {encoding} ({err.reason})", path) from None


def _read_double_colon(path: Path, names: list[str] | None, encoding: str) -> pd.DataFrame:
    """Reads a ``::``-separated file fast: ``::`` becomes a tab, then the C parser runs.
    Text that is not valid ``encoding`` is read as ISO-8859-1."""
    text = _decode_bytes(path, encoding, fallback="latin-1").replace("::", "\t")
    return _read_csv(
        io.StringIO(text), path, sep="\t", header=None, names=names, quoting=csv.QUOTE_NONE
    )


# --------------------------------------------------------------------------- generic tables

_GUESSES = {
    "user": ["user", "user_id", "userid", "uid", "u", "customer_id", "reviewer_id"],
    "item": [
        "item",
        "item_id",
        "itemid",
        "iid",
        "i",
        "movie_id",
        "movieid",
        "book_id",
        "product_id",
    ],
    "rating": ["rating", "ratings", "score", "r", "stars"],
    "time": ["timestamp", "time", "ts", "date", "datetime", "unix_time"],
}


def parse_columns(text: str) -> dict[str, str]:
    """``"user:uid,item:iid"`` -> ``{"user": "uid", "item": "iid"}``."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = part.partition(":")
        if not sep or role not in _GUESSES:
            raise DataError(
                f"bad column mapping {part!r}; "
                "expected ROLE:COLUMN with ROLE in user,item,rating,time"
            )
        out[role] = column
    return out


def read_table(path: Path, columns: dict[str, str] | None = None) -> Source:
    """A csv / tsv / txt / dat / parquet table of interactions.

    The delimiter and header are detected; columns are found by common names
    (``user_id``, ``movieId``, ``rating``, ``timestamp`` ...) or given by ``columns``
    (role -> column name, or 0-based position for headerless files). A headerless file's
    columns are taken as user, item[, rating[, time]].
    """
    columns = dict(columns or {})
    if path.suffix == ".parquet":
        frame = _read_parquet(path)
        first_line = 1  # errors name the 1-based row
    else:
        raw = path.read_bytes()[:65536]
        if not raw.strip():
            raise DataError("file is empty", path)
        head = raw.decode("utf-8", errors="replace").splitlines()
        sample = "\n".join(head[:20])
        if "::" in sample:
            frame = _read_double_colon(path, None, "utf-8")
            has_header = False
        else:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;| ").delimiter
            except csv.Error:
                delimiter = "\t" if "\t" in head[0] else ","
            first = head[0].split(delimiter)
            has_header = any(not _is_number(field) for field in first[:2])
            frame = _read_csv(
                path, sep=delimiter, header=0 if has_header else None, skipinitialspace=True
            )
        first_line = 2 if has_header else 1
        if not has_header:
            roles = ["user", "item", "rating", "time"][: frame.shape[1]]
            frame.columns = [*roles, *range(len(roles), frame.shape[1])]
    if frame.shape[1] < 2:
        raise DataError(
            f"one column only ({str(frame.columns[0])!r}); fields must be separated by "
            "',', tab, ';', '|', a space or '::'",
            path,
        )
    found: dict[str, object] = {}
    lower = {str(c).lower(): c for c in frame.columns}
    for role, guesses in _GUESSES.items():
        if role in columns:
            name = columns[role]
            key = int(name) if name.isdigit() and name not in frame.columns else name
            if key not in frame.columns and not isinstance(key, int):
                raise DataError(
                    f"no column {name!r} for {role}; columns are {[str(c) for c in frame.columns]}",
                    path,
                )
            found[role] = frame.columns[key] if isinstance(key, int) else key
        else:
            hit = next((lower[g] for g in guesses if g in lower), None)
            if hit is not None:
                found[role] = hit
    for role in ("user", "item"):
        if role not in found:
            raise DataError(
                f"no {role} column among {[str(c) for c in frame.columns]}; "
                f"name it with --set columns={role}:COLUMN",
                path,
            )
    users = _ids(frame, found["user"], "user", path, first_line)
    items = _ids(frame, found["item"], "item", path, first_line)
    ratings = _numeric(frame, found["rating"], path, first_line) if "rating" in found else None
    times = None
    if "time" in found:
        column = frame[found["time"]]
        if column.dtype.kind in "OMm" and not pd.api.types.is_numeric_dtype(column):
            parsed = pd.to_datetime(column, errors="coerce", utc=True)
            if parsed.isna().any():
                row = int(np.flatnonzero(parsed.isna())[0])
                raise DataError(f"bad time {column.iloc[row]!r}", path, first_line + row)
            times = parsed.astype("int64").to_numpy() // 10**9
        else:
            times = _numeric(frame, found["time"], path, first_line, integer=True)
    return Source(from_raw(users, items, ratings=ratings, times=times), name=str(path))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_path(path: str | Path, columns: dict[str, str] | None = None) -> Source:
    """Reads whatever ``path`` holds: a folder of a known layout or a table file."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path)
    if path.is_file():
        return read_table(path, columns)
    from ncf.data.given import is_ncf_folder, read_lists, read_ncf

    if is_ncf_folder(path):
        return read_ncf(path)
    if (path / "split.json").exists():
        from ncf.data.splits import read_split_source

        return read_split_source(path)
    if (path / "train.txt").exists() and (path / "test.txt").exists():
        return read_lists(path)
    from ncf.data.movielens import read_ml100k, read_ml_csv, read_ml_dat

    if (path / "u.data").exists():
        return read_ml100k(path)
    if (path / "ratings.dat").exists() or (path / "interactions.tsv").exists():
        return read_ml_dat(path)
    if (path / "ratings.csv").exists():
        return read_ml_csv(path)
    raise DataError(
        "unrecognised folder: expected MovieLens files, NCF *.train.rating files, "
        "train.txt/test.txt lists or a saved split",
        path,
    )
