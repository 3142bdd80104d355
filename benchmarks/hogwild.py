"""Hogwild: epochs per second with 1 and 2 worker processes, and the rmse each reaches.

    NCF_DATA_DIR=../shared/data python benchmarks/hogwild.py [--data ml-100k] [--epochs 20]

``mf-bias`` with its default settings on the ratio:0.8,0.1,0.1 split, trained for a fixed
number of epochs (no early stop) with ``hogwild_workers`` = 1, then 2: each worker is a
process with one thread, stepping one shared model without locks. Epochs per second
count training time only (the validation pass after each epoch is left out); the rmse
is the validation rmse of the last epoch. Measured in one run of this script; nothing
else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.random import Generators
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))


def run(data: str, epochs: int, workers: int, model_name: str) -> tuple[float, float]:
    """(epochs per second, validation rmse after the last epoch)."""
    config = resolve_config(
        {
            "model": model_name,
            "data": data,
            "epochs": epochs,
            "patience": epochs,
            "hogwild_workers": workers,
        }
    )
    prepared = prepare_run(config, Generators.from_seed(0))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(config, prepared)
    trainer = Trainer(
        model, prepared.split.train, config.train, prepared.valid, Generators.from_seed(0),
        progress=False,
    )  # fmt: skip
    trainer.fit()
    seconds = sum(row["train_s"] for row in trainer.history)
    return len(trainer.history) / seconds, trainer.history[-1]["valid_rmse"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="ml-100k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--model", default="mf-bias")
    args = parser.parse_args()
    data = args.data if Path(args.data).exists() else str(DATA / args.data)
    print(f"# {args.model} on {args.data}, {args.epochs} epochs, {os.cpu_count()} cores")
    print("| workers | epochs / s | valid rmse |")
    print("|---|---|---|")
    results = {}
    for workers in (1, 2):
        results[workers] = run(data, args.epochs, workers, args.model)
        speed, rmse = results[workers]
        print(f"| {workers} | {speed:.2f} | {rmse:.4f} |", flush=True)
    speedup = results[2][0] / results[1][0]
    gap = results[2][1] - results[1][1]
    print(f"2 workers: {speedup:.2f}x the epochs per second of 1, rmse {gap:+.4f}")


if __name__ == "__main__":
    main()
