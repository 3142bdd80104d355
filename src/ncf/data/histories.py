"""Users' item histories in time order, built over whole arrays: the inputs of the
sequence models (`ncf.models.sequential`).

A `Histories` holds every user's items sorted by time (the row order breaking ties, and
standing for time where there are no timestamps) as one flat array with CSR offsets.
From it:

- `Histories.last` gives each user's last ``n`` items, left-padded (SASRec's input, and
  the history a sequence model scores a user from);
- `Histories.windows` gives a row ``(user, target, the h items before it)`` for every
  interaction with at least ``h`` earlier ones (MPM's training rows);
- `Histories.shifted` gives, per user, inputs and next-item targets over the last ``n``
  steps (SASRec's training sequences).

    >>> histories = Histories.of(split.train)
    >>> histories.last(200).shape                      # (n_users, 200), -1 = padding
    >>> users, targets, before = histories.windows(9)  # (R,), (R,), (R, 9)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ncf.data.interactions import Interactions
from ncf.errors import DataError

PAD = -1


@dataclass(frozen=True)
class Histories:
    """Attributes:
    offsets: (n_users + 1,) user u's items are ``items[offsets[u]:offsets[u + 1]]``.
    items: (n,) item indices, each user's in time order.
    """

    offsets: np.ndarray
    items: np.ndarray

    @classmethod
    def of(cls, known: Interactions) -> Histories:
        """The histories of ``known``: by timestamp where it has them, then by row order."""
        order = known.chronological()
        counts = np.bincount(known.user_ids, minlength=known.n_users)
        offsets = np.zeros(known.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, known.item_ids[order].astype(np.int64))

    @property
    def n_users(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """(n_users,) items per user."""
        return np.diff(self.offsets)

    def last(self, n: int, users: np.ndarray | None = None, skip: int = 0) -> np.ndarray:
        """(U, n) the last ``n`` items of each of ``users`` (default all), oldest first,
        left-padded with ``PAD``; ``skip`` leaves out each user's last ``skip`` items."""
        users = np.arange(self.n_users) if users is None else np.asarray(users, dtype=np.int64)
        ends = self.offsets[users + 1] - skip
        lengths = np.clip(ends - self.offsets[users], 0, n)
        out = np.full((len(users), n), PAD, dtype=np.int64)
        rows = np.repeat(np.arange(len(users)), lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        columns = n - np.repeat(lengths, lengths) + within
        out[rows, columns] = self.items[np.repeat(ends - lengths, lengths) + within]
        return out

    def shifted(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Next-item training sequences of the users with at least two items: (U,) users,
        (U, n) inputs (the items before each target, left-padded) and (U, n) targets
        (the last ``n`` items; ``PAD`` where the input is padding)."""
        users = np.flatnonzero(self.lengths >= 2)
        targets = self.last(n, users)
        inputs = self.last(n, users, skip=1)
        targets[inputs == PAD] = PAD
        return users, inputs, targets

    def windows(self, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every interaction with at least ``h`` earlier items of its user: (R,) users,
        (R,) target items and (R, h) the ``h`` items before each target, oldest first."""
        if h < 1:
            raise DataError(f"a history of {h} items: it must hold at least 1")
        user_of = np.repeat(np.arange(self.n_users), self.lengths)
        position = np.arange(len(self.items)) - self.offsets[user_of]
        at = np.flatnonzero(position >= h)
        before = self.items[at[:, None] - h + np.arange(h)]
        return user_of[at], self.items[at], before
