"""Does the large batch of `throughput.py` keep quality? `ncf train` of its two models
(BPR-MF 64 factors with one negative; NeuMF 8 factors, layers [64, 32, 16, 8], 4
negatives; Adam, no schedule, no L2) at a small and at the large batch, the learning rate
scaled by the square root of the batch ratio, on the NCF split of ML-1M: epochs chosen
on validation, refit, tested once (sampled:99).

    NCF_DATA_DIR=../shared/data python benchmarks/large_batch_quality.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"
CASES = {
    # model: (settings, base lr at batch 256, batches)
    "bpr-mf": (["--factors", "64", "--set", "n_negatives=1"], 0.005, [1024, 16384, 65536]),
    "neumf": (
        ["--factors", "8", "--set", "layers=[64,32,16,8]", "--set", "n_negatives=4"],
        0.001,
        [8192, 65536],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--models", default="bpr-mf,neumf")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ncf-batch-"))
    print(f"# large-batch quality on {DATA}, up to {args.epochs} epochs (patience 3)")
    print("| model | batch | lr | test hr@10 | test ndcg@10 | best epoch | wall s |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        settings, base_lr, batches = CASES[model]
        for batch in batches:
            lr = base_lr * (batch / 256) ** 0.5
            out = root / f"{model}-{batch}"
            command = [sys.executable, "-m", "ncf.cli", "train", "--model", model]
            command += ["--data", str(DATA), "--out", str(out), "--no-progress"]
            command += ["--batch-size", str(batch), "--lr", f"{lr:.6g}"]
            command += ["--epochs", str(args.epochs), *settings]
            command += ["--set", "reg=0", "--set", "schedule=none", "--set", "patience=3"]
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            metrics = json.loads((out / "metrics.json").read_text())
            print(
                f"| {model} | {batch:,} | {lr:.4f} | {metrics['test']['hr@10']:.4f} | "
                f"{metrics['test']['ndcg@10']:.4f} | {metrics['best_epoch']} of "
                f"{metrics['epochs_run']} | {time.perf_counter() - started:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
