"""Fit time and peak memory of the closed-form models at catalogue scale: EASE and
item-kNN on the synthetic check-in catalogue of ``benchmarks/checkin.py`` (29,858 users,
40,981 items, ~820k training interactions).

Each model is fitted in a fresh process, so the peak resident memory it reports (the
process's high-water mark) is that model's alone, data included. The target is 16 GB.

    python benchmarks/closed_form_scale.py [--models ease,item-knn] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fit_one(name: str, threads: int) -> dict:
    """Fits one model on the catalogue in this process; returns its figures."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    sys.path.insert(0, str(HERE))
    from checkin import N_ITEMS, N_USERS, draw

    from ncf.models import MODELS

    torch.set_num_threads(threads)
    users, items, is_test = draw(0)
    train = sp.csr_matrix(
        (np.ones(int((~is_test).sum()), np.float32), (users[~is_test], items[~is_test])),
        shape=(N_USERS, N_ITEMS),
    )
    model = MODELS[name](N_USERS, N_ITEMS)
    started = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - started
    scored = model.score_all(torch.arange(256))  # the fitted model scores users
    assert scored.shape == (256, N_ITEMS) and torch.isfinite(scored).all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"model": name, "fit_s": fit_s, "peak_gib": peak, "train": train.nnz}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="ease,item-knn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's model
    args = parser.parse_args()
    if args.one:
        print(json.dumps(fit_one(args.one, args.threads)))
        return
    rows = []
    for name in args.models.split(","):
        child = subprocess.run(
            [sys.executable, __file__, "--one", name, "--threads", str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(f"{name}: {rows[-1]}", file=sys.stderr, flush=True)
    print(
        f"catalogue 29,858 users x 40,981 items, {rows[0]['train']:,} training interactions, "
        f"{args.threads} threads"
    )
    print("| model | fit s | peak memory GiB |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['model']} | {row['fit_s']:.1f} | {row['peak_gib']:.2f} |")


if __name__ == "__main__":
    main()
