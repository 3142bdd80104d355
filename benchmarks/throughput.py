"""Training throughput on CPU: `ncf`'s trainer against a plain PyTorch loop of the same
model, batch and learning rate, on the ML-1M NCF split's training positives.

    NCF_DATA_DIR=../shared/data python benchmarks/throughput.py [--threads 2]

Models: NeuMF (8 factors, MLP layers [64, 32, 16, 8], BCE with 4 negatives per positive)
and BPR-MF (64 factors, one negative per positive). Batches: 256 and a large one with
the learning rate scaled by the square root of the batch ratio. Samples are scored
(user, item) rows: a positive and its negatives count 1 + K. Each figure is the median of
``--repeats`` epochs, the plain loop's and `ncf`'s run in turn (this machine's timings
vary by a third from minute to minute).

The plain loop is the training loop PyTorch's tutorials write, without a `DataLoader`'s
per-sample overhead: an `nn.Module` scoring (user, item) pairs, the epoch's negatives
drawn with NumPy (unchecked), the rows shuffled once and sliced into batches,
`torch.optim.Adam` with its defaults. `ncf` runs its `Trainer` (negatives drawn
exactly, batches sliced from tensors laid out once per epoch, fused Adam, each user looked
up once per positive, lookups whose backward adds rows with `index_add_`, BPR-MF's large
batches scored through a sparse matrix of their pairs (`ncf.models.pair_dot`)), eagerly and
with ``compile = true`` (`torch.compile`; its first epoch, compilation included, is shown
apart). Both see the same positives.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ncf.data.io.formats import read_path
from ncf.data.splits import make_split
from ncf.models import MODELS
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"


class PlainNeuMF(nn.Module):
    """NeuMF as a notebook writes it: four tables, concatenation, a ReLU tower."""

    def __init__(self, n_users: int, n_items: int, dim: int, layers: list[int]):
        super().__init__()
        half = layers[0] // 2
        self.gmf_user, self.gmf_item = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.mlp_user, self.mlp_item = nn.Embedding(n_users, half), nn.Embedding(n_items, half)
        for table in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(table.weight, std=0.01)
        steps = []
        for n_in, n_out in zip(layers[:-1], layers[1:]):
            steps += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.tower = nn.Sequential(*steps)
        self.out = nn.Linear(dim + layers[-1], 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.tower(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))
        return self.out(torch.cat([gmf, mlp], dim=1)).squeeze(1)


class PlainBPR(nn.Module):
    """BPR-MF: a dot product plus user and item biases."""

    def __init__(self, n_users: int, n_items: int, dim: int):
        super().__init__()
        self.user, self.item = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user(users) * self.item(items)).sum(1)
        return dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)


def plain_epoch(kind: str, model: nn.Module, users, items, n_items, k, batch, lr) -> float:
    """One epoch of the plain loop; returns seconds (negative sampling included)."""
    started = time.perf_counter()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    negatives = rng.integers(0, n_items, (len(users), k))
    if kind == "pointwise":  # rows of (user, item, label), batch = scored rows
        u = torch.from_numpy(np.concatenate([users, np.repeat(users, k)]))
        i = torch.from_numpy(np.concatenate([items, negatives.ravel()]))
        y = torch.cat([torch.ones(len(users)), torch.zeros(len(users) * k)])
        order = torch.randperm(len(u))
        u, i, y = u[order], i[order], y[order]
        loss_fn = nn.BCEWithLogitsLoss()
        for start in range(0, len(u), batch):
            rows = slice(start, start + batch)
            loss = loss_fn(model(u[rows], i[rows]), y[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    else:  # (user, positive, negative) triples
        order = torch.randperm(len(users))
        u = torch.from_numpy(users)[order]
        p = torch.from_numpy(items)[order]
        n = torch.from_numpy(negatives[:, 0])[order]
        for start in range(0, len(u), batch):
            rows = slice(start, start + batch)
            loss = -torch.nn.functional.logsigmoid(
                model(u[rows], p[rows]) - model(u[rows], n[rows])
            )
            optimiser.zero_grad()
            loss.mean().backward()
            optimiser.step()
    return time.perf_counter() - started


class NcfEpochs:
    """`ncf`'s Trainer on one model, batch and learning rate, an epoch at a time."""

    def __init__(self, name: str, args: dict, train, k: int, batch: int, lr: float, compile):
        torch.manual_seed(0)
        model = MODELS[name](train.n_users, train.n_items, **args)
        config = TrainConfig(
            epochs=1000,
            batch_size=batch,
            lr=lr,
            n_negatives=k,
            reg=0.0,
            schedule="none",
            compile=compile,
        )
        self.trainer = Trainer(model, train, config, None, Generators.from_seed(0), progress=False)

    def __call__(self) -> float:
        """Seconds of one epoch."""
        started = time.perf_counter()
        self.trainer.train_epoch()
        self.trainer.epoch += 1
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--small-rows", type=int, default=100_000, help="positives timed at batch 256"
    )
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed (median)")
    parser.add_argument("--models", default="neumf,bpr-mf", help="which of neumf, bpr-mf")
    parser.add_argument(
        "--large", default="neumf=65536,bpr-mf=16384", help="the large batch of each model"
    )
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled runs")
    args = parser.parse_args()
    large_batch = {k: int(v) for k, v in (pair.split("=") for pair in args.large.split(","))}
    torch.set_num_threads(args.threads)
    source = read_path(DATA)
    train = make_split(source, "given", np.random.default_rng(0)).train
    print(
        f"# throughput on {DATA}: {len(train):,} training positives, {os.cpu_count()} cores, "
        f"{args.threads} threads, torch {torch.__version__}"
    )
    cases = [
        # model, ncf args, plain model, kind, negatives, base lr
        ("neumf", {"dim": 8, "layers": [64, 32, 16, 8]}, "pointwise", 4, 0.001),
        ("bpr-mf", {"dim": 64}, "pairwise", 1, 0.005),
    ]
    cases = [case for case in cases if case[0] in args.models.split(",")]
    print(
        "| model | batch | lr | plain samples/s | ncf samples/s | ncf / plain "
        "| ncf compiled samples/s | compiled / plain | first compiled epoch s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, margs, kind, k, lr in cases:
        for batch in (256, large_batch[name]):
            rows = args.small_rows if batch == 256 else len(train)
            part = train.subset(np.arange(rows))
            scaled = lr * (batch / 256) ** 0.5
            torch.manual_seed(0)
            if name == "neumf":
                plain = PlainNeuMF(train.n_users, train.n_items, margs["dim"], margs["layers"])
                samples = rows * (1 + k)
            else:
                plain = PlainBPR(train.n_users, train.n_items, margs["dim"])
                samples = rows * 2
            users, items = part.user_ids, part.item_ids
            runs = {"ncf": NcfEpochs(name, margs, part, k, batch, scaled, False)}
            runs["ncf"]()  # a first epoch apart, as the compiled one
            first = np.nan
            if not args.no_compile:
                runs["compiled"] = NcfEpochs(name, margs, part, k, batch, scaled, True)
                first = runs["compiled"]()  # compilation included
            seconds: dict[str, list[float]] = {"plain": [], "ncf": [], "compiled": []}
            for _ in range(args.repeats):  # in turn, so that a slower spell hits all alike
                seconds["plain"].append(
                    plain_epoch(kind, plain, users, items, train.n_items, k, batch, scaled)
                )
                for key, run in runs.items():
                    seconds[key].append(run())
            plain_s, ncf_s = np.median(seconds["plain"]), np.median(seconds["ncf"])
            compiled_s = np.median(seconds["compiled"]) if seconds["compiled"] else np.nan
            compiled = "- | - | -"  # not run (--no-compile)
            if not np.isnan(compiled_s):
                compiled = (
                    f"{samples / compiled_s:,.0f} | {plain_s / compiled_s:.2f}x | {first:.1f}"
                )
            print(
                f"| {name} | {batch:,} | {scaled:.4f} | {samples / plain_s:,.0f} | "
                f"{samples / ncf_s:,.0f} | {plain_s / ncf_s:.2f}x | {compiled} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
