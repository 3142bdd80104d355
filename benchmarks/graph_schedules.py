"""Quality against seconds for LightGCN's training schedules on Gowalla's validation part.

    NCF_DATA_DIR=../shared/data python benchmarks/graph_schedules.py --out OUT \
        "paper:batch_size=2048,lr=0.001,schedule='none',epochs=120" \
        "large:batch_size=65536,lr=0.03,schedule='cosine',epochs=600"
    python benchmarks/graph_schedules.py --out OUT --merge A/schedules.csv B/schedules.csv

Each schedule ``name:key=value,...`` trains LightGCN (its other settings the defaults) on
``gowalla/with-valid/train.txt`` for the epochs it names, evaluating validation
Recall@20 every ``eval_every`` epochs (10 unless given), no early stop and no refit, one
schedule after another in this process. ``--merge`` adds the schedules of earlier runs
(their ``schedules.csv``): two schedules run at the same time in two processes share
the machine alike, so their seconds compare. The paper's schedule (batches of 2,048 at
Adam's 1e-3) propagates the whole graph forward and back 352 times an epoch; a large
batch at a larger rate does it a few times.

Printed: per schedule, the validation Recall@20 it had reached after 10, 20, 30 and 60
minutes of training (evaluation time left out; in brackets, marked ``ended``, when the
schedule had ended before that mark), its best and the training seconds to it;
``OUT/schedules.csv`` holds every evaluation and ``OUT/schedules.png`` plots Recall@20
against training seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from graph_filters import parse  # noqa: E402  (name:key=value,... specs)

import ncf  # noqa: E402
from ncf.runtime.device import use_threads  # noqa: E402
from ncf.training.logs import new_figure  # noqa: E402

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))
MARKS = (600, 1200, 1800, 3600)  # seconds of training


def train(name: str, settings: dict) -> pd.DataFrame:
    """One schedule's evaluations: epoch, training seconds so far, validation Recall@20."""
    run = ncf.fit(
        str(DATA / "gowalla" / "with-valid"),
        "lightgcn",
        k=20,
        progress=False,
        refit=False,
        patience=10**6,
        **settings,
    )
    history = run.history.assign(train_s=run.history["train_s"].cumsum())
    evaluated = history.dropna(subset=["valid_recall@20"])
    shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "eval_every")
    return pd.DataFrame(
        {
            "schedule": name,
            "settings": shown,
            "epoch": evaluated["epoch"].astype(int),
            "train_s": evaluated["train_s"],
            "recall@20": evaluated["valid_recall@20"],
        }
    )


def table_row(part: pd.DataFrame) -> str:
    reached = []
    for mark in MARKS:
        before = part[part["train_s"] <= mark]
        ended = part["train_s"].iloc[-1] < mark  # the schedule had ended before this mark
        shown = f"{before['recall@20'].max():.4f}" if len(before) else "-"
        reached.append(f"({shown}, ended)" if ended and len(before) else shown)
    best = part.loc[part["recall@20"].idxmax()]
    last = part.iloc[-1]
    per_epoch = last["train_s"] / last["epoch"]
    return (
        f"| {best['schedule']} | {best['settings']} | {per_epoch:.1f} | {' | '.join(reached)} "
        f"| {best['recall@20']:.4f} ({int(best['epoch'])}, {best['train_s']:.0f} s) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("schedules", nargs="*", help="name:key=value,...")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", nargs="*", type=Path, default=[], help="schedules.csv files")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    threads = use_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [pd.read_csv(path) for path in args.merge]
    for spec in args.schedules:
        name, settings = parse(spec)
        parts.append(train(name, {"eval_every": 10, **settings}))
    if not parts:
        parser.error("name a schedule to train or a schedules.csv to --merge")
    frame = pd.concat(parts, ignore_index=True)
    frame.to_csv(args.out / "schedules.csv", index=False)

    print(f"# LightGCN on gowalla/with-valid, validation Recall@20; {threads} thread(s)\n")
    marks = " | ".join(f"{m // 60} min" for m in MARKS)
    print(f"| schedule | settings | s / epoch | {marks} | best (epoch, s) |")
    print("|---|---|---|" + "---|" * len(MARKS) + "---|")
    for _, part in frame.groupby("schedule", sort=False):
        print(table_row(part))

    figure = new_figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    for name, part in frame.groupby("schedule", sort=False):
        axes.plot(part["train_s"] / 60, part["recall@20"], marker=".", label=name)
    axes.set_xlabel("training minutes (evaluation left out)")
    axes.set_ylabel("validation Recall@20")
    axes.set_title("LightGCN on Gowalla (with-valid): quality against training time")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(args.out / "schedules.png", dpi=120, bbox_inches="tight")
    print(f"\nwrote {args.out / 'schedules.csv'} and {args.out / 'schedules.png'}")


if __name__ == "__main__":
    main()
