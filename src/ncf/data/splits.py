"""Train / validation / test splits, seeded and vectorised.

Every split yields a validation part cut from the training data the same way the test
part is cut from all data, so that model selection never sees the test set.

Split specs (``--split``):

- ``loo``: leave-last-out by time (row order when there is no time): each user's last
  interaction is test, the one before it validation. A user keeps at least one
  training interaction: users with one interaction give no test row, with two no
  validation row.
- ``loo-random``: the same with a random interaction instead of the last.
- ``time:V,T``: global time cut-off at the V and T quantiles of all timestamps
  (``time:0.8,0.9``): no future interaction of anyone is in training.
- ``user-ratio:TR,V,T`` / ``user-time-ratio:TR,V,T``: per user, random or
  chronological shares. The chronological variant leaks the future across users.
- ``user-count:V,T``: per user, T random interactions are test and V validation (S6:
  ``user-count:1,10``); a user keeps at least one training interaction.
- ``ratio:TR,V,T``: random shares of all interactions (``ratio:0.7,0.1,0.2``).
- ``given``: the split fixed by the files (NCF benchmark files, train.txt/test.txt, a
  saved split); validation = each user's last training interaction.

For ``time`` and ``ratio``, validation and test rows whose user or item never occurs in
training are dropped and counted in `Split.dropped`, and the vocabularies keep only the
users and items of training; the per-user splits keep every
user in training and keep held-out rows of items unseen in training (they count as
misses, as in the published leave-one-out protocols), except under the ``rating``
protocol, which drops and counts them too (`drop_unseen`).

    >>> split = make_split(source, "loo", np.random.default_rng(0))
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ncf.data.interactions import Interactions, lexsort
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.data.preprocess import compact
from ncf.errors import DataError

SPLITS = (
    "loo",
    "loo-random",
    "time",
    "user-ratio",
    "user-time-ratio",
    "user-count",
    "ratio",
    "given",
)


@dataclass(frozen=True)
class Split:
    """The three parts over one vocabulary, and the test negatives when given."""

    train: Interactions
    valid: Interactions
    test: Interactions
    spec: str
    test_negatives: np.ndarray | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def _positions(data: Interactions, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorts rows by (user, key); returns the sort order, each row's position within its
    user in that order, and its user's count (both aligned with the sorted rows)."""
    order = lexsort([keys, data.user_ids])
    users = data.user_ids[order]
    counts = np.bincount(users, minlength=data.n_users)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(order)) - starts[users]
    return order, position, counts[users]


def _last_rows(data: Interactions, order: np.ndarray, back: int) -> np.ndarray:
    """The rows ``back`` places from the end of each user's rows in ``order`` (rows sorted
    by user), for every user with more than ``back`` rows (a user keeps one)."""
    counts = np.bincount(data.user_ids, minlength=data.n_users)
    ends = np.cumsum(counts)
    return order[ends[counts > back] - back]


def _time_keys(data: Interactions) -> np.ndarray:
    """One key giving the chronological order: time, ties broken by source order."""
    rank = np.empty(len(data), dtype=np.int64)
    rank[data.chronological()] = np.arange(len(data))
    return rank


def _cut_last(
    data: Interactions, order: np.ndarray
) -> tuple[Interactions, Interactions, Interactions]:
    """Each user's last row (in ``order``: rows sorted by user, then time or a random
    key) is test and the one before it validation."""
    part = np.full(len(data), TRAIN, dtype=np.int8)
    part[_last_rows(data, order, 1)] = TEST
    part[_last_rows(data, order, 2)] = VALID
    return data.subset(part == TRAIN), data.subset(part == VALID), data.subset(part == TEST)


def _per_user_shares(data: Interactions, keys: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Part per row: the last ``test`` share of each user's rows (in key order) is test,
    the ``valid`` share before it validation; every user keeps >= 1 training row."""
    _, valid_share, test_share = shares
    return _per_user_counts(data, keys, lambda count: (count * valid_share, count * test_share))


def _per_user_counts(
    data: Interactions, keys: np.ndarray, held: Callable[[np.ndarray], tuple[Any, Any]]
) -> np.ndarray:
    """Part per row: of each user's rows in key order, the last n_test are test and the
    n_valid before them validation, ``held(count) -> (n_valid, n_test)`` (rounded); every
    user keeps >= 1 training row."""
    order, position, count = _positions(data, keys)
    valid_n, test_n = held(count)
    n_test = np.floor(np.asarray(test_n, dtype=np.float64) + 0.5).astype(np.int64)
    n_valid = np.floor(np.asarray(valid_n, dtype=np.float64) + 0.5).astype(np.int64)
    n_test = np.minimum(n_test, count - 1)
    n_valid = np.minimum(n_valid, count - 1 - n_test)
    from_end = count - 1 - position
    part = np.full(len(data), TRAIN, np.int8)
    part[order[from_end < n_test]] = TEST
    part[order[(from_end >= n_test) & (from_end < n_test + n_valid)]] = VALID
    return part


def _drop_cold(
    train: Interactions, part: Interactions, name: str, dropped: dict[str, int]
) -> Interactions:
    known_users = np.bincount(train.user_ids, minlength=train.n_users) > 0
    known_items = np.bincount(train.item_ids, minlength=train.n_items) > 0
    keep = known_users[part.user_ids] & known_items[part.item_ids]
    if (~keep).any():
        dropped[f"{name}: user or item not in training"] = int((~keep).sum())
    return part.subset(keep)


def _training_vocabulary(
    train: Interactions, valid: Interactions, test: Interactions
) -> tuple[Interactions, Interactions, Interactions]:
    """The parts re-indexed over the users and items that training has (after `_drop_cold`
    the held-out parts hold no others), so that no item without a training row is a
    candidate, and the split reads back from disk with the same vocabularies."""
    both = compact(train.concat(valid).concat(test))
    ends = np.cumsum([len(train), len(valid), len(test)])
    return (
        both.subset(slice(0, ends[0])),
        both.subset(slice(ends[0], ends[1])),
        both.subset(slice(ends[1], ends[2])),
    )


def parse_split(spec: str) -> tuple[str, tuple[float, ...]]:
    """A split spec's kind and numbers, checked without the data (``time:0.8,0.9`` ->
    ``("time", (0.8, 0.9))``; kinds without numbers give ``()``)."""
    kind, colon, args = spec.partition(":")
    if kind not in SPLITS:
        close = difflib.get_close_matches(kind, SPLITS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(SPLITS)}"
        raise DataError(f"unknown split {spec!r}; {hint}")
    if kind in ("loo", "loo-random", "given"):
        if colon:
            raise DataError(f"split {kind!r} takes no arguments, got {spec!r}")
        return kind, ()
    if kind == "time":
        cuts = _numbers(args or "0.8,0.9", float)
        if len(cuts) != 2 or not 0 < cuts[0] <= cuts[1] < 1:
            raise DataError(f"split {spec!r}: expected time:V,T with 0 < V <= T < 1")
        return kind, cuts
    if kind == "user-count":
        counts = _numbers(args, int)
        if len(counts) != 2 or min(counts) < 0:
            raise DataError(
                f"split {spec!r}: expected two whole counts >= 0 per user (validation, test), "
                "e.g. user-count:1,10"
            )
        return kind, counts
    shares = _numbers(args or "0.8,0.1,0.1", float)
    if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1) > 1e-6:
        raise DataError(f"split {spec!r}: expected three shares summing to 1, e.g. 0.8,0.1,0.1")
    return kind, shares


def _numbers(args: str, kind: type) -> tuple[float, ...]:
    """The comma-separated numbers of ``args``; () when one is not a ``kind``."""
    try:
        return tuple(kind(x) for x in args.split(","))
    except ValueError:
        return ()


def make_split(source: Source, spec: str, rng: np.random.Generator) -> Split:
    """Splits ``source`` by ``spec`` (see the module docstring).

    Examples:
        >>> source = ncf.read_path("ml-100k/u.data")
        >>> split = ncf.make_split(source, "loo", np.random.default_rng(0))
        >>> len(split.train), len(split.valid), len(split.test)   # one of each per user
        (98114, 943, 943)
        >>> ncf.make_split(source, "user-ratio:0.8,0.1,0.1", np.random.default_rng(0))
    """
    data = source.data
    kind, numbers = parse_split(spec)
    dropped: dict[str, int] = {}
    negatives = None
    if kind == "given":
        if source.part is None:
            raise DataError(f"split 'given' needs files that fix the split; {source.name} does not")
        negatives = source.test_negatives
        test = data.subset(source.part == TEST)
        if (source.part == VALID).any():
            train, valid = data.subset(source.part == TRAIN), data.subset(source.part == VALID)
        else:
            rest = np.flatnonzero(source.part == TRAIN)
            rest_data = data.subset(rest)
            held = np.zeros(len(rest_data), dtype=bool)
            held[_last_rows(rest_data, rest_data.chronological(), 1)] = True
            train, valid = rest_data.subset(~held), rest_data.subset(held)
        return Split(train, valid, test, spec, negatives, dropped)
    if source.part is not None:
        warnings.warn(
            f"{source.name} fixes its split; re-splitting all its rows with {spec!r}", stacklevel=2
        )
    if kind == "loo":
        train, valid, test = _cut_last(data, data.chronological())
    elif kind == "loo-random":
        train, valid, test = _cut_last(data, lexsort([rng.permutation(len(data)), data.user_ids]))
    elif kind == "time":
        if data.times is None:
            raise DataError(f"split {spec!r} needs timestamps and {source.name} has none")
        valid_from, test_from = np.quantile(data.times, numbers)
        part = np.where(
            data.times >= test_from, TEST, np.where(data.times >= valid_from, VALID, TRAIN)
        )
        train, valid, test = (data.subset(part == p) for p in (TRAIN, VALID, TEST))
    elif kind == "user-count":
        held = tuple(int(n) for n in numbers)
        part = _per_user_counts(data, rng.permutation(len(data)), lambda count: held)
        train, valid, test = (data.subset(part == p) for p in (TRAIN, VALID, TEST))
    else:
        shares = numbers
        if kind == "ratio":
            draw = rng.random(len(data))
            part = np.where(
                draw < shares[0], TRAIN, np.where(draw < shares[0] + shares[1], VALID, TEST)
            )
        elif kind == "user-ratio":
            part = _per_user_shares(data, rng.permutation(len(data)), shares)
        else:
            warnings.warn(
                "a per-user chronological split leaks the future across users; "
                "prefer 'time' for a leak-free chronological split",
                stacklevel=2,
            )
            part = _per_user_shares(data, _time_keys(data), shares)
        train, valid, test = (data.subset(part == p) for p in (TRAIN, VALID, TEST))
    if kind in ("time", "ratio"):
        valid = _drop_cold(train, valid, "valid", dropped)
        test = _drop_cold(train, test, "test", dropped)
        train, valid, test = _training_vocabulary(train, valid, test)
    return Split(train, valid, test, spec, negatives, dropped)


def drop_unseen(split: Split) -> Split:
    """The split with validation and test rows whose user or item has no training row
    left out and counted (as ``time`` and ``ratio`` always do): a rating cannot be
    predicted for them. The protocol ``rating`` applies it to the per-user splits."""
    dropped = dict(split.dropped)
    valid = _drop_cold(split.train, split.valid, "valid", dropped)
    test = _drop_cold(split.train, split.test, "test", dropped)
    return replace(split, valid=valid, test=test, dropped=dropped)


def default_split(source: Source) -> str:
    return "given" if source.part is not None else "loo"


# --------------------------------------------------------------------------- on disk


def fingerprint(*parts: Interactions) -> str:
    """A digest of the (user, item) pairs of ``parts`` (order within a part aside): the
    same training and validation parts give the same digest."""
    digest = hashlib.sha256()
    for part in parts:
        codes = np.sort(part.user_ids.astype(np.int64) * part.n_items + part.item_ids)
        digest.update(np.int64(len(codes)).tobytes())
        digest.update(codes.tobytes())
    return digest.hexdigest()[:16]
