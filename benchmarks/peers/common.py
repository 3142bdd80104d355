"""What the driver (run.py) and every child script share: the exported split's files, the
one metric function every library is scored with, and the learning curve a child writes.

It needs NumPy only, so that it imports in every library's own virtual environment.
Not run by itself: `python benchmarks/peers/run.py` runs the children.

Files of an exported split (see export.py), NumPy ``.npz`` archives without pickles:

- ``ranking.npz``: ``n_users``, ``n_items``, ``train_users``, ``train_items`` (the rows
  every library trains on), ``test_users`` (Q,) and ``candidates`` (Q, 100): each test
  user's held-out item in column 0, then its 99 negatives.
- ``rating.npz``: ``n_users``, ``n_items``, ``train_users``, ``train_items``,
  ``train_ratings``, ``test_users``, ``test_items``, ``test_ratings``, and ``low`` /
  ``high``, the training ratings' range that predictions are clipped to.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

K = 10


def load_split(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an exported split file (``ranking.npz`` or ``rating.npz``)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def ranking_metrics(scores: np.ndarray) -> dict[str, float]:
    """hr@10 and ndcg@10 of (Q, 1 + N) candidate scores, the held-out item in column 0.

    The held-out item's rank is the number of negatives scoring at least as high as it:
    ties count against it (as in ncf), and a NaN score is the lowest."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    hit = rank < K
    gain = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    return {f"hr@{K}": float(hit.mean()), f"ndcg@{K}": float(gain.mean())}


def rating_metrics(
    predictions: np.ndarray, ratings: np.ndarray, low: float, high: float
) -> dict[str, float]:
    """RMSE and MAE of predictions clipped to the training ratings' range [low, high]."""
    error = np.clip(np.asarray(predictions, dtype=np.float64), low, high) - ratings
    return {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(np.mean(np.abs(error)))}


def child_arguments(description: str) -> argparse.Namespace:
    """The command line every child script takes from the driver."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--split", required=True, help="ranking.npz or rating.npz")
    parser.add_argument("--model", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--settings", default="{}", help="the model's settings, JSON")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--t0", type=float, default=time.time(), help="the process's start")
    parser.add_argument("--minutes", type=float, default=0.0, help="time cap (0: none)")
    parser.add_argument("--target", type=float, default=0.0, help="stop once reached")
    parser.add_argument("--out", required=True, help="the curve's JSON file")
    args = parser.parse_args()
    args.settings = json.loads(args.settings)
    return args


class Curve:
    """A child's learning curve: after each epoch (or ALS iteration) the test metrics and
    the seconds since the driver launched the child's process (interpreter start, imports
    and data loading included). Evaluation time is included too, and also kept apart."""

    def __init__(self, args: argparse.Namespace, split: dict[str, np.ndarray]):
        self.args, self.split = args, split
        self.ranking = "candidates" in split
        self.points: list[dict[str, Any]] = []
        self.eval_s = 0.0
        self.load_s = 0.0

    def elapsed(self) -> float:
        return time.time() - self.args.t0

    def loaded(self) -> None:
        """Marks the end of imports and data loading (the model is about to train)."""
        self.load_s = self.elapsed()

    def evaluate(self, epoch: float, predict: Callable[[], np.ndarray]) -> dict[str, float]:
        """Records the metrics of ``predict()``: (Q, 1 + N) candidate scores for ranking,
        (Q,) predicted ratings of the test rows for rating."""
        started = time.perf_counter()
        output = np.asarray(predict())
        if self.ranking:
            metrics = ranking_metrics(output)
        else:
            s = self.split
            low, high = float(s["low"]), float(s["high"])
            metrics = rating_metrics(output, s["test_ratings"], low, high)
        self.eval_s += time.perf_counter() - started
        point = {"epoch": epoch, "seconds": round(self.elapsed(), 3), **metrics}
        self.points.append(point)
        print(json.dumps(point), flush=True)  # progress, read by the driver
        return metrics

    def reached_target(self) -> bool:
        """Whether the last point reached ``--target`` (hr@10 up, or RMSE down)."""
        if not self.args.target or not self.points:
            return False
        last = self.points[-1]
        if self.ranking:
            return last["hr@10"] >= self.args.target
        return last["rmse"] <= self.args.target

    def over_time(self) -> bool:
        return bool(self.args.minutes) and self.elapsed() > 60 * self.args.minutes

    def write(self, versions: dict[str, str], note: str = "") -> None:
        """Writes the curve, the total time and the versions of the child's environment."""
        result = {
            "points": self.points,
            "load_s": round(self.load_s, 3),
            "eval_s": round(self.eval_s, 3),
            "total_s": round(self.elapsed(), 3),
            "versions": {"python": platform.python_version(), "numpy": np.__version__, **versions},
            "note": note,
        }
        Path(self.args.out).write_text(json.dumps(result, indent=1))
