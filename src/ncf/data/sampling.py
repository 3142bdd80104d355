"""Vectorised negative samplers.

`SeenSet` answers "has user u interacted with item i?" for whole arrays at once: a bitmap
of users x items (one bit per pair: ML-25M's 162K x 59K pairs take 1.2 GB) when it fits
in `DENSE_LIMIT` bits and is not much larger than the keys, else a sorted array of
``user * n_items + item`` keys searched with `np.searchsorted`. Samplers draw uniformly
and redraw only the rejected entries until none is left, a block of rows at a time so
that the temporaries stay small.

    >>> seen = SeenSet.from_interactions(train)
    >>> neg_items = sample_negatives(train.user_ids, 4, seen, rng)          # (n, 4)
    >>> eval_negs = sample_distinct_negatives(test.user_ids, 99, seen_all, rng)

On a GPU an epoch's negatives are drawn where its batches are (`sample_negatives_torch`:
the seen pairs' sorted keys searched with `torch.searchsorted`), so that they never
cross to the host.
"""

from __future__ import annotations

import numpy as np
import torch

from ncf.data.interactions import Interactions, sorted_unique
from ncf.errors import DataError

DENSE_LIMIT = 1 << 34  # users x items up to which a bitmap may be used (2 GiB)
MAX_ROUNDS = 1000
BLOCK = 1 << 22  # rows sampled at a time


class SeenSet:
    """Membership of (user, item) pairs, vectorised.

    Args:
        user_ids, item_ids: (n,) index arrays of the pairs in the set.
        n_users, n_items: index ranges.
    """

    def __init__(self, user_ids: np.ndarray, item_ids: np.ndarray, n_users: int, n_items: int):
        self.n_users, self.n_items = n_users, n_items
        keys = pair_keys(user_ids, item_ids, n_items)
        self.counts = np.zeros(n_users, dtype=np.int64)
        self.bits: np.ndarray | None = None
        self.keys: np.ndarray | None = None
        pairs = n_users * n_items
        # a bitmap up to 16 times the bytes of the keys (or 128 MiB)
        if pairs <= DENSE_LIMIT and pairs <= max(1 << 30, 1024 * len(keys)):
            self.bits = np.zeros((pairs + 7) // 8, dtype=np.uint8)
        else:
            self.keys = keys
        for lo in range(0, len(keys), BLOCK):  # in blocks: small temporaries
            block = keys[lo : lo + BLOCK]
            self.counts += np.bincount(block // n_items, minlength=n_users)
            if self.bits is not None:
                byte = block >> 3
                first = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
                masks = np.left_shift(np.uint8(1), (block & 7).astype(np.uint8))
                self.bits[byte[first]] |= np.bitwise_or.reduceat(masks, first)

    @classmethod
    def from_interactions(cls, *parts: Interactions) -> SeenSet:
        first = parts[0]
        users = np.concatenate([p.user_ids for p in parts])
        items = np.concatenate([p.item_ids for p in parts])
        return cls(users, items, first.n_users, first.n_items)

    def contains(self, user_ids: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """Boolean array of the same shape as ``item_ids`` (``user_ids`` broadcasts)."""
        keys = np.asarray(user_ids, np.int64) * self.n_items + item_ids
        if self.bits is not None:
            return (self.bits[keys >> 3] >> (keys & 7).astype(np.uint8)) & 1 == 1
        assert self.keys is not None
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        return self.keys[pos] == keys


def sample_negatives(
    user_ids: np.ndarray,
    k: int,
    seen: SeenSet | None,
    rng: np.random.Generator,
    n_items: int | None = None,
    dtype: type = np.int64,
) -> np.ndarray:
    """``k`` uniform negatives per user entry; exact when ``seen`` is given.

    Args:
        user_ids: (n,) users, one row per positive.
        k: negatives per row.
        seen: items to avoid per user; None draws without a check ("approximate").
        rng: random generator.
        n_items: item range when ``seen`` is None.
        dtype: of the answer: int32 halves the memory of a large epoch's negatives.

    Returns:
        (n, k) item indices; duplicates within a row are allowed.
    """
    n_items = seen.n_items if seen is not None else n_items
    if n_items is None:
        raise ValueError("n_items is needed when seen is None")
    out = rng.integers(0, n_items, size=(len(user_ids), k), dtype=dtype)
    if seen is None:
        return out
    check_room(user_ids, 1, seen)
    for lo in range(0, len(user_ids), BLOCK):
        users = np.asarray(user_ids[lo : lo + BLOCK])[:, None]
        block = out[lo : lo + BLOCK]  # a view: redraws land in ``out``
        bad = np.nonzero(seen.contains(users, block))
        for _ in range(MAX_ROUNDS):
            if not len(bad[0]):
                break
            block[bad] = rng.integers(0, n_items, size=len(bad[0]), dtype=dtype)
            still = seen.contains(users[bad[0], 0], block[bad])
            bad = (bad[0][still], bad[1][still])
        else:
            raise DataError(
                "negative sampling did not converge: some users have seen almost every item"
            )
    return out


def pair_keys(user_ids: np.ndarray, item_ids: np.ndarray, n_items: int) -> np.ndarray:
    """The sorted distinct ``user * n_items + item`` keys of the pairs."""
    keys = np.asarray(user_ids, np.int64) * n_items + item_ids
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():  # else sorted and distinct
        keys = sorted_unique(keys)
    return keys


def seen_keys(train: Interactions, device: torch.device) -> torch.Tensor:
    """`pair_keys` of ``train``'s pairs on ``device``: what `sample_negatives_torch`
    searches."""
    return torch.from_numpy(pair_keys(train.user_ids, train.item_ids, train.n_items)).to(device)


def sample_negatives_torch(
    users: torch.Tensor,
    k: int,
    keys: torch.Tensor | None,
    n_items: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """`sample_negatives` in torch, on the device of ``users`` (B,): (B, k) int64 items,
    each not among the user's ``keys`` (`seen_keys`), redrawn until none is; unchecked
    when ``keys`` is None. ``generator`` lives on that device."""
    device = users.device
    out = torch.randint(0, n_items, (len(users), k), device=device, generator=generator)
    if keys is None or not len(keys):
        return out
    for lo in range(0, len(users), BLOCK):
        block = out[lo : lo + BLOCK]  # a view: redraws land in ``out``
        base = users[lo : lo + BLOCK].long()[:, None] * n_items  # (b, 1)
        bad = torch.nonzero(_holds(keys, base + block), as_tuple=True)
        for _ in range(MAX_ROUNDS):
            if not len(bad[0]):
                break
            drawn = torch.randint(0, n_items, bad[0].shape, device=device, generator=generator)
            block[bad] = drawn
            still = _holds(keys, base[bad[0], 0] + drawn)
            bad = (bad[0][still], bad[1][still])
        else:
            raise DataError(
                "negative sampling did not converge: some users have seen almost every item"
            )
    return out


def _holds(keys: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Whether each query is among the sorted ``keys``."""
    at = torch.searchsorted(keys, queries).clamp_(max=len(keys) - 1)
    return keys[at] == queries


def sample_distinct_negatives(
    user_ids: np.ndarray, k: int, seen: SeenSet, rng: np.random.Generator
) -> np.ndarray:
    """``k`` distinct negatives per row, never an item in ``seen`` for that user.

    Used for evaluation candidates (drawn once per seed). Duplicates within a row are
    found by sorting each row and redrawn, together with seen items, until none is left.

    Returns:
        (n, k) int64 item indices.
    """
    check_room(user_ids, k, seen)
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


def check_room(user_ids: np.ndarray, k: int, seen: SeenSet) -> None:
    """Raises `DataError` when one of the users has fewer than ``k`` unseen items."""
    room = seen.n_items - seen.counts[user_ids]
    if len(room) and room.min() < k:
        user = int(np.asarray(user_ids)[np.argmin(room)])
        raise DataError(
            f"user index {user} has only {int(room.min())} unseen items, {k} negatives requested"
        )
