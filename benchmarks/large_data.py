"""Data preparation at ML-25M size: load, filter, leave-last-out split and one epoch of
negatives, with the seconds of each phase and the peak memory.

Writes the synthetic log first when it is not there (``ncf data synth``, timed apart), then
runs the phases in a fresh process so that its peak RSS is theirs alone:

    python benchmarks/large_data.py                       # 25,000,095 rows, 4 negatives
    python benchmarks/large_data.py --rows 5000000 --users 32500
    python benchmarks/large_data.py --data ml-25m         # the real file, when downloaded

Targets on 2 cores: <= 60 s and <= 6 GB at 25M rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def phases(spec: str, negatives: int, split: str) -> dict[str, float]:
    """Runs the phases in this process; seconds per phase and peak RSS."""
    import numpy as np
    import torch

    from ncf.data.preprocess import PrepareConfig
    from ncf.data.splits import make_split
    from ncf.experiment.preparation import load_source, prepare_source
    from ncf.random import Generators
    from ncf.training.config import TrainConfig
    from ncf.training.regimes import make_regime

    out: dict[str, float] = {}
    generators = Generators.from_seed(0)
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        out[name] = now - clock
        clock = now

    source = load_source(spec)
    lap("load_s")
    source, _ = prepare_source(source, PrepareConfig())
    lap("prepare_s")
    parts = make_split(source, split, generators.split)
    lap("split_s")
    config = TrainConfig(n_negatives=negatives, batch_size=1 << 16)
    regime = make_regime("pointwise", parts.train, config, torch.device("cpu"))
    lap("sampler_s")
    plan = regime.epoch(generators)
    rows = sum(len(plan.batch(b)[0]) for b in range(plan.n_batches))
    lap("epoch_s")
    out["total_s"] = time.perf_counter() - started
    out["rows"] = len(source.data)
    out["train_rows"] = len(parts.train)
    out["epoch_rows"] = int(rows)
    out["samples"] = int(rows * (1 + negatives))
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out["threads"] = torch.get_num_threads()
    del np
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="a data spec to read instead of the synthetic log")
    parser.add_argument("--rows", type=int, default=25_000_095)
    parser.add_argument("--users", type=int, default=162_541)
    parser.add_argument("--items", type=int, default=59_047)
    parser.add_argument("--negatives", type=int, default=4)
    parser.add_argument("--split", default="loo")
    parser.add_argument("--log", help="where the synthetic log is kept (default: temp dir)")
    parser.add_argument("--phases", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.phases:
        print(json.dumps(phases(args.phases, args.negatives, args.split)))
        return
    spec = args.data
    if spec is None:
        name = f"synth-{args.users}-{args.items}-{args.rows}.parquet"
        log = Path(args.log or Path(tempfile.gettempdir()) / name)
        if not log.exists():
            started = time.perf_counter()
            subprocess.run(
                [
                    "ncf",
                    "data",
                    "synth",
                    "--users",
                    str(args.users),
                    "--items",
                    str(args.items),
                    "--rows",
                    str(args.rows),
                    "--seed",
                    "0",
                    "--out",
                    str(log),
                ],
                check=True,
            )
            print(f"generated {log} in {time.perf_counter() - started:.1f} s")
        spec = str(log)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phases",
            spec,
            "--negatives",
            str(args.negatives),
            "--split",
            args.split,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"data: {spec}")
    print(
        f"{result['rows']:,} rows, {result['train_rows']:,} training rows, one epoch of "
        f"{args.negatives} negatives = {result['samples']:,} samples "
        f"(torch threads: {result['threads']})"
    )
    print("| phase | seconds |\n|---|---|")
    for key in ("load_s", "prepare_s", "split_s", "sampler_s", "epoch_s", "total_s"):
        print(f"| {key[:-2]} | {result[key]:.1f} |")
    print(f"peak RSS: {result['peak_rss_gb']:.2f} GiB")


if __name__ == "__main__":
    main()
