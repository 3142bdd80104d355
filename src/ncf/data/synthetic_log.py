"""Interaction logs of any size with a realistic shape, for scale tests and benchmarks.

`synthesize` writes a parquet log like MovieLens' ``ratings.csv`` (user, item, rating in
half stars, Unix timestamp; every user with at least 20 rows where the size allows),
drawn a block of users at a time, so memory stays bounded whatever the size:

- **item popularity** follows a power law, ``(rank + 30) ** -1.1``: a few blockbusters and
  a long tail;
- **user activity** is log-normal above the minimum (median about half the mean, a few
  users with thousands of rows), scaled to the row count asked for;
- **planted preferences**: every item has one of 18 genres; every user likes one to three
  of them and draws 75% of their rows from those genres (by popularity within the genre),
  the rest from the whole catalogue; ratings are higher for liked genres;
- **time**: each user is active over a log-normal span of days somewhere in 2000-2020, and
  rates their items in a random order within it.

ML-25M's size is 162,541 users, 59,047 items and 25,000,095 rows:

    >>> synthesize("log.parquet", users=162_541, items=59_047, rows=25_000_095, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ncf.errors import UsageError

GENRES = (
    "Drama",
    "Comedy",
    "Thriller",
    "Romance",
    "Action",
    "Horror",
    "Documentary",
    "Crime",
    "Adventure",
    "Sci-Fi",
    "Children",
    "Animation",
    "Mystery",
    "Fantasy",
    "War",
    "Western",
    "Musical",
    "Film-Noir",
)
GENRE_SHARES = np.array([25, 17, 9, 8, 7, 6, 5, 5, 4, 4, 2, 2, 2, 2, 1, 1, 0.5, 0.3])
MIN_ROWS = 20  # per user, as in MovieLens
LIKED_SHARE = 0.75  # of a user's rows drawn from the genres they like
BLOCK_ROWS = 1 << 22  # rows drawn at a time
START, END = 946_684_800, 1_577_836_800  # 2000-01-01, 2020-01-01
SCHEMA = pa.schema(
    [
        ("user_id", pa.int32()),
        ("item_id", pa.int32()),
        ("rating", pa.float32()),
        ("timestamp", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Catalogue:
    """The items: genre and popularity, and per-genre cumulative popularity for sampling.

    Attributes:
        genre: (I,) genre code of each item.
        quality: (I,) a per-item rating offset.
        by_genre: (I,) items sorted by genre.
        cumulative: (I,) cumulative popularity of ``by_genre``, ending at 1.
        span: (G + 1, 2) the popularity mass ``[lo, hi)`` of each genre in ``cumulative``;
            the last row, ``[0, 1)``, is the whole catalogue.
    """

    genre: np.ndarray
    quality: np.ndarray
    by_genre: np.ndarray
    cumulative: np.ndarray
    span: np.ndarray

    @classmethod
    def draw(cls, n_items: int, rng: np.random.Generator) -> Catalogue:
        shares = GENRE_SHARES / GENRE_SHARES.sum()
        genre = rng.choice(len(GENRES), size=n_items, p=shares).astype(np.int32)
        popularity = (rng.permutation(n_items) + 30.0) ** -1.1
        by_genre = np.argsort(genre, kind="stable")
        cumulative = np.cumsum(popularity[by_genre])
        cumulative /= cumulative[-1]
        ends = np.searchsorted(genre[by_genre], np.arange(len(GENRES) + 1))
        mass = np.concatenate([[0.0], cumulative])[ends]
        span = np.stack([mass[:-1], mass[1:]], axis=1)
        span = np.vstack([span, [0.0, 1.0]])
        quality = rng.normal(0.0, 0.4, n_items).astype(np.float32)
        return cls(genre, quality, by_genre, cumulative, span)

    def sample(self, genres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of ``genres`` (a genre code, or G for the whole catalogue),
        by popularity."""
        lo, hi = self.span[genres, 0], self.span[genres, 1]
        target = lo + rng.random(len(genres)) * (hi - lo)
        position = np.searchsorted(self.cumulative, target, side="right")
        return self.by_genre[np.minimum(position, len(self.by_genre) - 1)]


def activity(n_users: int, n_items: int, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """(U,) rows per user: at least `MIN_ROWS` (or ``n_rows // U`` when less), log-normal
    above it, at most half the catalogue, summing to ``n_rows``."""
    cap = max(n_items // 2, 1)
    if n_rows < n_users:
        raise UsageError(f"--rows {n_rows:,} is fewer than one row per user ({n_users:,})")
    if n_rows > n_users * cap:
        raise UsageError(
            f"--rows {n_rows:,} is more than {n_users:,} users can hold with at most "
            f"half of {n_items:,} items each"
        )
    floor = min(MIN_ROWS, n_rows // n_users, cap)
    extra = rng.lognormal(0.0, 1.3, n_users)
    counts = np.full(n_users, floor, dtype=np.int64)
    left = n_rows - counts.sum()
    for _ in range(50):  # users over the cap give their excess back to the others
        free = counts < cap
        if left == 0 or not free.any():
            break
        weights = np.where(free, extra, 0.0)
        share = left * weights / weights.sum()
        grant = np.floor(share).astype(np.int64)
        remainder = left - grant.sum()
        grant[np.argsort(grant - share)[:remainder]] += 1  # the largest fractions
        counts = np.minimum(counts + grant, cap)
        left = n_rows - counts.sum()
    return counts


def _draw_block(
    counts: np.ndarray, catalogue: Catalogue, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs for a block of users, ``counts[u]`` for user ``u`` (local
    indices), and whether each pair is in a liked genre."""
    n_users, n_items = len(counts), len(catalogue.genre)
    n_genres = len(GENRES)
    n_liked = rng.integers(1, 4, n_users)
    liked = np.argsort(rng.random((n_users, n_genres)), axis=1)[:, :3].astype(np.int32)
    keys = np.empty(0, dtype=np.int64)
    missing = counts + counts // 10  # a little over: fewer rounds
    for round_ in range(64):
        users = np.repeat(np.arange(n_users), np.maximum(missing, 0))
        if round_ < 8:  # then the long tail fills what preference could not
            from_liked = rng.random(len(users)) < LIKED_SHARE
            pick = liked[users, rng.integers(0, n_liked[users])]
            genres = np.where(from_liked, pick, n_genres)
            items = catalogue.sample(genres, rng)
        else:
            items = rng.integers(0, n_items, len(users))
        # two sorted runs merge in linear time (timsort); np.unique would hash, slowly
        new = np.sort(users * np.int64(n_items) + items)
        keys = np.sort(np.concatenate([keys, new]), kind="stable")
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        have = np.bincount(keys // n_items, minlength=n_users)
        missing = counts - have
        if (missing <= 0).all():
            break
    users, items = np.divmod(keys, n_items)
    surplus = have - counts  # a round may overshoot: drop a user's surplus rows at random
    if surplus.any():
        rank = _rank_within_user(users, have, rng)
        keep = rank < counts[users]
        users, items = users[keep], items[keep]
    in_liked = (
        (liked[users] == catalogue.genre[items][:, None]) & (np.arange(3) < n_liked[users, None])
    ).any(1)
    return users, items, in_liked


def _rank_within_user(users: np.ndarray, have: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random rank 0, 1, ... of each row among its user's rows (``users`` sorted, ``have``
    the rows per user)."""
    order = np.argsort(users + rng.random(len(users)))  # users, shuffled within each
    starts = np.cumsum(have) - have
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - starts[users[order]]
    return rank


def _times(users: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unix times: each user's rows spread at random over their active span."""
    days = np.minimum(rng.lognormal(3.0, 2.0, len(counts)), (END - START) / 86_400 - 1)
    span = (days * 86_400).astype(np.int64)
    start = START + (rng.random(len(counts)) * (END - START - span)).astype(np.int64)
    return start[users] + (rng.random(len(users)) * span[users]).astype(np.int64)


def _ratings(
    users: np.ndarray,
    items: np.ndarray,
    in_liked: np.ndarray,
    catalogue: Catalogue,
    rng: np.random.Generator,
    n_users: int,
) -> np.ndarray:
    """Half stars from 0.5 to 5: user and item offsets, a lift for liked genres, noise."""
    bias = rng.normal(0.0, 0.4, n_users)
    score = 3.3 + bias[users] + catalogue.quality[items] + np.where(in_liked, 0.6, -0.3)
    score += rng.normal(0.0, 0.7, len(users))
    return np.clip(np.round(score * 2) / 2, 0.5, 5.0).astype(np.float32)


def synthesize(
    path: str | Path,
    users: int,
    items: int,
    rows: int,
    seed: int = 0,
    item_table: str | Path | None = None,
    advance: Callable[[int], object] | None = None,
) -> dict[str, int]:
    """Writes a synthetic log to ``path`` (parquet: user_id, item_id, rating, timestamp).

    Args:
        path: the parquet file to write.
        users, items, rows: the log's size; every user and nearly every item appear.
        seed: everything is drawn from it; the same arguments write the same file.
        item_table: where to write the items' titles and genres (parquet), or None.
        advance: called with the rows written after each block (a progress bar).

    Returns:
        The counts written: ``rows``, ``users``, ``items`` (distinct items that appear).
    """
    if users < 1 or items < 2:
        raise UsageError("--users must be >= 1 and --items >= 2")
    rng = np.random.default_rng(seed)
    catalogue = Catalogue.draw(items, rng)
    counts = activity(users, items, rows, rng)
    bounds = np.searchsorted(np.cumsum(counts), np.arange(1, rows // BLOCK_ROWS + 2) * BLOCK_ROWS)
    edges = np.unique(np.concatenate([[0], np.minimum(bounds + 1, users), [users]]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen_items = np.zeros(items, dtype=bool)
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        for lo, hi in zip(edges[:-1], edges[1:]):
            local, item, in_liked = _draw_block(counts[lo:hi], catalogue, rng)
            times = _times(local, counts[lo:hi], rng)
            ratings = _ratings(local, item, in_liked, catalogue, rng, hi - lo)
            seen_items[item] = True
            table = pa.table(
                [
                    pa.array((local + lo + 1).astype(np.int32)),
                    pa.array((item + 1).astype(np.int32)),
                    pa.array(ratings),
                    pa.array(times),
                ],
                schema=SCHEMA,
            )
            writer.write_table(table, row_group_size=1 << 20)
            if advance is not None:
                advance(len(local))
    if item_table is not None:
        item_frame(catalogue, rng).to_parquet(item_table, index=False)
    return {"rows": int(counts.sum()), "users": users, "items": int(seen_items.sum())}


def item_frame(catalogue: Catalogue, rng: np.random.Generator) -> pd.DataFrame:
    """The items' ids, made-up titles with a year, and genres."""
    n = len(catalogue.genre)
    years = rng.integers(1920, 2020, n)
    titles = pd.Series(np.char.add("Film ", np.arange(1, n + 1).astype(str)))
    return pd.DataFrame(
        {
            "item_id": np.arange(1, n + 1, dtype=np.int32),
            "title": titles + " (" + pd.Series(years.astype(str)) + ")",
            "genres": np.array(GENRES)[catalogue.genre],
        }
    )
