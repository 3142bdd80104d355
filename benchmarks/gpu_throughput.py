"""NeuMF training throughput on a GPU: 64 factors, MLP layers [256, 256, 128, 64], 4
negatives per positive, batches of 2^20 scored rows, bfloat16 autocast, fused Adam, on a
synthetic log of ML-25M's shape (162,541 users, 59,047 items, 25,000,095 rows). The whole
epoch stays on the device: positives, shuffling and the exact negatives
(`ncf.data.sampling.sample_negatives_torch`).

    python benchmarks/gpu_throughput.py                     # CUDA, full size
    python benchmarks/gpu_throughput.py --device cpu --rows 200000 --users 2000 \\
        --items 1000 --batch 16384 --epochs 2              # the same code, small, anywhere

Prints samples/s (scored rows: a positive and its negatives count 1 + 4) of each epoch
after the first (the first includes `torch.compile` with ``--compile`` and the CUDA
warm-up), with the seconds spent drawing the epoch, and the peak GPU memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ncf.data.io.formats import read_path
from ncf.data.synthetic_log import synthesize
from ncf.models import MODELS
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--users", type=int, default=162_541)
    parser.add_argument("--items", type=int, default=59_047)
    parser.add_argument("--rows", type=int, default=25_000_095)
    parser.add_argument("--batch", type=int, default=1 << 20, help="scored rows per batch")
    parser.add_argument("--lr", type=float, default=0.004)
    parser.add_argument("--epochs", type=int, default=3, help="the first is not counted")
    parser.add_argument("--compile", action="store_true", help="torch.compile the loss")
    parser.add_argument("--log", help="a synthetic log to reuse (parquet)")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = f"ncf-synth-{args.users}-{args.items}-{args.rows}.parquet"
    log = Path(args.log or Path(tempfile.gettempdir()) / name)
    if not log.exists():
        started = time.perf_counter()
        synthesize(log, args.users, args.items, args.rows, seed=0)
        print(f"# wrote {log} in {time.perf_counter() - started:.1f} s")
    train = read_path(log).data  # every row trains: a speed measurement
    print(
        f"# {len(train):,} rows, {train.n_users:,} users, {train.n_items:,} items on "
        f"{torch.cuda.get_device_name(device) if device.type == 'cuda' else device}, "
        f"torch {torch.__version__}"
    )
    torch.manual_seed(0)
    model = MODELS["neumf"](train.n_users, train.n_items, dim=64, layers=[256, 256, 128, 64])
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        n_negatives=4,
        reg=0.0,
        schedule="none",
        compile=args.compile,
    )
    trainer = Trainer(
        model.to(device), train, config, None, Generators.from_seed(0), progress=False, amp=True
    )
    samples = len(train) * 5
    print("| epoch | seconds | drawing s | samples/s | loss |")
    print("|---|---|---|---|---|")
    rates = []
    for epoch in range(args.epochs):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        notes = trainer.train_epoch()
        trainer.epoch += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        if epoch:
            rates.append(samples / seconds)
        print(
            f"| {epoch + 1} | {seconds:.2f} | {notes.get('sampling_s', float('nan')):.2f} | "
            f"{samples / seconds:,.0f} | {notes['loss']:.4f} |",
            flush=True,
        )
    if rates:
        print(f"\nsamples/s after the first epoch (median): {np.median(rates):,.0f}")
    if device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
