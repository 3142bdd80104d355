"""Seconds per training epoch of every rating model, with its default settings.

    NCF_DATA_DIR=../shared/data python benchmarks/rating_epochs.py

ML-100K and ml-latest-small, split ratio:0.8,0.1,0.1 (the rating models' default); one
epoch is a pass over the training ratings (the autoencoder: over the items' rating
vectors) in the model's default batch size, batch building included. Each figure is
the median of three epochs, measured in one run of this script.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import torch

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.random import Generators
from ncf.runtime.device import use_threads
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))
MODELS = ("mf", "mf-bias", "concat-net", "embedding-net", "autoencoder")


def epoch_seconds(model_name: str, data: str) -> tuple[float, int, int]:
    """(median seconds per epoch, training rows, batch size)."""
    config = resolve_config({"model": model_name, "data": data})
    prepared = prepare_run(config, Generators.from_seed(0))
    torch.manual_seed(0)
    model = build_model(config, prepared)
    train = prepared.split.train
    trainer = Trainer(model, train, config.train, None, Generators.from_seed(0), progress=False)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        trainer.train_epoch()
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(train), config.train.batch_size


def main() -> None:
    threads = use_threads(0)
    print(f"# seconds per epoch (median of 3); torch threads {threads}")
    print("| model | data | train ratings | batch | s / epoch |")
    print("|---|---|---|---|---|")
    for data in ("ml-100k", "ml-latest-small"):
        for name in MODELS:
            seconds, rows, batch = epoch_seconds(name, str(DATA / data))
            print(f"| {name} | {data} | {rows:,} | {batch} | {seconds:.3f} |", flush=True)


if __name__ == "__main__":
    main()
