"""Vectorised negative samplers.

`SeenSet` answers "has user u interacted with item i?" for whole arrays at once: a dense
bitmap when users x items is small enough, else a sorted array of ``user * n_items +
item`` keys searched with `np.searchsorted`. Samplers draw uniformly and redraw only
the rejected entries until none is left.

    >>> seen = SeenSet.from_interactions(train)
    >>> neg_items = sample_negatives(train.user_ids, 4, seen, rng)          # (n, 4)
    >>> eval_negs = sample_distinct_negatives(test.user_ids, 99, seen_all, rng)
"""

from __future__ import annotations

import numpy as np

from ncf.data.interactions import Interactions
from ncf.errors import DataError

DENSE_LIMIT = 1 << 27  # users x items up to which a dense bitmap is used (128 MB)
MAX_ROUNDS = 1000


class SeenSet:
    """Membership of (user, item) pairs, vectorised.

    Args:
        user_ids, item_ids: (n,) index arrays of the pairs in the set.
        n_users, n_items: index ranges.
    """

    def __init__(self, user_ids: np.ndarray, item_ids: np.ndarray, n_users: int, n_items: int):
        self.n_users, self.n_items = n_users, n_items
        self.counts = np.bincount(user_ids, minlength=n_users)
        keys = np.asarray(user_ids, np.int64) * n_items + np.asarray(item_ids, np.int64)
        if n_users * n_items <= DENSE_LIMIT:
            self.dense: np.ndarray | None = np.zeros(n_users * n_items, dtype=bool)
            self.dense[keys] = True
            self.counts = self.dense.reshape(n_users, n_items).sum(1)
            self.keys = None
        else:
            self.dense = None
            self.keys = np.unique(keys)
            self.counts = np.bincount(self.keys // n_items, minlength=n_users)

    @classmethod
    def from_interactions(cls, *parts: Interactions) -> SeenSet:
        first = parts[0]
        users = np.concatenate([p.user_ids for p in parts])
        items = np.concatenate([p.item_ids for p in parts])
        return cls(users, items, first.n_users, first.n_items)

    def contains(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Boolean array of the same shape as ``item_ids`` (``user_ids`` broadcasts)."""
        keys = np.asarray(user_ids, np.int64) * self.n_items + item_ids
        if self.dense is not None:
            return self.dense[keys]
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        return self.keys[pos] == keys


def sample_negatives(
    user_ids: np.ndarray,
    k: int,
    seen: SeenSet | None,
    rng: np.random.Generator,
    n_items: int | None = None,
) -> np.ndarray:
    """``k`` uniform negatives per user entry; exact when ``seen`` is given.

    Args:
        user_ids: (n,) users, one row per positive.
        k: negatives per row.
        seen: items to avoid per user; None draws without a check ("approximate").
        rng: random generator.
        n_items: item range when ``seen`` is None.

    Returns:
        (n, k) int64 item indices; duplicates within a row are allowed.
    """
    n_items = seen.n_items if seen is not None else n_items
    if n_items is None:
        raise ValueError("n_items is needed when seen is None")
    out = rng.integers(0, n_items, size=(len(user_ids), k))
    if seen is None:
        return out
    _check_room(user_ids, 1, seen)
    users = np.broadcast_to(np.asarray(user_ids)[:, None], out.shape)
    bad = np.flatnonzero(seen.contains(users, out))
    flat, flat_users = out.reshape(-1), users.reshape(-1)
    for _ in range(MAX_ROUNDS):
        if not len(bad):
            return out
        flat[bad] = rng.integers(0, n_items, size=len(bad))
        bad = bad[seen.contains(flat_users[bad], flat[bad])]
    raise DataError("negative sampling did not converge: some users have seen almost every item")


def sample_distinct_negatives(
    user_ids: np.ndarray, k: int, seen: SeenSet, rng: np.random.Generator
) -> np.ndarray:
    """``k`` distinct negatives per row, never an item in ``seen`` for that user.

    Used for evaluation candidates (drawn once per seed). Duplicates within a row are
    found by sorting each row and redrawn, together with seen items, until none is left.

    Returns:
        (n, k) int64 item indices.
    """
    _check_room(user_ids, k, seen)
    n = len(user_ids)
    out = rng.integers(0, seen.n_items, size=(n, k))
    users = np.broadcast_to(np.asarray(user_ids)[:, None], out.shape)
    rows = np.arange(n)[:, None]
    for _ in range(MAX_ROUNDS):
        bad = seen.contains(users, out)
        order = np.argsort(out, axis=1, kind="stable")
        sorted_items = out[rows, order]
        repeat = np.zeros_like(bad)
        repeat[:, 1:] = sorted_items[:, 1:] == sorted_items[:, :-1]
        bad[rows, order] |= repeat  # the later copy of a duplicate is redrawn
        n_bad = int(bad.sum())
        if not n_bad:
            return out
        out[bad] = rng.integers(0, seen.n_items, size=n_bad)
    raise DataError("negative sampling did not converge: some users have seen almost every item")


def _check_room(user_ids: np.ndarray, k: int, seen: SeenSet) -> None:
    room = seen.n_items - seen.counts[user_ids]
    if len(room) and room.min() < k:
        user = int(np.asarray(user_ids)[np.argmin(room)])
        raise DataError(
            f"user index {user} has only {int(room.min())} unseen items, {k} negatives requested"
        )
