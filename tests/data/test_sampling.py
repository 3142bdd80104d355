"""Negative samplers: exact, approximate, distinct evaluation negatives."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data import sampling
from ncf.data.sampling import SeenSet, sample_distinct_negatives, sample_negatives
from ncf.errors import DataError


def dense_seen(n_users=50, n_items=30, p=0.5, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < p
    users, items = np.nonzero(mask)
    return mask, SeenSet(users, items, n_users, n_items)


@pytest.mark.parametrize("dense", [True, False])
def test_exact_negatives_are_never_seen(dense, monkeypatch):
    if not dense:
        monkeypatch.setattr(sampling, "DENSE_LIMIT", 0)
    mask, seen = dense_seen()
    users = np.repeat(np.arange(50), 20)
    neg = sample_negatives(users, 4, seen, np.random.default_rng(1))
    assert neg.shape == (1000, 4)
    assert not mask[users[:, None], neg].any()


def test_approximate_negatives_are_unchecked_but_in_range():
    neg = sample_negatives(np.zeros(10_000, np.int64), 2, None, np.random.default_rng(0), n_items=7)
    assert neg.min() == 0 and neg.max() == 6


def test_distinct_evaluation_negatives():
    mask, seen = dense_seen(n_users=40, n_items=60, p=0.3)
    users = np.arange(40)
    neg = sample_distinct_negatives(users, 25, seen, np.random.default_rng(0))
    assert not mask[users[:, None], neg].any()
    assert all(len(set(row)) == 25 for row in neg.tolist())
    again = sample_distinct_negatives(users, 25, seen, np.random.default_rng(0))
    assert np.array_equal(neg, again)


def test_a_user_without_enough_unseen_items_fails_clearly():
    seen = SeenSet(np.zeros(9, np.int64), np.arange(9), 1, 10)
    with pytest.raises(DataError, match="only 1 unseen items, 2 negatives requested"):
        sample_distinct_negatives(np.array([0]), 2, seen, np.random.default_rng(0))
    assert (
        sample_negatives(np.array([0, 0]), 3, seen, np.random.default_rng(0)).tolist()
        == [[9] * 3] * 2
    )
