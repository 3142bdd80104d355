"""One full-ranking evaluation (every item scored for every test user, training items
excluded, exact pessimistic ranks) of a dot-product model: seconds and peak memory.

    NCF_DATA_DIR=../shared/data python benchmarks/full_ranking.py [--threads N] [--before]

Cases: the synthetic check-in catalogue of `checkin.py` (29,858 users x 40,981 items,
~6.8 test items per user) at dim 64 and 128, and ML-1M (all ratings as interactions,
``user-ratio:0.7,0.1,0.2``). ``--before`` also times the ranking by sorting each row that
`ncf` used before (scores and exclusions as now), for the ratio. Then
``ncf train --model popularity`` on the check-in catalogue, end to end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import checkin  # noqa: E402

from ncf.evaluation import metrics  # noqa: E402
from ncf.experiment.preparation import prepare_run  # noqa: E402
from ncf.experiment.settings import resolve_config
from ncf.models import BPRMF  # noqa: E402
from ncf.random import Generators  # noqa: E402
from ncf.runtime.device import use_threads  # noqa: E402


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measured(call):
    """(seconds, peak resident memory above the start in bytes, result) of ``call()``."""
    start, peak, done = rss(), [0], threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    return seconds, max(peak[0], rss()) - start, result


def sorted_ranks(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """The ranking ``ncf`` did before: sort every row, search each relevant score in it."""
    valid = relevant >= 0
    scores = torch.nan_to_num(scores, nan=-torch.inf)
    rel_scores = scores.gather(1, relevant.clamp(min=0))
    rel_scores = torch.where(valid, rel_scores, torch.full_like(rel_scores, torch.inf))
    at_least = scores.shape[1] - torch.searchsorted(scores.sort(dim=1).values, rel_scores)
    a, b = rel_scores.unsqueeze(2), rel_scores.unsqueeze(1)
    both = valid.unsqueeze(2) & valid.unsqueeze(1)
    idx = torch.arange(relevant.shape[1])
    earlier = ((b == a) & both & (idx.view(1, 1, -1) < idx.view(1, -1, 1))).sum(2)
    ranks = (at_least - ((b >= a) & both).sum(2) + ((b > a) & both).sum(2) + earlier).double()
    return torch.where(valid, ranks, torch.full_like(ranks, float("inf"))).sort(dim=1).values


def case(name: str, data: str, split: str, dim: int, before: bool) -> None:
    values = {"model": "bpr-mf", "data": data, "split": split, "protocol": "full", "ks": [20]}
    config = resolve_config(values)
    prepared = prepare_run(config, Generators.from_seed(0))
    test = prepared.test
    torch.manual_seed(0)
    model = BPRMF(prepared.split.train.n_users, prepared.split.train.n_items, dim=dim)
    seconds, peak, result = measured(lambda: test(model))
    print(
        f"| {name} | {len(test):,} x {model.n_items:,} | {test.relevant.shape[1]} | {dim} "
        f"| {seconds:.2f} | {peak / 2**20:.0f} | {result['recall@20']:.4f} |"
    )
    if before:
        kept = metrics.ranks_in_place
        metrics.ranks_in_place = sorted_ranks  # type: ignore[assignment]
        try:
            old, _, again = measured(lambda: test(model))
        finally:
            metrics.ranks_in_place = kept
        assert all(abs(again[k] - result[k]) < 1e-9 for k in result), (again, result)
        print(f"|   sorting each row, as before | | | | {old:.2f} ({old / seconds:.1f}x) | | |")


def popularity_run(folder: Path, threads: int) -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ncf.cli",
                "train",
                "--model",
                "popularity",
                "--data",
                str(folder),
                "--k",
                "20",
                "--out",
                out,
                "--no-progress",
                "--threads",
                str(threads),
            ],
            check=True,
            capture_output=True,
        )
        print(
            f"\n`ncf train --model popularity --data CHECKIN --k 20`: "
            f"{time.perf_counter() - started:.1f} s end to end"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--before", action="store_true")
    args = parser.parse_args()
    threads = use_threads(args.threads)
    folder = checkin.write(Path(tempfile.gettempdir()) / "ncf-checkin")
    print(f"# one full-ranking test evaluation, {threads} threads, {os.cpu_count()} cores\n")
    print("| data | users x items | max relevant | dim | seconds | peak MiB | recall@20 |")
    print("|---|---|---|---|---|---|---|")
    case("check-in (synthetic)", str(folder), "", 64, args.before)
    case("check-in (synthetic)", str(folder), "", 128, False)
    case("ml-1m", "ml-1m", "user-ratio:0.7,0.1,0.2", 64, args.before)
    popularity_run(folder, threads)


if __name__ == "__main__":
    main()
