"""One graph propagation (sparse normalised adjacency x embeddings) on Gowalla's graph
against the memory bandwidth that bounds it.

    NCF_DATA_DIR=../shared/data python benchmarks/propagation.py [--threads 1,2] [--dim 64]

The graph: the bipartite user-item graph of ``gowalla/train.txt`` normalised as
D^-1/2 A D^-1/2 (70,839 nodes, 1,620,256 non-zeros), as LightGCN and NGCF build it, in
the natural order (users, then items) and in the reverse Cuthill-McKee order the models
use. One product reads the non-zeros (4-byte values, 8-byte column indices), gathers one
row of the embeddings per non-zero and writes the result: at best every embedding row
comes from memory once (the lower bound on traffic below), at worst once per non-zero.
The machine's bandwidth is measured as a copy of a 512 MiB tensor. Each time is the
median of 20 products.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.models.graph import local_adjacency, normalised_adjacency
from ncf.random import Generators

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))


def median_seconds(work, repeats: int = 20) -> float:
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    config = resolve_config({"model": "lightgcn", "data": str(DATA / "gowalla"), "ks": [20]})
    split = prepare_run(config, Generators.from_seed(0)).split
    known = split.train.concat(split.valid)
    natural = normalised_adjacency(known)
    local, _ = local_adjacency(known)
    n, nnz, d = natural.shape[0], natural.values().numel(), args.dim
    embeddings = torch.randn(n, d)
    row = 4 * d
    least = nnz * 12 + (n + 1) * 8 + 2 * n * row  # non-zeros, row pointers, E once, output
    most = nnz * 12 + (n + 1) * 8 + nnz * row + n * row
    print(f"# one propagation: {n:,} nodes, {nnz:,} non-zeros, dim {d}")
    print(f"# traffic: {least / 1e6:.0f} MB at least, {most / 1e6:.0f} MB at most\n")
    print("| threads | copy GB/s | order | ms / product | GB/s at least | bound ms |")
    print("|---|---|---|---|---|---|")
    big = torch.empty(1 << 27)  # 512 MiB of float32
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        copy_s = median_seconds(lambda: big.clone(), 5)
        bandwidth = 2 * big.numel() * 4 / copy_s  # read + write
        for name, graph in (("natural", natural), ("reverse Cuthill-McKee", local)):
            seconds = median_seconds(lambda g=graph: g @ embeddings)
            print(
                f"| {threads} | {bandwidth / 1e9:.1f} | {name} | {seconds * 1e3:.1f} "
                f"| {least / seconds / 1e9:.1f} | {least / bandwidth * 1e3:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
