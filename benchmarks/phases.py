"""Per-phase speed on ML-1M (the NCF split): load + split, one epoch of negatives,
sampled evaluation of 6,040 users, full-ranking evaluation, and training throughput.

    NCF_DATA_DIR=../shared/data python benchmarks/phases.py

Prints one line per figure; every figure is the median of a few repeats in one run.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ncf.data.sampling import SeenSet, sample_negatives
from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.models import GMF, NeuMF
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"# ncf phase benchmark on {DATA} ({os.cpu_count()} cores, torch {torch.__version__})")
    gens = Generators.from_seed(0)
    sampled = resolve_config({"model": "neumf", "data": str(DATA)})
    prepared = None

    def load() -> None:
        nonlocal prepared
        prepared = prepare_run(sampled, Generators.from_seed(0))

    print(f"load + split + evaluation negatives (ML-1M): {timed(load):.2f} s")
    split = prepared.split
    train = split.train
    seen = SeenSet.from_interactions(train)
    rng = np.random.default_rng(0)
    seconds = timed(lambda: sample_negatives(train.user_ids, 4, seen, rng), 5)
    print(f"4 exact negatives for each of {len(train):,} training positives: {seconds:.3f} s")
    seconds = timed(lambda: sample_negatives(train.user_ids, 4, None, rng, train.n_items), 5)
    print(f"4 approximate negatives for each of {len(train):,} training positives: {seconds:.3f} s")

    torch.manual_seed(0)
    model = NeuMF(train.n_users, train.n_items).eval()
    seconds = timed(lambda: prepared.test(model), 5)
    print(f"sampled:99 evaluation of {len(prepared.test):,} users (NeuMF): {seconds:.3f} s")
    full = resolve_config({"model": "neumf", "data": str(DATA), "protocol": "full"})
    full_prepared = prepare_run(full, gens)
    for name, m in (("GMF-64", GMF(train.n_users, train.n_items, dim=64)), ("NeuMF", model)):
        seconds = timed(lambda m=m: full_prepared.test(m.eval()), 3)
        print(
            f"full-ranking evaluation of {len(full_prepared.test):,} users x "
            f"{train.n_items:,} items ({name}): {seconds:.3f} s"
        )

    for name, m, batch in (
        ("NeuMF", NeuMF(train.n_users, train.n_items), 4096),
        ("GMF-64", GMF(train.n_users, train.n_items, dim=64), 4096),
    ):
        config = TrainConfig(epochs=1, batch_size=batch, lr=1e-3)
        trainer = Trainer(m, train, config, None, Generators.from_seed(0), progress=False)
        seconds = timed(trainer.train_epoch, 2)
        rows = len(train) * (1 + config.n_negatives)
        print(
            f"one training epoch of {name} at batch {batch} ({rows:,} rows incl. sampling): "
            f"{seconds:.2f} s = {rows / seconds / 1e6:.2f} M rows/s"
        )


if __name__ == "__main__":
    main()
