"""Seconds to build the sequence models' inputs from ML-1M (the NCF paper's files, row
order = time order), and seconds per training epoch of SASRec and MPM with their defaults.

    NCF_DATA_DIR=../shared/data python benchmarks/sequences.py [--threads N] [--epochs N]

Inputs (target < 1 s each, from the training part's interactions): MPM's history windows
(user, target, the 9 items before it) for every interaction with 9 earlier ones, and
SASRec's next-item training sequences plus every user's last 200 items. Each figure is
the median over ``--repeats`` builds; epochs are timed in the same run (``--epochs 0``
skips them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from ncf.data.histories import Histories
from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.random import Generators
from ncf.runtime.device import use_threads
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"


def seconds(build, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = build()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--models", default="sasrec,mpm")
    args = parser.parse_args()
    threads = use_threads(args.threads)
    config = resolve_config({"model": "sasrec", "data": str(DATA)})
    prepared = prepare_run(config, Generators.from_seed(0))
    train = prepared.split.train
    print(f"# ML-1M (NCF files): {len(train):,} training interactions, {threads} threads\n")
    print("| input | rows | seconds |")
    print("|---|---|---|")
    s, windows = seconds(lambda: Histories.of(train).windows(9), args.repeats)
    print(f"| MPM windows (history 9) | {len(windows[0]):,} | {s:.3f} |")

    def sasrec() -> tuple:
        histories = Histories.of(train)
        return histories.shifted(200), histories.last(200)

    s, (shifted, _) = seconds(sasrec, args.repeats)
    print(f"| SASRec sequences + last 200 items | {len(shifted[0]):,} | {s:.3f} |")
    if not args.epochs:
        return
    print("\n| model | batches | s / epoch |")
    print("|---|---|---|")
    for name in args.models.split(","):
        config = resolve_config({"model": name, "data": str(DATA)})
        torch.manual_seed(0)
        model = build_model(config, prepared)
        trainer = Trainer(model, train, config.train, None, Generators.from_seed(0), progress=False)
        times = []
        for _ in range(args.epochs):
            started = time.perf_counter()
            trainer.train_epoch()
            times.append(time.perf_counter() - started)
        n = trainer.regime.batches_per_epoch()
        print(f"| {name} | {n:,} | {statistics.median(times):.1f} |", flush=True)


if __name__ == "__main__":
    main()
