"""Preparation of raw interactions: implicit conversion, de-duplication, filters.

Every step records how many rows it dropped and why in a `DropLog`, so nothing is
dropped silently; `ncf data info` prints it.

    >>> data, log = prepare(data, PrepareConfig(implicit_threshold=4.0, min_user=5))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ncf.data.interactions import Interactions, Vocabulary, lexsort, present, sorted_unique
from ncf.errors import DataError


@dataclass(frozen=True)
class PrepareConfig:
    """How raw interactions become training data.

    Attributes:
        implicit_threshold: keep rows with rating >= this value (None keeps all rows).
            Every kept row is a positive; ratings stay available for explicit models.
        dedupe: keep only the latest row of each (user, item) pair.
        min_user: drop users with fewer interactions (one pass, after de-duplication).
        min_item: drop items with fewer interactions (after the user filter).
        user_fraction: keep a random share of users (0 < f <= 1), drawn with ``subsample_seed``.
        subsample_seed: seed of the user subsample.
        ordered: a table without a time column lists each user's rows in time order:
            sequence models may use it, and leave-last-out holds out the last rows
            without a warning.
    """

    implicit_threshold: float | None = None
    dedupe: bool = True
    min_user: int = 0
    min_item: int = 0
    user_fraction: float = 1.0
    subsample_seed: int = 0
    ordered: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.user_fraction <= 1.0:
            raise DataError(f"user_fraction must be in (0, 1], got {self.user_fraction}")
        if self.min_user < 0 or self.min_item < 0:
            raise DataError("min_user and min_item must be >= 0")


@dataclass
class DropLog:
    """Rows read, dropped per reason, and kept; ``notes`` counts rows that are kept but
    worth knowing about (duplicates in files that fix their split)."""

    read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    @property
    def kept(self) -> int:
        return self.read - sum(self.dropped.values())


def count_duplicates(data: Interactions) -> int:
    """Rows that repeat an earlier (user, item) pair."""
    keys = data.user_ids * data.n_items + data.item_ids
    return len(keys) - len(sorted_unique(keys))


def dedupe_latest(data: Interactions) -> tuple[Interactions, int]:
    """Keeps the latest row (by time, then source order) of every (user, item) pair."""
    keys = data.user_ids * data.n_items + data.item_ids
    if len(sorted_unique(keys)) == len(keys):
        return data, 0
    sort_keys = [data.order] + ([data.times] if data.times is not None else []) + [keys]
    order = lexsort(sort_keys)
    sorted_keys = keys[order]
    last = np.r_[sorted_keys[1:] != sorted_keys[:-1], True]
    keep = np.sort(order[last])
    return data.subset(keep), len(data) - len(keep)


def compact(data: Interactions) -> Interactions:
    """Re-indexes users and items so that only those present remain, in their old order."""
    used_users = present(data.user_ids, data.n_users)
    used_items = present(data.item_ids, data.n_items)
    if len(used_users) == data.n_users and len(used_items) == data.n_items:
        return data
    user_map = np.full(data.n_users, -1, dtype=np.int64)
    user_map[used_users] = np.arange(len(used_users))
    item_map = np.full(data.n_items, -1, dtype=np.int64)
    item_map[used_items] = np.arange(len(used_items))
    items = None
    if data.items is not None:
        items = data.items.iloc[used_items].reset_index(drop=True)
    return replace(
        data,
        user_ids=user_map[data.user_ids],
        item_ids=item_map[data.item_ids],
        user_vocab=Vocabulary(data.user_vocab.ids[used_users]),
        item_vocab=Vocabulary(data.item_vocab.ids[used_items]),
        items=items,
    )


def prepare(
    data: Interactions, config: PrepareConfig, log: DropLog | None = None
) -> tuple[Interactions, DropLog]:
    """Applies `PrepareConfig` to raw interactions and returns compacted data and its log."""
    log = log or DropLog(read=len(data))
    if config.implicit_threshold is not None:
        if data.ratings is None:
            raise DataError("implicit_threshold needs ratings, and this data has none")
        keep = data.ratings >= config.implicit_threshold
        log.drop(f"rating < {config.implicit_threshold:g}", int((~keep).sum()))
        data = data.subset(keep)
    if config.dedupe:
        data, n = dedupe_latest(data)
        log.drop("duplicate (user, item), older row", n)
    if config.user_fraction < 1.0:
        rng = np.random.default_rng(config.subsample_seed)
        users = present(data.user_ids, data.n_users)
        chosen = rng.choice(
            users, size=max(1, round(len(users) * config.user_fraction)), replace=False
        )
        keep = np.isin(data.user_ids, chosen)
        log.drop("user not in the subsample", int((~keep).sum()))
        data = data.subset(keep)
    if config.min_user > 1:
        keep = data.user_counts()[data.user_ids] >= config.min_user
        log.drop(f"user with < {config.min_user} interactions", int((~keep).sum()))
        data = data.subset(keep)
    if config.min_item > 1:
        keep = data.item_counts()[data.item_ids] >= config.min_item
        log.drop(f"item with < {config.min_item} interactions", int((~keep).sum()))
        data = data.subset(keep)
    if len(data) == 0:
        raise DataError("no interactions left after filtering; loosen the filters")
    return compact(data), log
