"""Seconds per training epoch of the graph models (NGCF, LightGCN) with their defaults.

    NCF_DATA_DIR=../shared/data python benchmarks/graph_epochs.py [--threads N] [--epochs N]

Data: ML-1M, all 1,000,209 ratings as interactions; Gowalla, the benchmark split's
``train.txt`` (810,128 interactions; the epoch runs over all of them and the test part);
and the synthetic check-in catalogue of `checkin.py` (29,858 users x 40,981 items, the
shape of Gowalla). One epoch is the ``user-bpr`` regime's pass (as many user draws as
interactions, in the model's default batch, or ``--set batch_size=N``), each batch
propagating the whole graph forward and back; drawing the batches is included. Each
figure is the median over ``--epochs`` epochs, measured in one run of this script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import checkin  # noqa: E402

from ncf.experiment.preparation import prepare_run  # noqa: E402
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.random import Generators  # noqa: E402
from ncf.runtime.device import use_threads  # noqa: E402
from ncf.training.loop import Trainer  # noqa: E402

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))


def measure(model_name: str, data: str, split: str, epochs: int, sets: dict) -> None:
    config = resolve_config({"model": model_name, "data": data, "split": split, "ks": [20], **sets})
    prepared = prepare_run(config, Generators.from_seed(0))
    parts = prepared.split
    every = parts.train.concat(parts.valid).concat(parts.test)
    torch.manual_seed(0)
    model = build_model(config, prepared)
    trainer = Trainer(model, every, config.train, None, Generators.from_seed(0), progress=False)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        trainer.train_epoch()
        times.append(time.perf_counter() - started)
    n_batches = trainer.regime.batches_per_epoch()
    print(
        f"| {model_name} | {Path(data).name} | {model.n_users:,} x {model.n_items:,} "
        f"| {len(every):,} | {config.train.batch_size} x {n_batches:,} "
        f"| {statistics.median(times):.1f} | {statistics.median(times) / n_batches * 1e3:.0f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--models", default="lightgcn,ngcf")
    parser.add_argument("--data", default="ml-1m,gowalla", help="ml-1m, ml-100k, gowalla, checkin")
    parser.add_argument("--set", action="append", default=[], help="key=value (batch_size=2048)")
    args = parser.parse_args()
    sets = {}
    for pair in args.set:
        key, _, value = pair.partition("=")
        sets[key] = float(value) if "." in value or "e" in value else int(value)
    threads = use_threads(args.threads)
    cores = os.cpu_count()
    print(f"# seconds per epoch (median of {args.epochs}), {threads} threads, {cores} cores\n")
    print(
        "| model | data | users x items | interactions | batch x batches | s / epoch | ms / batch |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for data in args.data.split(","):
            if data == "checkin":
                folder = checkin.write(Path(tempfile.gettempdir()) / "ncf-checkin")
                measure(name, str(folder), "", args.epochs, sets)
            elif data == "gowalla":  # the official train.txt (less each user's last line)
                measure(name, str(DATA / "gowalla"), "", args.epochs, sets)
            else:
                measure(name, str(DATA / data), "user-ratio:0.7,0.1,0.2", args.epochs, sets)


if __name__ == "__main__":
    main()
