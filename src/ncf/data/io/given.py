"""Readers for files that fix their split: the NCF benchmark files (He et al. 2017) and
``train.txt`` / ``test.txt`` (+ optional ``valid.txt``) user-item lists (NGCF / LightGCN).

Their ids are 0-based indices; the vocabularies hold the ids present, so indices equal the
files' ids whenever every id occurs (as in the published files) and a huge id costs no
memory.

    >>> source = read_ncf(Path("data/ml-1m/ncf"))
    >>> source.test_negatives.shape
    (6040, 99)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, Vocabulary, from_raw
from ncf.data.io.common import (
    check_ids,
    numeric_column,
    read_csv,
    read_user_lists,
)
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.errors import DataError


def _ncf_file(folder: Path, suffix: str) -> Path | None:
    hits = sorted(folder.glob(f"*{suffix}"))
    return hits[0] if hits else None


def is_ncf_folder(folder: Path) -> bool:
    return _ncf_file(folder, ".train.rating") is not None


def read_ncf(folder: Path) -> Source:
    """The NCF benchmark files (He et al. 2017).

    ``*.train.rating`` (``user item [rating [time]]``, tab-separated, ids 0-based),
    ``*.test.rating`` (one held-out item per user) and ``*.test.negative`` (``(user,item)``
    then the sampled negatives, one line per test line). Row order is the time order.
    Item titles are attached when ``ncf_item_map.tsv`` and ``../movies.dat`` exist.
    """
    train_path = _ncf_file(folder, ".train.rating")
    test_path = _ncf_file(folder, ".test.rating")
    if train_path is None or test_path is None:
        raise DataError("expected *.train.rating and *.test.rating", folder)
    parts = []
    for path in (train_path, test_path):
        frame = read_csv(path, sep="\t", header=None, quoting=csv.QUOTE_NONE)
        if not 2 <= frame.shape[1] <= 4:
            raise DataError(
                f"expected 2 to 4 tab-separated columns, found {frame.shape[1]}", path, 1
            )
        users = numeric_column(frame, 0, path, 1, integer=True)
        items = numeric_column(frame, 1, path, 1, integer=True)
        check_ids(users, "user", path, 1)
        check_ids(items, "item", path, 1)
        ratings = numeric_column(frame, 2, path, 1) if frame.shape[1] > 2 else None
        times = numeric_column(frame, 3, path, 1, integer=True) if frame.shape[1] > 3 else None
        parts.append((users, items, ratings, times))
    (tr_u, tr_i, tr_r, tr_t), (te_u, te_i, te_r, te_t) = parts
    negatives = None
    neg_path = _ncf_file(folder, ".test.negative")
    if neg_path is not None:
        negatives = _read_ncf_negatives(neg_path, te_u, te_i)
    # the files' ids are 0-based indices; the vocabularies hold the ids present, so that
    # indices equal the ids whenever every id from 0 up occurs (as in the published files)
    user_vocab = Vocabulary.from_raw(np.concatenate([tr_u, te_u]))
    item_vocab = Vocabulary.from_raw(
        np.concatenate([tr_i, te_i, [] if negatives is None else negatives.ravel()]).astype(
            np.int64
        )
    )
    if negatives is not None:
        negatives = item_vocab.index(negatives.ravel()).reshape(negatives.shape)
    ratings = (
        None if tr_r is None or te_r is None else np.concatenate([tr_r, te_r]).astype(np.float32)
    )
    times = None if tr_t is None or te_t is None else np.concatenate([tr_t, te_t])
    data = Interactions(
        user_ids=user_vocab.index(np.concatenate([tr_u, te_u])),
        item_ids=item_vocab.index(np.concatenate([tr_i, te_i])),
        user_vocab=user_vocab,
        item_vocab=item_vocab,
        ratings=ratings,
        times=times,
        items=_ncf_titles(folder, item_vocab.ids),
    )
    part = np.r_[np.full(len(tr_u), TRAIN, np.int8), np.full(len(te_u), TEST, np.int8)]
    return Source(data, name=str(folder), part=part, test_negatives=negatives)


def _read_ncf_negatives(path: Path, test_users: np.ndarray, test_items: np.ndarray) -> np.ndarray:
    frame = read_csv(path, sep="\t", header=None, quoting=csv.QUOTE_NONE)
    if len(frame) != len(test_users):
        raise DataError(f"{len(frame)} lines, but the test file has {len(test_users)}", path)
    pair = frame[0].astype(str).str.extract(r"^\((\d+),(\d+)\)$")
    if pair.isna().any(axis=None):
        row = int(np.flatnonzero(pair.isna().any(axis=1).to_numpy())[0])
        raise DataError(f"expected '(user,item)' first, got {frame.iat[row, 0]!r}", path, row + 1)
    users = numeric_column(pair, 0, path, 1, integer=True)
    items = numeric_column(pair, 1, path, 1, integer=True)
    wrong = np.flatnonzero((users != test_users) | (items != test_items))
    if len(wrong):
        row = int(wrong[0])
        raise DataError(
            f"pair ({users[row]},{items[row]}) disagrees with the test file's "
            f"({test_users[row]},{test_items[row]})",
            path,
            row + 1,
        )
    negatives = frame.iloc[:, 1:]
    if negatives.isna().any(axis=None):
        row = int(np.flatnonzero(negatives.isna().any(axis=1).to_numpy())[0])
        raise DataError("fewer negatives than on the first line", path, row + 1)
    out = np.column_stack(
        [numeric_column(negatives, c, path, 1, integer=True) for c in negatives.columns]
    )
    check_ids(out.ravel(), "item", path, 1)
    return out


def _ncf_titles(folder: Path, item_ids: np.ndarray) -> pd.DataFrame | None:
    """Titles for the NCF ML-1M items via ``ncf_item_map.tsv`` and ``../movies.dat``."""
    map_path, movies_path = folder / "ncf_item_map.tsv", folder.parent / "movies.dat"
    if not (map_path.exists() and movies_path.exists()):
        return None
    item_map = pd.read_csv(map_path, sep="\t")
    from ncf.data.io.movielens import movies_dat

    movies = movies_dat(movies_path, "utf-8")
    meta = movies.reindex(item_map["movie_id"].to_numpy())
    meta.index = item_map["ncf_item"].to_numpy()
    return meta.reindex(item_ids).reset_index(drop=True)


def read_lists(folder: Path) -> Source:
    """``train.txt`` / ``test.txt`` with lines ``user item item ...`` (NGCF / LightGCN), and
    ``valid.txt`` when present: its rows are the validation part (``--split given`` then
    validates on them instead of on each user's last training item; an empty
    ``valid.txt`` is as none).

    A line with a user and no items adds nothing."""
    parts = [(TRAIN, "train.txt"), (TEST, "test.txt")]
    valid = folder / "valid.txt"
    if valid.is_file() and valid.read_bytes().strip():
        parts.insert(1, (VALID, "valid.txt"))
    read = [(part, *read_user_lists(folder / name)) for part, name in parts]
    users = np.concatenate([u for _, u, _ in read])
    items = np.concatenate([i for _, _, i in read])
    if not len(users):
        names = ", ".join(name for _, name in parts)
        raise DataError(f"no interactions: every line of {names} holds a user only", folder)
    data = from_raw(users, items)
    part = np.concatenate([np.full(len(u), p, np.int8) for p, u, _ in read])
    return Source(data, name=str(folder), part=part, ordered=False)


def write_lists(path: Path, users: np.ndarray, items: np.ndarray) -> None:
    """Writes ``user item item ...`` lines (the format `read_lists` reads), one per user
    in increasing order, items in their given order within a user; vectorised."""
    order = np.argsort(users, kind="stable")
    users, items = np.asarray(users)[order], np.asarray(items)[order]
    if not len(users):
        path.write_text("")
        return
    first = np.r_[True, users[1:] != users[:-1]]
    prefix = np.where(first, np.char.add(np.char.add("\n", users.astype(str)), " "), " ")
    path.write_text("".join(np.char.add(prefix, items.astype(str)).tolist())[1:] + "\n")
