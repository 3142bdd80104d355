"""A synthetic catalogue of the shape of the public check-in benchmark of NGCF and
LightGCN: 29,858 users, 40,981 items, ~1M interactions, a fifth of each user's items
held out (~7 per user), written as ``train.txt`` / ``test.txt`` user-item lists.

Items follow a Zipf-like popularity and users a log-normal activity; the structure is
random, so it measures speed, not quality.

    python benchmarks/checkin.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ncf.data.io.given import write_lists

N_USERS, N_ITEMS, N_INTERACTIONS = 29_858, 40_981, 1_027_370


def draw(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, is_test) of distinct (user, item) pairs, grouped by user."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (1.0 + rng.permutation(N_ITEMS)) ** 0.6
    activity = np.clip(rng.lognormal(3.2, 0.8, N_USERS), 10, 800)
    counts = np.maximum((activity * N_INTERACTIONS / activity.sum()).astype(np.int64), 10)
    users = np.repeat(np.arange(N_USERS), counts)
    items = rng.choice(N_ITEMS, len(users), p=popularity / popularity.sum())
    pairs = np.unique(users * N_ITEMS + items)  # drops repeats, sorts by user
    users, items = pairs // N_ITEMS, pairs % N_ITEMS
    # a random fifth of each user's items (at least one) is the test part
    order = np.lexsort([rng.random(len(users)), users])
    starts = np.searchsorted(users[order], np.arange(N_USERS))
    sizes = np.diff(np.r_[starts, len(users)])
    position = np.arange(len(users)) - np.repeat(starts, sizes)
    is_test = np.empty(len(users), bool)
    is_test[order] = position < np.maximum(1, np.round(0.2 * sizes))[users[order]]
    return users, items, is_test


def write(folder: Path, seed: int = 0) -> Path:
    """Writes ``train.txt`` and ``test.txt`` into ``folder`` (once) and returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "test.txt").exists():
        users, items, is_test = draw(seed)
        write_lists(folder / "train.txt", users[~is_test], items[~is_test])
        write_lists(folder / "test.txt", users[is_test], items[is_test])
    return folder


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
