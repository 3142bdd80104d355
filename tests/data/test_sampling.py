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


def _torch_draws(users, k, keys, n_items, seed=0):
    import torch

    from ncf.data.sampling import sample_negatives_torch

    stream = torch.Generator().manual_seed(seed)
    return sample_negatives_torch(torch.as_tensor(users), k, keys, n_items, stream).numpy()


def test_torch_negatives_are_never_seen_and_uniform_over_the_unseen():
    from ncf.data.sampling import seen_keys
    from tests.conftest import make_interactions

    mask, _ = dense_seen()
    users, items = np.nonzero(mask)
    train = make_interactions(users, items, 50, 30)
    keys = seen_keys(train, "cpu")
    assert keys.tolist() == sorted(set((users * 30 + items).tolist()))
    drawn_for = np.repeat(np.arange(50), 400)
    neg = _torch_draws(drawn_for, 4, keys, 30)
    assert neg.shape == (20_000, 4)
    assert not mask[drawn_for[:, None], neg].any()
    # user 0's 1,600 draws spread evenly over the items it has not seen
    counts = np.bincount(neg[drawn_for == 0].ravel(), minlength=30)[~mask[0]]
    expected = 1600 / (~mask[0]).sum()
    assert counts.min() > 0.7 * expected and counts.max() < 1.3 * expected
    assert np.array_equal(neg, _torch_draws(drawn_for, 4, keys, 30))  # the seed decides


def test_torch_negatives_unchecked_and_a_full_user():
    import torch

    neg = _torch_draws(np.zeros(10_000, np.int64), 2, None, 7)
    assert neg.min() == 0 and neg.max() == 6
    every = torch.arange(10)  # user 0 has seen all 10 items
    with pytest.raises(DataError, match="did not converge"):
        _torch_draws(np.array([0]), 1, every, 10)
