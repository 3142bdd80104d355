"""A synthetic interaction set with planted structure, for the offline quickstart and tests.

Items belong to genres and follow a Zipf popularity; each user likes one or two genres.
A user's interactions are drawn without replacement with probability proportional to
popularity x (strong affinity for liked genres), in a time order, so a model that learns
the planted genres beats popularity, and popularity beats random.

    >>> source = make_synthetic(n_users=1000, n_items=600, seed=0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.io.source import Source

GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Documentary", "Animation")
_ADJECTIVES = (
    "Silent",
    "Crimson",
    "Last",
    "Hidden",
    "Broken",
    "Golden",
    "Electric",
    "Lonely",
    "Wild",
    "Frozen",
    "Midnight",
    "Secret",
    "Burning",
    "Distant",
    "Savage",
    "Gentle",
)
_NOUNS = (
    "River",
    "Empire",
    "Garden",
    "Machine",
    "Harbor",
    "Kingdom",
    "Signal",
    "Orchard",
    "Voyage",
    "Protocol",
    "Carnival",
    "Frontier",
    "Lantern",
    "Mirror",
    "Station",
    "Echo",
)


def make_synthetic(
    n_users: int = 1000,
    n_items: int = 600,
    mean_interactions: int = 40,
    affinity: float = 12.0,
    seed: int = 0,
) -> Source:
    """Draws the data set.

    Args:
        n_users, n_items: sizes.
        mean_interactions: mean interactions per user (each user has at least 5).
        affinity: how much more likely an item of a liked genre is.
        seed: everything is drawn from this seed.

    Returns:
        A `Source` with ratings (4-5 for liked genres, 1-3 otherwise), timestamps, and item
        titles and genres.
    """
    rng = np.random.default_rng(seed)
    n_genres = len(GENRES)
    item_genre = rng.integers(0, n_genres, n_items)
    popularity = 1.0 / (1.0 + rng.permutation(n_items)) ** 0.8  # Zipf-like skew
    liked = np.zeros((n_users, n_genres), dtype=bool)
    liked[np.arange(n_users), rng.integers(0, n_genres, n_users)] = True
    second = rng.random(n_users) < 0.5
    liked[np.flatnonzero(second), rng.integers(0, n_genres, second.sum())] = True
    likes_item = liked[:, item_genre]  # (U, I)
    logits = np.log(popularity)[None, :] + np.where(likes_item, np.log(affinity), 0.0)
    gumbel = rng.gumbel(size=(n_users, n_items))
    counts = np.clip(rng.poisson(mean_interactions, n_users), 5, n_items // 2)
    ranked = np.argsort(-(logits + gumbel), axis=1)  # sampling without replacement
    keep = np.arange(n_items)[None, :] < counts[:, None]
    users = np.broadcast_to(np.arange(n_users)[:, None], ranked.shape)[keep]
    items = ranked[keep]
    liked_row = likes_item[users, items]
    ratings = np.where(liked_row, rng.integers(4, 6, len(users)), rng.integers(1, 4, len(users)))
    times = 1_600_000_000 + np.cumsum(rng.integers(1, 5000, len(users)))
    times = times[rng.permutation(len(users))]
    titles = [
        f"{_ADJECTIVES[a]} {_NOUNS[b]} ({y})"
        for a, b, y in zip(
            rng.integers(0, len(_ADJECTIVES), n_items),
            rng.integers(0, len(_NOUNS), n_items),
            rng.integers(1950, 2024, n_items),
        )
    ]
    meta = pd.DataFrame({"title": titles, "genres": np.array(GENRES)[item_genre]})
    data = Interactions(
        user_ids=users.astype(np.int64),
        item_ids=items.astype(np.int64),
        user_vocab=Vocabulary(np.arange(1, n_users + 1)),
        item_vocab=Vocabulary(np.arange(1, n_items + 1)),
        ratings=ratings.astype(np.float32),
        times=times.astype(np.int64),
        items=meta,
    )
    return Source(data, name="synthetic", format="synthetic (planted structure)")
