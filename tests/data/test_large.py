"""The large-data paths: the synthetic log generator, and the fast sorts, lookups and
membership tests that keep a 25M-row log within seconds (checked against NumPy's own)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf.data import sampling
from ncf.data.interactions import Vocabulary, lexsort, sorted_unique
from ncf.data.sampling import SeenSet
from ncf.data.synthetic_log import GENRES, MIN_ROWS, activity, synthesize
from ncf.errors import UsageError


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    path, items = folder / "log.parquet", folder / "items.parquet"
    counts = synthesize(path, users=2_000, items=1_500, rows=150_000, seed=3, item_table=items)
    return path, items, counts


def test_the_log_has_the_size_asked_and_a_realistic_shape(log):
    path, items, counts = log
    frame = pd.read_parquet(path)
    assert counts == {"rows": 150_000, "users": 2_000, "items": counts["items"]}
    assert len(frame) == 150_000 and list(frame.columns) == [
        "user_id",
        "item_id",
        "rating",
        "timestamp",
    ]
    assert frame["user_id"].dtype == np.int32 and frame["rating"].dtype == np.float32
    assert not frame.duplicated(["user_id", "item_id"]).any()
    per_user = frame["user_id"].value_counts()
    assert len(per_user) == 2_000 and per_user.min() >= MIN_ROWS
    assert per_user.median() < 0.8 * per_user.mean()  # activity skewed: a long tail
    assert per_user.max() <= 1_500 // 2
    per_item = frame["item_id"].value_counts()
    assert counts["items"] == len(per_item) > 1_400
    assert per_item.iloc[:15].sum() > 0.04 * len(frame)  # the top 1% of items: > 4x their share
    assert set(frame["rating"].unique()) <= {x / 2 for x in range(1, 11)}
    assert frame["timestamp"].between(946_684_800, 1_577_836_800).all()
    table = pd.read_parquet(items)
    assert len(table) == 1_500 and set(table["genres"]) <= set(GENRES)
    assert table["title"].str.match(r"Film \d+ \(\d{4}\)").all()


def test_users_prefer_their_genres_and_rate_them_higher(log):
    path, items, _ = log
    frame = pd.read_parquet(path).merge(
        pd.read_parquet(items), left_on="item_id", right_on="item_id"
    )
    share = frame.groupby(["user_id", "genres"]).size() / frame.groupby("user_id").size()
    top_share = share.groupby("user_id").max()
    # the same rows with the genres shuffled across items: no planted preference
    rng = np.random.default_rng(0)
    shuffled = frame.assign(genres=rng.permutation(frame["genres"].to_numpy()))
    base = shuffled.groupby(["user_id", "genres"]).size() / shuffled.groupby("user_id").size()
    assert top_share.mean() > 1.5 * base.groupby("user_id").max().mean()
    liked = frame.assign(
        top=share.groupby("user_id").idxmax().str[1].reindex(frame["user_id"]).to_numpy()
    )
    in_top = liked["genres"] == liked["top"]
    assert liked.loc[in_top, "rating"].mean() > liked.loc[~in_top, "rating"].mean() + 0.3


def test_the_same_seed_writes_the_same_log(log, tmp_path):
    path, _, _ = log
    again = tmp_path / "again.parquet"
    synthesize(again, users=2_000, items=1_500, rows=150_000, seed=3)
    assert pd.read_parquet(again).equals(pd.read_parquet(path))
    other = tmp_path / "other.parquet"
    synthesize(other, users=2_000, items=1_500, rows=150_000, seed=4)
    assert not pd.read_parquet(other).equals(pd.read_parquet(path))


def test_sizes_that_cannot_be_drawn_fail_clearly():
    rng = np.random.default_rng(0)
    with pytest.raises(UsageError, match="fewer than one row per user"):
        activity(100, 50, 99, rng)
    with pytest.raises(UsageError, match="at most half of 10 items"):
        activity(100, 10, 501, rng)
    counts = activity(100, 10, 500, rng)  # every user at the cap
    assert counts.sum() == 500 and (counts == 5).all()


def test_lexsort_matches_numpy_with_ties_and_wide_keys():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 20_000)
    times = rng.integers(0, 30, 20_000)  # many ties: kept in row order
    order = rng.permutation(20_000)
    assert np.array_equal(lexsort([times, users]), np.lexsort([times, users]))
    assert np.array_equal(lexsort([order, times, users]), np.lexsort([order, times, users]))
    wide = rng.integers(-(2**62), 2**62, 20_000)  # too wide to pack: one sort per key
    assert np.array_equal(lexsort([wide, users]), np.lexsort([wide, users]))


@pytest.mark.parametrize("high", [1_000, 2**40])  # by counting, and by sorting
def test_sorted_unique_matches_numpy(high):
    values = np.random.default_rng(1).integers(0, high, 50_000)
    assert np.array_equal(sorted_unique(values), np.unique(values))


def test_a_vocabulary_maps_through_a_table_as_through_its_index():
    ids = np.array([3, 7, 8, 20, 1000])
    vocab = Vocabulary(ids)
    raw = np.random.default_rng(0).choice(np.r_[ids, [-5, 0, 9, 5000]], 10_000)
    expected = pd.Index(ids).get_indexer(raw)
    assert np.array_equal(vocab.index(raw, missing="mask"), expected)  # the table
    assert np.array_equal(vocab.index(raw[:3], missing="mask"), expected[:3])  # the index


@pytest.mark.parametrize("dense", [True, False])
def test_membership_in_blocks_matches_a_plain_set(dense, monkeypatch):
    monkeypatch.setattr(sampling, "BLOCK", 1_000)  # many blocks, bytes shared across them
    if not dense:
        monkeypatch.setattr(sampling, "DENSE_LIMIT", 0)
    rng = np.random.default_rng(2)
    users, items = rng.integers(0, 300, 20_000), rng.integers(0, 211, 20_000)
    seen = SeenSet(users, items, 300, 211)
    assert (seen.bits is not None) == dense
    pairs = set(zip(users.tolist(), items.tolist()))
    ask_u, ask_i = rng.integers(0, 300, 50_000), rng.integers(0, 211, 50_000)
    expected = [(u, i) in pairs for u, i in zip(ask_u.tolist(), ask_i.tolist())]
    assert seen.contains(ask_u, ask_i).tolist() == expected
    assert np.array_equal(seen.counts, np.bincount([u for u, _ in pairs], minlength=300))
