"""The checks and helpers every reader shares: reading csv and parquet with errors that
name the file, line and value; numeric and id columns; file-type sniffing; the column
names a table's roles are guessed from.

    >>> frame = read_csv(path, sep=",")
    >>> users = id_column(frame, "user_id", "user", path, first_line=2)
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ncf.errors import DataError


def read_csv(path: Path | io.StringIO, name: Path | None = None, **kwargs: object) -> pd.DataFrame:
    """`pandas.read_csv` whose errors name the file (``name`` when reading a buffer) and line."""
    source, path = path, name or path  # type: ignore[assignment]
    if isinstance(source, Path):
        check_text(source)
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
        raise not_utf8(Path(path)) from None
    if frame.empty:
        raise DataError("no rows", path)
    return frame


INT64_MAX = np.iinfo(np.int64).max
FLOAT32_MAX = float(np.finfo(np.float32).max)


def bad_value(column: object, values: pd.Series, rows: np.ndarray, problem: str) -> str:
    shown = values.iloc[int(rows[0])]
    shown = shown.item() if isinstance(shown, np.generic) else shown
    got = "an empty field" if pd.isna(shown) or str(shown).strip() == "" else repr(shown)
    return f"column {column!r}: {problem}, got {got}"


def numeric_column(
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
            checks.append((np.abs(np.nan_to_num(out)) > FLOAT32_MAX, "number too large"))
    elif out.dtype.kind == "u":
        checks.append((out > INT64_MAX, "integer out of the 64-bit range"))
    for bad, problem in checks:
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(bad_value(column, values, rows, problem), path, first_line + rows[0])
    return out.astype(np.int64) if integer else out.astype(np.float64)


def require_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Fails naming the columns a file lacks and those it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = [str(c) for c in frame.columns]
        raise DataError(f"missing column(s) {missing}; the header has {found}", path, 1)


def check_ids(ids: np.ndarray, what: str, path: Path, first_line: int) -> None:
    if ids.dtype.kind in "iuf":
        bad = np.flatnonzero(ids < 0)
        if len(bad):
            row = int(bad[0])
            raise DataError(f"negative {what} id {ids[row]}", path, first_line + row)


def id_column(
    frame: pd.DataFrame,
    column: object,
    what: str,
    path: Path,
    first_line: int,
    keep_text: bool = False,
) -> np.ndarray:
    """Raw ids: whole numbers >= 0, or strings (then every value must be a non-empty
    string). Text that reads as numbers becomes numbers (a file's ``"42"`` is 42) unless
    ``keep_text``: ids given as strings in memory stay the strings given."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # the values, not their codes
        values = values.astype(values.cat.categories.dtype)
        frame = pd.DataFrame({column: values})
    missing = values.isna().to_numpy(copy=True)
    if values.dtype.kind not in "iuf":  # text: a blank field is missing too
        missing |= (values.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise DataError(f"missing {what} id", path, first_line + int(np.flatnonzero(missing)[0]))
    if values.dtype.kind == "O" or isinstance(values.dtype, pd.StringDtype):
        if keep_text and values.map(type).eq(str).all():
            return values.to_numpy(dtype=object)
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
    ids = numeric_column(frame, column, path, first_line, integer=True)
    check_ids(ids, what, path, first_line)
    return ids


def read_parquet(path: Path, allow_empty: bool = False) -> pd.DataFrame:
    """`pandas.read_parquet` whose errors name the file; rows are reported as lines."""
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for damaged files
        raise DataError(f"cannot read parquet ({type(err).__name__}: {err})", path) from None
    finally:  # the Arrow table is gone: hand its pages back (a 25M-row log: 1 GB)
        pa.default_memory_pool().release_unused()
    if frame.empty and not allow_empty:
        raise DataError("no rows", path)
    return frame


def not_utf8(path: Path) -> DataError:
    """The error for a file that is not UTF-8, naming the line of the first bad byte."""
    raw = path.read_bytes() if path.is_file() else b""
    kind = binary_kind(raw[:SNIFF_BYTES])
    if kind is not None:
        return unsupported(path, kind)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        byte = raw[err.start : err.start + 1].hex()
        return DataError(f"byte 0x{byte} is not UTF-8 text; save the file as UTF-8", path, line)
    return DataError("cannot decode text as UTF-8", path)


def decode_bytes(path: Path, encoding: str, fallback: str | None = None) -> str:
    """The file's text; ``fallback`` is tried when ``encoding`` fails (MovieLens titles are
    ISO-8859-1 in 100K and 1M, UTF-8 in later releases)."""
    raw = path.read_bytes()
    check_text(path, raw[:SNIFF_BYTES])
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        if fallback is not None:
            return raw.decode(fallback)
        if encoding == "utf-8":
            raise not_utf8(path) from None
        raise DataError(f"cannot decode text as {encoding} ({err.reason})", path) from None


def read_double_colon(
    path: Path, names: list[str] | None, encoding: str, header: int | None = None
) -> pd.DataFrame:
    """Reads a ``::``-separated file fast: ``::`` becomes a tab, then the C parser runs.
    Text that is not valid ``encoding`` is read as ISO-8859-1."""
    text = decode_bytes(path, encoding, fallback="latin-1").replace("::", "\t")
    return read_csv(
        io.StringIO(text), path, sep="\t", header=header, names=names, quoting=csv.QUOTE_NONE
    )


# --------------------------------------------------------------------------- file types

SNIFF_BYTES = 8000  # as git: a NUL byte in the first 8000 bytes makes a file binary

# magic numbers of the binary files people hand to a data loader by mistake
_MAGIC = (
    (b"\x93NUMPY", "NumPy .npy data (name the file .npy)"),
    (b"PK\x03\x04", "a zip archive (.zip, .npz, .xlsx ...)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PAR1", "Parquet data (name the file .parquet)"),
    (b"\x1f\x8b", "gzip-compressed data (decompress it first)"),
    (b"BZh", "bzip2-compressed data (decompress it first)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89HDF\r\n\x1a\n", "HDF5 data"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls)"),
)
_PICKLE = re.compile(rb"\A\x80[\x02-\x05]")
_BZIP2 = re.compile(rb"\ABZh[1-9]1AY&SY")

ACCEPTED = (
    "accepted: UTF-8 text tables (.csv .tsv .txt .dat), sequence .txt files, "
    "RecBole .inter files, .parquet tables, .npy arrays of (user, item[, rating]) rows"
)


def binary_kind(head: bytes) -> str | None:
    """What a file's first bytes say it is when it is not text, or None for text.

    Binary means a known magic number (NumPy, zip, PNG, pickle, compressed data ...) or a
    NUL byte among ``head`` (text never holds one). A stray byte that is not UTF-8 (a
    Latin-1 accent) leaves a file text: it fails later with the line of that byte."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (save the file as UTF-8)"
    for magic, kind in _MAGIC:
        if head.startswith(magic) and (magic != b"BZh" or _BZIP2.match(head)):
            return kind
    if _PICKLE.match(head):
        return "a Python pickle (never loaded: unpickling can run code)"
    if b"\x00" in head[:SNIFF_BYTES]:
        return "binary data"
    return None


def unsupported(path: Path, kind: str) -> DataError:
    return DataError(f"unsupported file type: {kind}; {ACCEPTED}", path)


def side_file(path: Path, suffixes: tuple[str, ...], name: str) -> str:
    """The lower-case suffix of a file read beside the data (an item table, item
    features), once it is known to exist with one of ``suffixes``."""
    if not path.is_file():
        raise DataError(f"no such {name}", path)
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise DataError(f"{name} must be one of {', '.join(suffixes)} files", path)
    return suffix


def check_text(path: Path, head: bytes | None = None) -> None:
    """Fails with "unsupported file type" when ``path`` holds binary data, not text."""
    if head is None:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
    kind = binary_kind(head)
    if kind is not None:
        raise unsupported(path, kind)


# --------------------------------------------------------------------------- column names

COLUMN_GUESSES = {
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
        "business_id",
        "track_id",
        "artist_id",
        "venue_id",
    ],
    "rating": ["rating", "ratings", "score", "r", "stars"],
    "time": ["timestamp", "time", "ts", "date", "datetime", "unix_time"],
}


def parse_columns(text: str) -> dict[str, str]:
    """``"user:uid,item:iid"`` -> ``{"user": "uid", "item": "iid"}``; positions work too
    (``"user:0,item:1"``)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, column = part.partition(":")
        if not sep or role not in COLUMN_GUESSES or not column:
            raise DataError(
                f"bad column mapping {part!r}; "
                "expected ROLE:COLUMN with ROLE in user,item,rating,time "
                "and COLUMN a name or a 0-based position"
            )
        out[role] = column
    return out


def _fits_int64(word: bytes) -> bool:
    try:
        return abs(int(word)) <= INT64_MAX
    except ValueError:
        return False


def read_user_lists(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """ "user item item ..." lines -> (users, items), vectorised over the whole file."""
    raw = path.read_bytes()
    check_text(path, raw[:8000])
    words = raw.split()
    if not words:
        raise DataError("file is empty", path)
    buffer = np.frombuffer(raw, dtype=np.uint8)
    blank = (buffer == 32) | (buffer == 9) | (buffer == 13) | (buffer == 10) | (buffer == 11)
    blank |= buffer == 12
    starts = np.flatnonzero(~blank & np.r_[True, blank[:-1]])
    line_of = np.cumsum(buffer == 10)[starts]
    try:
        tokens = np.array(words, dtype=np.int64)
    except (ValueError, OverflowError):
        tokens = None
    bad = (
        np.flatnonzero(tokens < 0)
        if tokens is not None
        else [next(i for i, w in enumerate(words) if not _fits_int64(w))]  # the error path only
    )
    if len(bad):
        at = int(bad[0])
        raise DataError(
            f"expected an integer id >= 0 within 64 bits, got "
            f"{words[at].decode(errors='replace')!r}",
            path,
            int(line_of[at]) + 1,
        )
    first = np.r_[True, line_of[1:] != line_of[:-1]]
    users = np.repeat(tokens[first], np.diff(np.r_[np.flatnonzero(first), len(tokens)]))
    keep = ~first  # the first token of a line is the user
    return users[keep], tokens[keep]
