"""Reading whatever a data spec points at: `read_path` dispatches a file or folder to its
reader (`ncf.data.io.tables`, `.movielens`, `.given`, `.recbole`, `.arrays`,
`.sequences`, `.saved`). Each returns a `Source`: all interactions, and for formats that
fix the split (NCF benchmark files, user-item lists, RecBole benchmark files, DiffRec
``.npy`` splits, a saved split) which rows are train / valid / test plus any given test
negatives.

    >>> source = read_path("data/ml-1m/ncf")        # NCF benchmark folder
    >>> source.data.n_users, source.test_negatives.shape
    (6040, (6040, 99))
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ncf.data.io.common import SNIFF_BYTES, check_text
from ncf.data.io.source import Source
from ncf.errors import DataError

FOLDER_LAYOUTS = (
    "MovieLens files (u.data, ratings.dat, interactions.tsv or ratings.csv), "
    "NCF benchmark files (*.train.rating, *.test.rating[, *.test.negative]), "
    "RecBole atomic files (NAME.inter[, NAME.item], or NAME.train.inter, "
    "NAME.test.inter[, NAME.valid.inter]), "
    "train.txt / test.txt[ / valid.txt] lists, "
    "train_list.npy / test_list.npy[ / valid_list.npy] arrays, "
    "or a split saved by ncf data split (split.json)"
)


def read_table(path: Path, columns: dict[str, str] | None = None) -> Source:
    """A csv / tsv / txt / dat / parquet table: see `ncf.data.io.tables.read_table`."""
    from ncf.data.io.tables import read_table as read

    return read(path, columns)


def _read_file(path: Path, columns: dict[str, str] | None) -> Source:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        from ncf.data.io.arrays import read_npy

        return replace(read_npy(path), format="NumPy array of (user, item[, rating]) rows")
    if suffix == ".inter":
        from ncf.data.io.recbole import read_recbole

        return replace(read_recbole(path, columns), format="RecBole atomic file")
    if suffix == ".parquet":
        return replace(read_table(path, columns), format="parquet table")
    with path.open("rb") as file:
        head = file.read(65536)
    check_text(path, head[:SNIFF_BYTES])
    if suffix not in (".csv", ".tsv"):
        from ncf.data.io.sequences import looks_like_sequences, read_sequences

        if looks_like_sequences(head, complete=len(head) < 65536):
            return replace(read_sequences(path), format="sequence file (user item item ...)")
    return replace(read_table(path, columns), format="text table")


def read_path(path: str | Path, columns: dict[str, str] | None = None) -> Source:
    """Reads whatever ``path`` holds: a table or sequence file, or a folder of a known
    layout (`FOLDER_LAYOUTS`).

    Files: ``.npy`` arrays (`ncf.data.io.arrays`), RecBole ``.inter`` files
    (`ncf.data.io.recbole`), ``.parquet`` tables, text files of ``user item item ...``
    sequences (`ncf.data.io.sequences`, detected by content, not in ``.csv`` / ``.tsv``
    files), any other text table (`ncf.data.io.tables`). Binary files of other kinds fail
    with "unsupported file type".

    Examples:
        >>> source = ncf.read_path("ml-100k/u.data")      # tab-separated, no header
        >>> source.format, len(source.data), source.data.n_users, source.data.n_items
        ('text table', 100000, 943, 1682)
        >>> ncf.read_path("ratings.csv", columns={"user": "reader", "item": "book"})
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path)
    if path.is_file():
        return _read_file(path, columns)
    source, layout = _read_folder(path, columns)
    return replace(source, format=layout)


def _read_folder(path: Path, columns: dict[str, str] | None) -> tuple[Source, str]:
    from ncf.data.io.arrays import is_npy_folder, read_npy_folder
    from ncf.data.io.given import is_ncf_folder, read_lists, read_ncf
    from ncf.data.io.recbole import is_recbole_folder, read_recbole

    if is_ncf_folder(path):
        return read_ncf(path), "NCF benchmark files"
    if (path / "split.json").exists():
        from ncf.data.io.saved import read_split_source

        return read_split_source(path), "split saved by ncf data split"
    if is_recbole_folder(path):
        return read_recbole(path, columns), "RecBole atomic files"
    if is_npy_folder(path):
        return read_npy_folder(path), "NumPy split arrays (*_list.npy)"
    if (path / "train.txt").exists() and (path / "test.txt").exists():
        return read_lists(path), "train.txt / test.txt user-item lists"
    from ncf.data.io.movielens import read_ml100k, read_ml_csv, read_ml_dat

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
