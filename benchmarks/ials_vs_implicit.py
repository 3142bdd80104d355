"""iALS against ``implicit``'s ALS (C++), the speed reference, at the same factors and
iterations on the NCF paper's ML-1M split, in one run.

Both fit the training + validation interactions (as a run's refit does) and are judged
by the same evaluator: the split's published 99 negatives per test user (sampled:99).
``implicit`` runs in its own virtual environment (``--implicit-python``, default
``$IMPLICIT_PYTHON``): a child process fits it and hands its factors back, so only its
fit is timed. Each library fits ``--repeats`` times; the best time is reported.

    python -m venv /tmp/venv-implicit && /tmp/venv-implicit/bin/pip install implicit
    python benchmarks/ials_vs_implicit.py --implicit-python /tmp/venv-implicit/bin/python \\
        [--factors 64] [--iterations 15] [--threads 2]

implicit minimises Hu et al.'s objective (confidence 1 + alpha r on observed entries,
every unobserved entry weighted 1, L2 ``regularization``); ncf's iALS Rendle et al.'s
(unobserved entries weighted ``unobserved``, L2 scaled by frequency). Each keeps its own
default weights, so the quality columns compare the two recipes, not the solvers alone.
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

import numpy as np

CHILD = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
from threadpoolctl import threadpool_limits
from implicit.cpu.als import AlternatingLeastSquares

folder, factors, iterations, threads, repeats = sys.argv[1:6]
matrix = sp.load_npz(f"{folder}/matrix.npz").tocsr()
times = []
with threadpool_limits(1, "blas"):  # implicit's own threads do the work
    for _ in range(int(repeats)):
        model = AlternatingLeastSquares(
            factors=int(factors), iterations=int(iterations), num_threads=int(threads),
            random_state=0,
        )
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        times.append(time.perf_counter() - started)
np.save(f"{folder}/users.npy", model.user_factors)
np.save(f"{folder}/items.npy", model.item_factors)
print(json.dumps({"fit_s": min(times)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--implicit-python", default=os.environ.get("IMPLICIT_PYTHON", ""))
    parser.add_argument(
        "--data",
        default=str(Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"),
        help="the NCF split folder (default: $NCF_DATA_DIR/ml-1m/ncf)",
    )
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.implicit_python:
        sys.exit("give --implicit-python (a Python with implicit installed) or IMPLICIT_PYTHON")

    import scipy.sparse as sp
    import torch

    from ncf.experiment.preparation import prepare_run
    from ncf.experiment.settings import resolve_config
    from ncf.models import MODELS
    from ncf.models.base import binary_rows
    from ncf.random import Generators

    torch.set_num_threads(args.threads)
    config = resolve_config({"model": "ials", "data": args.data})
    prepared = prepare_run(config, Generators.from_seed(0))
    known = binary_rows(prepared.known.csr())
    n_users, n_items = known.shape
    rows = []

    for solver in ("cg", "exact"):
        model = MODELS["ials"](
            n_users, n_items, dim=args.factors, iterations=args.iterations, solver=solver
        )
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            model.fit(known)
            times.append(time.perf_counter() - started)
        rows.append((f"ncf ials ({solver})", min(times), prepared.test(model)))

    with tempfile.TemporaryDirectory() as folder:
        sp.save_npz(f"{folder}/matrix.npz", known)
        done = subprocess.run(
            [args.implicit_python, "-c", CHILD, folder, str(args.factors)]
            + [str(args.iterations), str(args.threads), str(args.repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"implicit failed:\n{done.stderr}")
        fit_s = json.loads(done.stdout.strip().splitlines()[-1])["fit_s"]
        theirs = MODELS["ials"](n_users, n_items, dim=args.factors)
        with torch.no_grad():
            theirs.user_emb.weight.copy_(torch.from_numpy(np.load(f"{folder}/users.npy")))
            theirs.item_emb.weight.copy_(torch.from_numpy(np.load(f"{folder}/items.npy")))
        rows.append(("implicit ALS (C++)", fit_s, prepared.test(theirs)))

    label = prepared.protocol.label
    print(
        f"ML-1M NCF split, train + valid ({known.nnz:,} interactions), {args.factors} factors, "
        f"{args.iterations} iterations, {args.threads} threads, best of {args.repeats}"
    )
    print(f"| library | fit s | x implicit | test hr@10 ({label}) | test ndcg@10 |")
    print("|---|---|---|---|---|")
    for name, seconds, test in rows:
        ratio = seconds / fit_s
        print(
            f"| {name} | {seconds:.2f} | {ratio:.2f} | {test['hr@10']:.4f} | "
            f"{test['ndcg@10']:.4f} |"
        )


if __name__ == "__main__":
    main()
