"""Reading whatever a data spec points at, and the checks every reader shares.

`read_path` dispatches a file or folder to its reader; each reader returns a `Source`:
all interactions, and for formats that fix the split (NCF benchmark files, user-item
lists, RecBole benchmark files, DiffRec ``.npy`` splits, a saved split) which rows are
train / valid / test plus any given test negatives. The helpers here turn bad input into
a `DataError` naming the file, line and value.

    >>> source = read_path("data/ml-1m/ncf")        # NCF benchmark folder
    >>> source.data.n_users, source.test_negatives.shape
    (6040, (6040, 99))
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ncf.data.interactions import Interactions
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
        format: the layout it was read as (``ncf data info`` shows it), set by `read_path`.
        ordered: whether each user's rows come in time order where there are no
            timestamps (False for the train.txt / test.txt lists, whose lines are sets);
            the sequence models need timestamps or this.
    """

    data: Interactions
    name: str
    part: np.ndarray | None = None
    test_negatives: np.ndarray | None = None
    format: str = ""
    ordered: bool = True


# --------------------------------------------------------------------------- helpers


def _read_csv(path: Path | io.StringIO, name: Path | None = None, **kwargs: object) -> pd.DataFrame:
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
    missing = values.isna().to_numpy(copy=True)
    if values.dtype.kind not in "iuf":  # text: a blank field is missing too
        missing |= (values.astype(str).str.strip() == "").to_numpy()
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
    finally:  # the Arrow table is gone: hand its pages back (a 25M-row log: 1 GB)
        pa.default_memory_pool().release_unused()
    if frame.empty and not allow_empty:
        raise DataError("no rows", path)
    return frame


def _not_utf8(path: Path) -> DataError:
    """The error for a file that is not UTF-8, naming the line of the first bad byte."""
    raw = path.read_bytes() if path.is_file() else b""
    kind = binary_kind(raw[:_SNIFF_BYTES])
    if kind is not None:
        return _unsupported(path, kind)
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
    check_text(path, raw[:_SNIFF_BYTES])
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        if fallback is not None:
            return raw.decode(fallback)
        if encoding == "utf-8":
            raise _not_utf8(path) from None
        raise DataError(f"cannot decode text as {encoding} ({err.reason})", path) from None


def _read_double_colon(
    path: Path, names: list[str] | None, encoding: str, header: int | None = None
) -> pd.DataFrame:
    """Reads a ``::``-separated file fast: ``::`` becomes a tab, then the C parser runs.
    Text that is not valid ``encoding`` is read as ISO-8859-1."""
    text = _decode_bytes(path, encoding, fallback="latin-1").replace("::", "\t")
    return _read_csv(
        io.StringIO(text), path, sep="\t", header=header, names=names, quoting=csv.QUOTE_NONE
    )


# --------------------------------------------------------------------------- file types

_SNIFF_BYTES = 8000  # as git: a NUL byte in the first 8000 bytes makes a file binary

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
    if b"\x00" in head[:_SNIFF_BYTES]:
        return "binary data"
    return None


def _unsupported(path: Path, kind: str) -> DataError:
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
            head = file.read(_SNIFF_BYTES)
    kind = binary_kind(head)
    if kind is not None:
        raise _unsupported(path, kind)


# --------------------------------------------------------------------------- column names

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
        if not sep or role not in _GUESSES or not column:
            raise DataError(
                f"bad column mapping {part!r}; "
                "expected ROLE:COLUMN with ROLE in user,item,rating,time "
                "and COLUMN a name or a 0-based position"
            )
        out[role] = column
    return out


def read_table(path: Path, columns: dict[str, str] | None = None) -> Source:
    """A csv / tsv / txt / dat / parquet table: see `ncf.data.tables.read_table`."""
    from ncf.data.tables import read_table as read

    return read(path, columns)


# --------------------------------------------------------------------------- dispatch

FOLDER_LAYOUTS = (
    "MovieLens files (u.data, ratings.dat, interactions.tsv or ratings.csv), "
    "NCF benchmark files (*.train.rating, *.test.rating[, *.test.negative]), "
    "RecBole atomic files (NAME.inter[, NAME.item], or NAME.train.inter, "
    "NAME.test.inter[, NAME.valid.inter]), "
    "train.txt / test.txt[ / valid.txt] lists, "
    "train_list.npy / test_list.npy[ / valid_list.npy] arrays, "
    "or a split saved by ncf data split (split.json)"
)


def _read_file(path: Path, columns: dict[str, str] | None) -> Source:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        from ncf.data.arrays import read_npy

        return replace(read_npy(path), format="NumPy array of (user, item[, rating]) rows")
    if suffix == ".inter":
        from ncf.data.recbole import read_recbole

        return replace(read_recbole(path, columns), format="RecBole atomic file")
    if suffix == ".parquet":
        return replace(read_table(path, columns), format="parquet table")
    with path.open("rb") as file:
        head = file.read(65536)
    check_text(path, head[:_SNIFF_BYTES])
    if suffix not in (".csv", ".tsv"):
        from ncf.data.sequences import looks_like_sequences, read_sequences

        if looks_like_sequences(head, complete=len(head) < 65536):
            return replace(read_sequences(path), format="sequence file (user item item ...)")
    return replace(read_table(path, columns), format="text table")


def read_path(path: str | Path, columns: dict[str, str] | None = None) -> Source:
    """Reads whatever ``path`` holds: a table or sequence file, or a folder of a known
    layout (`FOLDER_LAYOUTS`).

    Files: ``.npy`` arrays (`ncf.data.arrays`), RecBole ``.inter`` files
    (`ncf.data.recbole`), ``.parquet`` tables, text files of ``user item item ...``
    sequences (`ncf.data.sequences`, detected by content, not in ``.csv`` / ``.tsv``
    files), any other text table (`ncf.data.tables`). Binary files of other kinds fail
    with "unsupported file type"."""
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path)
    if path.is_file():
        return _read_file(path, columns)
    source, layout = _read_folder(path, columns)
    return replace(source, format=layout)


def _read_folder(path: Path, columns: dict[str, str] | None) -> tuple[Source, str]:
    from ncf.data.arrays import is_npy_folder, read_npy_folder
    from ncf.data.given import is_ncf_folder, read_lists, read_ncf
    from ncf.data.recbole import is_recbole_folder, read_recbole

    if is_ncf_folder(path):
        return read_ncf(path), "NCF benchmark files"
    if (path / "split.json").exists():
        from ncf.data.splits import read_split_source

        return read_split_source(path), "split saved by ncf data split"
    if is_recbole_folder(path):
        return read_recbole(path, columns), "RecBole atomic files"
    if is_npy_folder(path):
        return read_npy_folder(path), "NumPy split arrays (*_list.npy)"
    if (path / "train.txt").exists() and (path / "test.txt").exists():
        return read_lists(path), "train.txt / test.txt user-item lists"
    from ncf.data.movielens import read_ml100k, read_ml_csv, read_ml_dat

    if (path / "u.data").exists():
        return read_ml100k(path), "MovieLens 100K files (u.data)"
    for name in ("ratings.dat", "interactions.tsv"):
        if (path / name).exists():
            return read_ml_dat(path), f"MovieLens files ({name})"
    if (path / "ratings.csv").exists():
        return read_ml_csv(path), "MovieLens files (ratings.csv)"
    for train, test in (("train.txt", "test.txt"), ("train_list.npy", "test_list.npy")):
        if (path / train).exists() != (path / test).exists():
            have, lack = (train, test) if (path / train).exists() else (test, train)
            raise DataError(f"{have} without {lack}; a given split needs both", path)
    raise DataError(f"unrecognised folder: expected {FOLDER_LAYOUTS}", path)
