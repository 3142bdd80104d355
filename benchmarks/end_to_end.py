"""End to end on ML-1M (the NCF split): `ncf train` from start to `metrics.json` written,
for each model with its defaults, as a user runs it.

    NCF_DATA_DIR=../shared/data python benchmarks/end_to_end.py [MODEL ...]

Prints wall-clock seconds (process start to exit), test HR@10 / NDCG@10 and the
timing breakdown from metrics.json; a run of every model writes benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("NCF_DATA_DIR", "../shared/data")) / "ml-1m" / "ncf"
MODELS = [
    "popularity",
    "ease",
    "ials",
    "item-knn",
    "gmf",
    "mlp",
    "bpr-mf",
    "neumf",
    "neumf-pretrained",
]


def run(model: str, out: Path, extra: list[str]) -> dict:
    started = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "ncf.cli",
        "train",
        "--model",
        model,
        "--data",
        str(DATA),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["wall_s"] = time.perf_counter() - started
    return metrics


def main() -> None:
    wanted = sys.argv[1:] or MODELS
    root = Path(tempfile.mkdtemp(prefix="ncf-bench-"))
    rows = []
    print(f"# ncf end-to-end on {DATA} ({os.cpu_count()} cores)")
    for name in wanted:
        extra: list[str] = []
        model = name
        if name == "neumf-pretrained":
            for part in ("gmf", "mlp"):  # pre-trained from the default GMF and MLP runs
                if not (root / part / "metrics.json").exists():
                    run(part, root / part, [])
            model, extra = (
                "neumf",
                ["--set", f"start_from=gmf:{root / 'gmf'},mlp:{root / 'mlp'}"],
            )
        m = run(model, root / name, extra)
        t = m["timing"]
        line = (
            f"{name:17s} test hr@10 {m['test']['hr@10']:.4f} ndcg@10 {m['test']['ndcg@10']:.4f} "
            f"({m['protocol']}) best epoch {m['best_epoch']}/{m['epochs_run']} "
            f"wall {m['wall_s']:.1f} s "
            f"(load {t['load_s']:.1f}, fit {t['fit_s']:.1f}, eval {t['eval_s']:.2f})"
        )
        print(line, flush=True)
        rows.append((name, m))
    lines = [
        "| model | test HR@10 | test NDCG@10 | protocol | best epoch | wall s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {m['test']['hr@10']:.4f} | {m['test']['ndcg@10']:.4f} | {m['protocol']} | "
        f"{m['best_epoch']}/{m['epochs_run']} | {m['wall_s']:.1f} |"
        for n, m in rows
    ]
    if wanted == MODELS:  # a partial run does not replace the full table
        path = Path(__file__).with_name("RESULTS.md")
        rest = path.read_text().partition("\n## ")[2] if path.exists() else ""
        text = "\n".join(lines) + "\n" + (f"\n## {rest}" if rest else "")
        path.write_text(text)  # the other sections (## ...) are kept


if __name__ == "__main__":
    main()
