"""Top-k for every user of a run, written to parquet: seconds and peak memory.

Each run is loaded once, then its whole user base is scored in bounded blocks and
written a block at a time (`ncf.inference.batch.write_recommendations`, what
``ncf recommend RUN --users all --output recs.parquet`` runs). Dot-product models are
also timed through a faiss HNSW index (``--index``), with the share of the exact lists
it returns.

    ncf train --model neumf --data ../shared/data/ml-1m/ncf --out runs/neumf-ml1m
    ncf train --model ials --data ../shared/data/ml-1m/ncf --out runs/ials-ml1m
    python benchmarks/batch_recommend.py runs/neumf-ml1m runs/ials-ml1m --k 100 --threads 2
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from ncf.errors import UsageError
from ncf.inference.batch import write_recommendations
from ncf.inference.recommender import load


def timed_write(rec, k: int, folder: Path, name: str) -> tuple[float, pd.DataFrame]:
    path = folder / f"{name}.parquet"
    started = time.perf_counter()
    rows, _ = write_recommendations(rec, path, None, k)
    seconds = time.perf_counter() - started
    frame = pd.read_parquet(path, columns=["user", "item"])
    assert len(frame) == rows
    return seconds, frame


def overlap(a: pd.DataFrame, b: pd.DataFrame, k: int) -> float:
    """The share of the exact lists' items the approximate lists hold."""
    users = a["user"].nunique()
    same = a.merge(b, on=["user", "item"]).shape[0]
    return same / (users * k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--index", default="hnsw", help="faiss index for dot-product models")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            started = time.perf_counter()
            rec = load(run)
            loaded = time.perf_counter() - started
            seconds, exact = timed_write(rec, args.k, Path(tmp), "exact")
            n_users = rec.model.n_users
            rows.append((rec.model.name, "exact", n_users, rec.model.n_items, loaded, seconds, 1.0))
            try:
                started = time.perf_counter()
                rec.build_index(args.index)
                built = time.perf_counter() - started
            except UsageError:
                continue
            seconds, approximate = timed_write(rec, args.k, Path(tmp), "ann")
            rows.append(
                (
                    rec.model.name,
                    f"{args.index} (built in {built:.1f} s)",
                    n_users,
                    rec.model.n_items,
                    loaded,
                    seconds,
                    overlap(exact, approximate, args.k),
                )
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"top-{args.k} for every user, {args.threads} threads, written to parquet\n")
    print("| model | retrieval | users | items | load s | write s | users/s | of exact |")
    print("|---|---|---|---|---|---|---|---|")
    for name, how, users, items, loaded, seconds, share in rows:
        print(
            f"| {name} | {how} | {users:,} | {items:,} | {loaded:.2f} | {seconds:.2f} | "
            f"{users / seconds:,.0f} | {share:.4f} |"
        )
    print(f"\npeak RSS {peak:.2f} GiB")


if __name__ == "__main__":
    main()
