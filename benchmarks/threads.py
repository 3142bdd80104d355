"""Seconds per training epoch by CPU thread count, on an idle CPU and with one core busy.

    NCF_DATA_DIR=../shared/data python benchmarks/threads.py

One epoch of GMF (ML-100K, leave-last-out) and of NeuMF (ML-1M, the NCF split), with the
models' default batch sizes and sampling included, for 1 thread and for every core; then
the same while another process keeps one core busy (as a second job on the machine
would). Each figure is the median of three epochs, measured in one run of this script.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from pathlib import Path

import torch

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.random import Generators
from ncf.runtime.device import default_threads, usable_cores
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))


def _spin() -> None:
    while True:
        pass


def epoch_seconds(model_name: str, data: str, threads: int) -> float:
    torch.set_num_threads(threads)
    config = resolve_config({"model": model_name, "data": data})
    prepared = prepare_run(config, Generators.from_seed(0))
    torch.manual_seed(0)
    model = build_model(config, prepared)
    trainer = Trainer(
        model, prepared.split.train, config.train, None, Generators.from_seed(0), progress=False
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        trainer.train_epoch()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    cores = usable_cores()
    counts = sorted({1, cores})
    cases = [("gmf", str(DATA / "ml-100k")), ("neumf", str(DATA / "ml-1m" / "ncf"))]
    print(f"# seconds per epoch; {cores} cores; default --threads here: {default_threads()}")
    print("| model, data | CPU | " + " | ".join(f"{n} thread(s)" for n in counts) + " |")
    print("|---|---|" + "---|" * len(counts))
    for load in ("idle", "one core busy"):
        spinner = None
        if load != "idle":
            spinner = multiprocessing.Process(target=_spin, daemon=True)
            spinner.start()
        try:
            for name, data in cases:
                seconds = [epoch_seconds(name, data, n) for n in counts]
                label = f"{name}, {Path(data).name if name == 'gmf' else 'ml-1m/ncf'}"
                cells = " | ".join(f"{s:.2f}" for s in seconds)
                print(f"| {label} | {load} | {cells} |", flush=True)
        finally:
            if spinner is not None:
                spinner.terminate()


if __name__ == "__main__":
    main()
