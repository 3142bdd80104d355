"""Approximate top-k (faiss HNSW and IVF, inner product) against exact top-k: recall@k
and the speed-up, on a trained ML-1M model and on a synthetic catalogue of 1M items.

- ML-1M: the user and item vectors of a dot-product run (e.g. iALS on the NCF split),
  every user, their own items excluded, through `ncf.inference.recommender.Recommender` exactly
  as ``ncf recommend --index`` answers.
- Synthetic: ``--items`` item vectors of ``--dim`` dimensions around 1,000 planted
  tastes with log-normal norms (popular items are longer), and ``--queries`` users
  drawn around the same tastes; nothing excluded.

Recall@k is the share of the exact top-k the index returns; the speed-up is exact
seconds over index seconds for the same users (the index's build time is printed apart).

    ncf train --model ials --data ../shared/data/ml-1m/ncf --out runs/ials-ml1m
    python benchmarks/ann_recall.py --run runs/ials-ml1m [--items 1000000] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ncf.inference.recommender import load
from ncf.inference.retrieval import AnnIndex, Exclusions, ann_top_k, exact_top_k


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = [len(np.intersect1d(a, b)) for a, b in zip(found, exact)]
    return float(np.sum(hits) / exact.size)


def on_run(run: Path, k: int, kinds: list[str]) -> list[tuple]:
    rec = load(run)
    users = np.arange(rec.model.n_users)
    started = time.perf_counter()
    exact, _ = rec.top_k(users, k)
    exact_s = time.perf_counter() - started
    rows = [(f"{rec.model.name} {run.name}", "exact", rec.model.n_items, 0.0, exact_s, 1.0, 1.0)]
    for kind in kinds:
        started = time.perf_counter()
        rec.build_index(kind)
        built = time.perf_counter() - started
        started = time.perf_counter()
        found, _ = rec.top_k(users, k)
        seconds = time.perf_counter() - started
        rows.append(
            (
                rows[0][0],
                kind,
                rec.model.n_items,
                built,
                seconds,
                exact_s / seconds,
                recall(found, exact),
            )
        )
    return rows


def synthetic(n_items: int, n_queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tastes = rng.normal(size=(1000, dim)).astype(np.float32)
    items = tastes[rng.integers(0, len(tastes), n_items)]
    items = items + 0.7 * rng.normal(size=items.shape).astype(np.float32)
    items *= rng.lognormal(0.0, 0.3, (n_items, 1)).astype(np.float32)
    queries = tastes[rng.integers(0, len(tastes), n_queries)]
    queries = queries + 0.7 * rng.normal(size=queries.shape).astype(np.float32)
    return (items / np.sqrt(dim)).astype(np.float32), queries.astype(np.float32)


def on_synthetic(n_items: int, n_queries: int, dim: int, k: int, kinds: list[str]) -> list[tuple]:
    items, queries = synthetic(n_items, n_queries, dim, seed=0)
    vectors, user_vectors = torch.from_numpy(items), torch.from_numpy(queries)
    users = np.arange(n_queries)
    nothing = Exclusions()

    def score(block: np.ndarray) -> torch.Tensor:
        return user_vectors[block] @ vectors.T

    def pairs(block: np.ndarray, chosen: np.ndarray) -> torch.Tensor:
        return (user_vectors[block] * vectors[chosen]).sum(1)

    started = time.perf_counter()
    exact = np.concatenate([part[1] for part in exact_top_k(score, users, k, n_items, nothing)])
    exact_s = time.perf_counter() - started
    name = f"synthetic {n_items:,} x {dim}"
    rows = [(name, "exact", n_items, 0.0, exact_s, 1.0, 1.0)]
    for kind in kinds:
        started = time.perf_counter()
        index = AnnIndex.build(items, None, kind)
        built = time.perf_counter() - started
        started = time.perf_counter()
        parts = ann_top_k(index, lambda b: user_vectors[b], pairs, users, k, n_items, nothing)
        found = np.concatenate([part[1] for part in parts])
        seconds = time.perf_counter() - started
        rows.append((name, kind, n_items, built, seconds, exact_s / seconds, recall(found, exact)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a dot-product run (ML-1M iALS)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--kinds", default="hnsw,ivf")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import faiss

    faiss.omp_set_num_threads(args.threads)
    kinds = args.kinds.split(",")
    rows = on_run(args.run, args.k, kinds) if args.run else []
    rows += on_synthetic(args.items, args.queries, args.dim, args.k, kinds)
    print(f"recall@{args.k} against exact top-{args.k}, {args.threads} threads\n")
    print("| catalogue | retrieval | items | build s | top-k s | speed-up | recall |")
    print("|---|---|---|---|---|---|---|")
    for name, kind, n_items, built, seconds, speedup, share in rows:
        print(
            f"| {name} | {kind} | {n_items:,} | {built:.1f} | {seconds:.2f} | "
            f"{speedup:.1f}x | {share:.4f} |"
        )


if __name__ == "__main__":
    main()
