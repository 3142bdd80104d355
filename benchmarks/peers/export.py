"""ncf's splits, written once to files (common.py describes them) so that every library
trains and is tested on identical rows. Imported by run.py, in the main virtual env.

- ML-1M: the NCF paper's split (``$NCF_DATA_DIR/ml-1m/ncf``) and its published 99 test
  negatives per user.
- ML-100K: ncf's leave-last-out split by timestamp and the 99 negatives per test user that
  ncf's ``sampled:99`` protocol draws (seed 0): never an item of the user in any split.
- ML-100K ratings: ncf's split of the rating models (``ratio:0.8,0.1,0.1``, held-out rows
  whose user or item has no training row dropped, as ncf's ``rating`` protocol does).

Every library trains on ncf's ``known`` rows (training + validation: what ncf refits on
before its test) and is scored on the test rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.random import Generators

#: dataset name -> (folder under $NCF_DATA_DIR, ncf settings of its ranking split)
RANKING = {
    "ml-100k": ("ml-100k", {"protocol": "sampled:99"}),
    "ml-1m": ("ml-1m/ncf", {}),  # the files fix the split and give the negatives
}
#: the datasets with a rating split (the NCF ML-1M files hold no ratings)
RATING = {"ml-100k": "ml-100k"}


def export_ranking(data_dir: Path, dataset: str, folder: Path) -> Path:
    """Writes ``folder/ranking.npz`` for ``dataset`` and returns its path."""
    where, settings = RANKING[dataset]
    values = {"model": "neumf", "data": str(data_dir / where), **settings}
    return _export(
        values,
        "sampled:99",
        folder / "ranking.npz",
        lambda test: {
            "test_users": test.users.astype(np.int64),
            "candidates": test.relevant.astype(np.int64),  # held-out item first, then 99 negatives
        },
    )


def export_rating(data_dir: Path, dataset: str, folder: Path) -> Path:
    """Writes ``folder/rating.npz`` for ``dataset`` and returns its path."""
    values = {"model": "mf", "data": str(data_dir / RATING[dataset])}
    return _export(
        values,
        "rating",
        folder / "rating.npz",
        lambda test: {
            "test_users": test.users.astype(np.int64),
            "test_items": test.items.astype(np.int64),
            "test_ratings": test.ratings.astype(np.float64),
            "low": test.low,
            "high": test.high,
        },
    )


def _export(values: dict, protocol: str, path: Path, test_arrays) -> Path:
    """ncf's split of the run ``values``: its training + validation rows (the refit data)
    and ``test_arrays(test evaluator)``, written to ``path``."""
    config = resolve_config(values)
    prepared = prepare_run(config, Generators.from_seed(config.seed))
    known = prepared.known
    assert prepared.protocol.label == protocol, prepared.protocol.label
    arrays = {
        "n_users": known.n_users,
        "n_items": known.n_items,
        "train_users": known.user_ids.astype(np.int64),
        "train_items": known.item_ids.astype(np.int64),
    }
    if known.ratings is not None and protocol == "rating":
        arrays["train_ratings"] = known.ratings.astype(np.float64)
    np.savez(path, **arrays, **test_arrays(prepared.test))
    return path


def describe(path: Path) -> str:
    """One line: the rows and sizes of an exported split."""
    with np.load(path) as data:
        n_test = len(data["test_users"])
        return (
            f"{data['n_users']:,} users, {data['n_items']:,} items, "
            f"{len(data['train_users']):,} training rows, {n_test:,} test rows"
        )


def keep_users(path: Path, fraction: float) -> None:
    """Rewrites a split file with the rows of its first ``fraction`` of users only
    (``--quick``); the user and item ranges stay as they were."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    last = max(1, int(arrays["n_users"] * fraction))
    train, test = arrays["train_users"] < last, arrays["test_users"] < last

    def kept(name: str, values: np.ndarray) -> np.ndarray:
        if name.startswith("train_"):
            return values[train]
        if name.startswith("test_") or name == "candidates":
            return values[test]
        return values

    np.savez(path, **{name: kept(name, values) for name, values in arrays.items()})
