"""implicit's ALS and BPR (C++ / Cython, CPU) on an exported split, one model per process
(run by run.py with the Python of ``.venvs/implicit``; see common.py for the arguments).

    .venvs/implicit/bin/python benchmarks/peers/implicit_child.py --split SPLIT/ranking.npz \\
        --model als --epochs 15 --settings '{"factors": 64}' --out curve.json

As in benchmarks/ials_vs_implicit.py: the training rows as a binary users x items CSR
matrix, implicit's own threads doing the work (BLAS held to one thread), each model with
its own defaults except the factors (ALS: regularization 0.01, alpha 1; BPR: SGD,
learning rate 0.01, regularization 0.01, one item-bias column added to the factors). Its
``fit`` callback scores the test candidates from ``user_factors`` / ``item_factors``
after every iteration.
"""

from __future__ import annotations

import implicit
import numpy as np
import scipy.sparse as sp
from common import Curve, child_arguments, load_split
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import threadpool_limits


def main() -> None:
    args = child_arguments("implicit's models on an exported split")
    split = load_split(args.split)
    curve = Curve(args, split)
    shape = (int(split["n_users"]), int(split["n_items"]))
    rows = (split["train_users"], split["train_items"])
    matrix = sp.csr_matrix((np.ones(len(rows[0]), np.float32), rows), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # repeated (user, item) rows count once, as in ncf's iALS
    test_users, candidates = split["test_users"], split["candidates"]
    learners = {"als": AlternatingLeastSquares, "bpr": BayesianPersonalizedRanking}
    if args.model not in learners:
        raise SystemExit(f"implicit_child: unknown model {args.model!r}")
    blas = threadpool_limits(1, "blas")  # implicit's own threads do the work
    model = learners[args.model](
        factors=args.settings["factors"],
        iterations=args.epochs,
        num_threads=args.threads,
        random_state=0,
    )

    def predict() -> np.ndarray:
        users = model.user_factors[test_users]  # (Q, d)
        return np.einsum("qd,qcd->qc", users, model.item_factors[candidates])

    def after_iteration(iteration: int, *_: object) -> None:
        curve.evaluate(iteration + 1, predict)

    curve.loaded()
    with blas:
        model.fit(matrix, show_progress=False, callback=after_iteration)
    defaults = "regularization 0.01" if args.model == "als" else "SGD lr 0.01, regularization 0.01"
    curve.write({"implicit": implicit.__version__}, f"{args.threads} threads, {defaults}")


if __name__ == "__main__":
    main()
