"""Interactions between users and items, held as contiguous int64 index arrays.

Raw ids (ints or strings, as the source writes them) become contiguous indices at the
boundary through a `Vocabulary`; everything past the readers works on indices only.

    >>> vocab = Vocabulary.from_raw(np.array(["b", "a", "b"]))
    >>> vocab.index(np.array(["a", "b"]))
    array([0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ncf.errors import DataError


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted, as `np.unique` gives them, several
    times faster on large arrays: by counting when the values are small non-negative
    integers, else by torch's sort (NumPy 2's `np.unique` hashes, then sorts)."""
    values = np.asarray(values)
    if len(values) < 2:
        return np.sort(values)
    low, high = values.min(), values.max()
    if low >= 0 and high < 4 * len(values) + (1 << 20):
        return np.flatnonzero(np.bincount(values)).astype(values.dtype)
    import torch

    out = torch.sort(torch.from_numpy(np.ascontiguousarray(values)))[0].numpy()
    return out[np.concatenate([[True], out[1:] != out[:-1]])]


def lexsort(keys: list[np.ndarray]) -> np.ndarray:
    """`np.lexsort` (the last key is the primary one, ties keep their order) for integer
    keys, several times faster: one stable sort (torch's, on every core) of the keys packed
    into one int64 when their ranges allow, else one stable sort per key."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    packed, span = np.zeros(n, dtype=np.int64), 1
    for key in keys:
        if key.dtype.kind not in "iub":
            break
        low = int(key.min())
        size = int(key.max()) - low + 1
        if span * size >= 2**62:
            break
        packed += (key.astype(np.int64) - low) * span
        span *= size
    else:
        return _stable_order(packed)
    order = np.arange(n)
    for key in keys:  # least significant first: each stable sort keeps the earlier order
        order = order[_stable_order(key[order])]
    return order


def _stable_order(key: np.ndarray) -> np.ndarray:
    import torch  # here: reading data needs no torch until it sorts

    return torch.sort(torch.from_numpy(np.ascontiguousarray(key)), stable=True)[1].numpy()


def present(index: np.ndarray, n: int) -> np.ndarray:
    """The sorted distinct values of ``index`` (ints in ``0 .. n - 1``), by counting."""
    return np.flatnonzero(np.bincount(index, minlength=n))


class Vocabulary:
    """A bijection between raw ids and contiguous indices ``0 .. len - 1``.

    Args:
        ids: (n,) raw ids in index order, unique.

    Examples:
        >>> vocab = Vocabulary(np.array([10, 20, 30]))
        >>> vocab.index([30, 10]), vocab.raw([1]), len(vocab)
        (array([2, 0]), array([20]), 3)
        >>> vocab.index([99], missing="mask")             # an unknown id
        array([-1])
    """

    def __init__(self, ids: np.ndarray):
        self.ids = np.asarray(ids)
        self._index = pd.Index(self.ids)
        if not self._index.is_unique:
            raise DataError("vocabulary ids must be unique")

    @classmethod
    def from_raw(cls, raw: np.ndarray) -> Vocabulary:
        """Builds a vocabulary of the distinct values of ``raw``, sorted."""
        raw = np.asarray(raw)
        return cls(sorted_unique(raw) if raw.dtype.kind == "i" else np.unique(raw))

    @classmethod
    def identity(cls, n: int) -> Vocabulary:
        """Raw ids that already are indices ``0 .. n - 1`` (as in the NCF benchmark files)."""
        return cls(np.arange(n, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self.ids, other.ids)

    def index(self, raw: np.ndarray | list, missing: str = "raise", what: str = "") -> np.ndarray:
        """Maps raw ids to indices.

        Args:
            raw: (n,) raw ids.
            missing: ``"raise"`` to fail on an unknown id, ``"mask"`` to return -1 for it.
            what: ``"user"`` or ``"item"``, named in the error for an unknown id.

        Returns:
            (n,) int64 indices.
        """
        given = np.asarray(raw)
        raw = given
        if raw.dtype.kind in "iu" and self.ids.dtype.kind in "OUS":
            raw = raw.astype(str)
        elif raw.dtype.kind in "OUSf" and self.ids.dtype.kind in "iu":
            as_int = pd.to_numeric(pd.Series(raw), errors="coerce")
            # 42.5 is no id (42 is), nor is a number past int64
            as_int = as_int.where((as_int == as_int.round()) & (as_int.abs() < 2**62))
            raw = as_int.fillna(-(2**62)).to_numpy(np.int64)
        out = self._lookup(raw)
        if missing == "raise" and (out < 0).any():
            bad = given[out < 0][0]
            bad = bad.item() if isinstance(bad, np.generic) else bad
            raise DataError(f"unknown {what + ' ' if what else ''}id {bad!r}")
        return out

    def _lookup(self, raw: np.ndarray) -> np.ndarray:
        """Indices of ``raw`` (-1 where unknown): through a table indexed by the id itself
        when the ids are small non-negative integers (one gather for millions of rows),
        else through the hash index."""
        ids = self.ids
        small = (
            len(raw) > len(ids)
            and raw.dtype.kind == "i" == ids.dtype.kind
            and len(ids)
            and ids.min() >= 0
            and ids.max() < 8 * len(ids) + (1 << 20)
        )
        if not small:
            return self._index.get_indexer(raw).astype(np.int64)
        table = np.full(int(ids.max()) + 2, -1, dtype=np.int64)  # the last slot: out of range
        table[ids] = np.arange(len(ids))
        return table[np.clip(raw, -1, len(table) - 1)]

    def raw(self, index: np.ndarray) -> np.ndarray:
        """Maps indices back to raw ids."""
        return self.ids[np.asarray(index, dtype=np.int64)]


@dataclass(frozen=True)
class Interactions:
    """A set of (user, item) interactions over fixed user and item vocabularies.

    Attributes:
        user_ids: (n,) int64 user indices.
        item_ids: (n,) int64 item indices.
        ratings: (n,) float32 ratings, or None for implicit data.
        times: (n,) int64 timestamps (or any order key), or None when the source has none.
        order: (n,) int64 position of the row in the source, used to break time ties and
            as the time order when there are no timestamps.
        user_vocab: raw user id <-> index.
        item_vocab: raw item id <-> index.
        items: item metadata indexed by item index (``title``, ``genres`` as a
            ``|``-joined string), or None.

    Examples:
        >>> data = ncf.from_raw(np.array(["u1", "u1", "u2"]), np.array(["a", "b", "a"]))
        >>> data.n_users, data.n_items, len(data)
        (2, 2, 3)
        >>> data.user_ids, data.item_ids
        (array([0, 0, 1]), array([0, 1, 0]))
        >>> data.csr().toarray()                          # (n_users, n_items)
        array([[1., 1.],
               [1., 0.]])
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vocab: Vocabulary
    item_vocab: Vocabulary
    ratings: np.ndarray | None = None
    times: np.ndarray | None = None
    order: np.ndarray | None = None
    items: pd.DataFrame | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        for name in ("item_ids", "ratings", "times", "order"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise DataError(f"{name} has {len(value)} rows, user_ids has {n}")
        if self.order is None:
            object.__setattr__(self, "order", np.arange(n, dtype=np.int64))

    @property
    def n_users(self) -> int:
        return len(self.user_vocab)

    @property
    def n_items(self) -> int:
        return len(self.item_vocab)

    def __len__(self) -> int:
        return len(self.user_ids)

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """The rows selected by a boolean mask or an index array, same vocabularies."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[mask_or_index]

        return replace(
            self,
            user_ids=self.user_ids[mask_or_index],
            item_ids=self.item_ids[mask_or_index],
            ratings=pick(self.ratings),
            times=pick(self.times),
            order=pick(self.order),
        )

    def concat(self, other: Interactions) -> Interactions:
        """Rows of ``self`` followed by rows of ``other`` (same vocabularies)."""

        def join(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else np.concatenate([a, b])

        return replace(
            self,
            user_ids=np.concatenate([self.user_ids, other.user_ids]),
            item_ids=np.concatenate([self.item_ids, other.item_ids]),
            ratings=join(self.ratings, other.ratings),
            times=join(self.times, other.times),
            order=join(self.order, other.order),
        )

    def chronological(self) -> np.ndarray:
        """(n,) row indices sorted by user, then time (if any), then source order."""
        in_order = len(self) < 2 or bool((self.order[1:] > self.order[:-1]).all())
        keys = [] if in_order else [self.order]  # rows in source order: the sort keeps it
        if self.times is not None:
            keys.append(self.times)
        keys.append(self.user_ids)
        return lexsort(keys)

    def csr(self, values: np.ndarray | None = None) -> sp.csr_matrix:
        """(n_users, n_items) sparse matrix of ones (or ``values``); duplicates are summed."""
        data = np.ones(len(self), dtype=np.float32) if values is None else values
        return sp.csr_matrix(
            (data, (self.user_ids, self.item_ids)), shape=(self.n_users, self.n_items)
        )

    def user_counts(self) -> np.ndarray:
        return np.bincount(self.user_ids, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        return np.bincount(self.item_ids, minlength=self.n_items)

    def to_frame(self, raw_ids: bool = True) -> pd.DataFrame:
        """A data frame with columns user, item and, when present, rating and time."""
        if raw_ids:
            frame = pd.DataFrame(
                {
                    "user": self.user_vocab.raw(self.user_ids),
                    "item": self.item_vocab.raw(self.item_ids),
                }
            )
        else:
            frame = pd.DataFrame({"user": self.user_ids, "item": self.item_ids})
        if self.ratings is not None:
            frame["rating"] = self.ratings
        if self.times is not None:
            frame["time"] = self.times
        return frame

    def describe(self) -> dict[str, object]:
        """Counts and density, for ``ncf data info``."""
        users = present(self.user_ids, self.n_users).size
        items = present(self.item_ids, self.n_items).size
        out: dict[str, object] = {
            "interactions": len(self),
            "users": users,
            "items": items,
            "density": len(self) / max(users * items, 1),
        }
        if self.ratings is not None and len(self):
            out["rating_range"] = (float(self.ratings.min()), float(self.ratings.max()))
        out["timestamps"] = self.times is not None
        return out


def from_raw(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray | None = None,
    times: np.ndarray | None = None,
    items_frame: pd.DataFrame | None = None,
    user_vocab: Vocabulary | None = None,
    item_vocab: Vocabulary | None = None,
) -> Interactions:
    """Builds `Interactions` from raw id arrays, creating the vocabularies if not given.

    Args:
        users, items: (n,) raw ids.
        ratings: (n,) ratings or None.
        times: (n,) timestamps or None.
        items_frame: metadata keyed by raw item id (index), columns ``title`` / ``genres``.

    Examples:
        >>> data = from_raw(np.array(["u1", "u1", "u2"]), np.array(["a", "b", "a"]),
        ...                 ratings=np.array([4.0, 3.0, 5.0]))
        >>> data.to_frame()                               # raw ids back
          user item  rating
        0   u1    a     4.0
        1   u1    b     3.0
        2   u2    a     5.0
    """
    user_vocab = user_vocab or Vocabulary.from_raw(users)
    item_vocab = item_vocab or Vocabulary.from_raw(items)
    meta = None
    if items_frame is not None:
        meta = items_frame.reindex(item_vocab.ids)
        meta.index = pd.RangeIndex(len(item_vocab))
    return Interactions(
        user_ids=user_vocab.index(users),
        item_ids=item_vocab.index(items),
        user_vocab=user_vocab,
        item_vocab=item_vocab,
        ratings=None if ratings is None else np.asarray(ratings, dtype=np.float32),
        times=None if times is None else np.asarray(times, dtype=np.int64),
        items=meta,
    )
