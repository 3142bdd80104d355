"""The training-free graph filters (GF-CF, BSPM, ChebyCF) on the Gowalla benchmark split,
with any settings, on the validation part or the test.

    NCF_DATA_DIR=../shared/data python benchmarks/graph_filters.py --part valid \
        gf-cf bspm chebycf "chebycf:beta=0.3" "gf-cf:svd=randomized"

``--part valid`` fits on ``gowalla/with-valid/train.txt`` and ranks its ``valid.txt``
(the part for choosing settings); ``--part test`` fits on the official ``train.txt`` and
ranks ``test.txt`` (full ranking over all items, the user's training items excluded,
Recall@20 and NDCG@20 averaged over users, as the papers). Each row is one model fitted
and evaluated in this process, with the seconds of each.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.models import MODELS
from ncf.random import Generators
from ncf.runtime.device import use_threads

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))


def parse(spec: str) -> tuple[str, dict]:
    """``name:key=value,key=value`` -> (name, settings), values as Python literals."""
    name, _, rest = spec.partition(":")
    settings = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        try:
            settings[key] = eval(value, {}, {"true": True, "false": False})  # noqa: S307
        except (NameError, SyntaxError):
            settings[key] = value
    return name, settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specs", nargs="+", help="model or model:key=value,...")
    parser.add_argument("--part", choices=("valid", "test"), default="valid")
    parser.add_argument("--data", default=str(DATA / "gowalla"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    threads = use_threads(args.threads)
    folder = Path(args.data) / "with-valid" if args.part == "valid" else Path(args.data)
    config = resolve_config({"model": "gf-cf", "data": str(folder), "ks": [20]})
    split = prepare_run(config, Generators.from_seed(0)).split
    if args.part == "valid":
        fit_on, queries, exclude = split.train, split.valid, [split.train]
    else:  # the official train.txt whole: ncf's own validation line goes back in
        fit_on = split.train.concat(split.valid)
        queries, exclude = split.test, [fit_on]
    evaluator = Evaluator.build(queries, Protocol("full"), exclude, ks=(20,), known=fit_on)
    print(
        f"# {folder.name if args.part == 'test' else 'with-valid'} {args.part}: "
        f"{fit_on.n_users:,} users, {fit_on.n_items:,} items, fitted on {len(fit_on):,} rows, "
        f"{len(queries):,} held out; {threads} thread(s)\n"
    )
    print("| model | settings | recall@20 | ndcg@20 | fit s | rank s |")
    print("|---|---|---|---|---|---|")
    for spec in args.specs:
        name, settings = parse(spec)
        model = MODELS[name](fit_on.n_users, fit_on.n_items, **settings)
        started = time.perf_counter()
        model.fit(fit_on.csr())
        fitted = time.perf_counter() - started
        with torch.no_grad():
            metrics = evaluator(model.eval())
        ranked = time.perf_counter() - started - fitted
        shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"
        print(
            f"| {name} | {shown} | {metrics['recall@20']:.4f} | {metrics['ndcg@20']:.4f} "
            f"| {fitted:.0f} | {ranked:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
