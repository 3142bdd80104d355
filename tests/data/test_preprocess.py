"""Preparation: implicit threshold, de-duplication keeping the latest, filters, subsample."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data.interactions import from_raw
from ncf.data.preprocess import PrepareConfig, prepare
from ncf.errors import DataError


def raw_data():
    users = np.array(["a", "a", "a", "b", "b", "c", "a"])
    items = np.array([10, 11, 12, 10, 11, 10, 10])
    ratings = np.array([5, 2, 4, 4, 5, 1, 3])
    times = np.array([1, 2, 3, 4, 5, 6, 9])
    return from_raw(users, items, ratings=ratings, times=times)


def test_dedupe_keeps_the_latest_row_of_each_pair():
    data, log = prepare(raw_data(), PrepareConfig())
    assert log.dropped == {"duplicate (user, item), older row": 1}
    frame = data.to_frame()
    row = frame[(frame.user == "a") & (frame.item == 10)]
    assert row.rating.tolist() == [3.0] and row.time.tolist() == [9]


def test_threshold_and_filters_report_each_drop_and_compact_the_ids():
    config = PrepareConfig(implicit_threshold=4, min_user=2, min_item=2)
    data, log = prepare(raw_data(), config)
    # rating >= 4 keeps a-10 (the 5, not the later 3), a-12, b-10, b-11;
    # then items 11 and 12 have one user each
    assert log.dropped == {"rating < 4": 3, "item with < 2 interactions": 2}
    assert log.read == 7 and log.kept == 2
    assert data.n_users == 2 and data.n_items == 1  # only item 10 has two users left
    assert sorted(data.user_vocab.raw(data.user_ids).tolist()) == ["a", "b"]


def test_user_subsample_is_seeded():
    users = np.repeat(np.arange(100), 3)
    items = np.tile(np.arange(3), 100)
    data = from_raw(users, items)
    a, _ = prepare(data, PrepareConfig(user_fraction=0.2, subsample_seed=1))
    b, _ = prepare(data, PrepareConfig(user_fraction=0.2, subsample_seed=1))
    assert a.n_users == 20 and np.array_equal(a.user_vocab.ids, b.user_vocab.ids)


def test_bad_settings():
    with pytest.raises(DataError, match="user_fraction"):
        PrepareConfig(user_fraction=0)
    with pytest.raises(DataError, match="no interactions left"):
        prepare(raw_data(), PrepareConfig(min_user=10))
    with pytest.raises(DataError, match="needs ratings"):
        prepare(from_raw(np.array([1]), np.array([2])), PrepareConfig(implicit_threshold=4))
