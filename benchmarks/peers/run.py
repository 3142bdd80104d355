"""Peer benchmarks side by side: ncf against RecBole, implicit, scikit-surprise and a plain
notebook-style PyTorch NeuMF, on ML-100K and the NCF paper's ML-1M split, under one
protocol. Run from the main virtual environment, after setup.sh made the peers' own:

    bash benchmarks/peers/setup.sh
    NCF_DATA_DIR=../shared/data python benchmarks/peers/run.py            # about 30 min
    NCF_DATA_DIR=../shared/data python benchmarks/peers/run.py --quick    # smoke test
        [--datasets ml-100k,ml-1m] [--only ncf,recbole,implicit,surprise,notebook]
        [--threads 2] [--cap-minutes 6] [--notebook-minutes 4] [--out FILE.json]

Protocol, the same for every library: ncf's split is exported once (export.py), every
library trains on the same rows, and after every epoch (ALS: every iteration) the driver's
child for that library scores each test user's held-out item and its 99 negatives with
the library's own model and computes hr@10 / ndcg@10 (rating models: RMSE on the test
ratings) with one shared function (common.py). Each (library, model, dataset) runs in a
process of its own, one at a time; its clock starts when the driver launches it, so
imports and data loading count. The curve evaluates on the test set every epoch as a
benchmark of speed (as MLPerf's NCF reference does): it is not ncf's model-selection
protocol (ncf selects epochs on validation and tests once).

Every library gets the same settings and epoch budget per model family (plan.py). A run
whose loop can stop between epochs (ncf, RecBole, the notebook) stops at the first epoch
end past ``--cap-minutes``; the notebook pipeline is capped at ``--notebook-minutes``
(checked every batch) and also stops once it reaches the target. Prints markdown tables
(time to target, final and best quality, load / evaluation / total seconds), the
machine and every environment's versions; writes every curve to ``--out`` (default
benchmarks/peers/results.json, or results-quick.json with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import export
import numpy as np
import torch
from plan import EPOCHS, LIBRARIES, QUICK_EPOCHS, RUNS, SETTINGS, TARGETS, Run

import ncf

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, str | int]:
    """The CPU, the cores, the memory and the main environment's versions."""
    with open("/proc/cpuinfo") as file:
        names = [line.split(":", 1)[1].strip() for line in file if line.startswith("model name")]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": names[0] if names else platform.processor() or "unknown",
        "memory": f"{memory:.0f} GiB",
        "cores": os.cpu_count() or 1,
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "ncf": ncf.__version__,
        "load_average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def python_of(run: Run) -> Path:
    venv = LIBRARIES[run.library].venv
    return HERE / ".venvs" / venv / "bin" / "python" if venv else Path(sys.executable)


def launch(run: Run, dataset: str, split: Path, scratch: Path, args: argparse.Namespace) -> dict:
    """Runs one child to the end and returns its curve (or its error)."""
    epochs = (QUICK_EPOCHS if args.quick else EPOCHS[dataset])[run.family]
    target = TARGETS[dataset][run.kind]
    minutes = args.notebook_minutes if run.library == "notebook" else args.cap_minutes
    out = scratch / "curve.json"
    command = [str(python_of(run)), str(HERE / LIBRARIES[run.library].script)]
    command += ["--split", str(split), "--model", run.model, "--epochs", str(epochs)]
    command += ["--settings", json.dumps(SETTINGS[run.family]), "--threads", str(args.threads)]
    command += ["--minutes", str(minutes), "--out", str(out)]
    if run.library == "notebook":
        command += ["--target", str(target)]  # the slow pipeline stops once there
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    env["OPENBLAS_NUM_THREADS"] = threads
    record = {"library": run.library, "model": run.name, "family": run.family}
    record["one_fit"] = run.one_fit
    record |= {"dataset": dataset, "kind": run.kind, "epochs": epochs, "target": target}
    record["settings"] = SETTINGS[run.family]
    log = scratch / "stderr.txt"
    started = time.time()
    with open(log, "w") as stderr:
        child = subprocess.Popen(
            [*command, "--t0", repr(started)],
            cwd=scratch,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        for line in child.stdout:  # one JSON point per evaluation, and what else it prints
            print(f"    {progress(line.strip())}", flush=True)
        code = child.wait()
    record["wall_s"] = round(time.time() - started, 3)
    if code or not out.exists():
        record["error"] = f"exit code {code}: " + log.read_text()[-3000:]
        print(f"    failed: {record['error'].strip().splitlines()[-1]}", flush=True)
        return record
    return record | json.loads(out.read_text())


def progress(line: str) -> str:
    """A child's output line, shown as a progress line when it is one of its points."""
    try:
        point = json.loads(line)
    except ValueError:
        return line
    shown = ", ".join(f"{k} {v:.4f}" for k, v in point.items() if "@" in k or "mse" in k)
    return f"epoch {point['epoch']:>6}  {point['seconds']:8.1f} s  {shown}"


def time_to_target(record: dict) -> dict | None:
    """The first point that reached the target, or None."""
    key, higher = ("hr@10", True) if record["kind"] == "ranking" else ("rmse", False)
    for point in record.get("points", []):
        if point[key] >= record["target"] if higher else point[key] <= record["target"]:
            return point
    return None


def table(records: list[dict], kind: str) -> list[str]:
    """The markdown table of one kind of run (ranking or rating)."""
    records = [r for r in records if r["kind"] == kind]
    if not records:
        return []
    metrics = ("hr@10", "ndcg@10") if kind == "ranking" else ("rmse", "mae")
    best = max if kind == "ranking" else min
    head = "| dataset | family | library | model | epochs run | time to target s (epoch) | "
    head += f"final {metrics[0]} | final {metrics[1]} | best {metrics[0]} | "
    head += "load s | eval s | total s |"
    lines = [head, "|" + "---|" * 12]
    for r in records:
        start = f"| {r['dataset']} | {r['family']} | {r['library']} | {r['model']} |"
        if "error" in r:
            first = r["error"].strip().splitlines()[-1][:80]
            lines.append(f"{start} failed: {first} |" + " |" * 7)
            continue
        points = r["points"]
        reached = time_to_target(r)
        when = "not reached"
        if reached:
            when = f"{reached['seconds']:.1f} ({reached['epoch']})"
        last = points[-1] if points else {m: float("nan") for m in metrics}
        top = best((p[metrics[0]] for p in points), default=float("nan"))
        run_for = "one fit" if r["one_fit"] else f"{points[-1]['epoch'] if points else 0}"
        lines.append(
            f"{start} {run_for} / {r['epochs']} | {when} | "
            f"{last[metrics[0]]:.4f} | {last[metrics[1]]:.4f} | {top:.4f} | "
            f"{r['load_s']:.1f} | {r['eval_s']:.1f} | {r['total_s']:.1f} |"
        )
    return lines


def versions(records: list[dict]) -> list[str]:
    """One line per library: the versions its environment reported."""
    seen: dict[str, dict] = {}
    for r in records:
        if "versions" in r:
            seen.setdefault(r["library"], r["versions"])
    return [
        f"- {library}: " + ", ".join(f"{name} {version}" for name, version in found.items())
        for library, found in seen.items()
    ]


def report(records: list[dict], datasets: list[str], total_s: float) -> list[str]:
    """The tables, the notes of the runs, the versions and the total time."""
    targets = "; ".join(
        f"{d} {kind} {'hr@10 >=' if kind == 'ranking' else 'RMSE <='} {target}"
        for d in datasets
        for kind, target in TARGETS[d].items()
    )
    notes = {f"- {r['library']} {r['model']}: {r['note']}" for r in records if r.get("note")}
    return [
        "",
        "Test metrics after every epoch: a speed benchmark (MLPerf-NCF style), not ncf's "
        f"model selection on validation. Targets: {targets}.",
        "",
        *table(records, "ranking"),
        "",
        *table(records, "rating"),
        "",
        "Notes:",
        *sorted(notes),
        "",
        "Versions:",
        *versions(records),
        "",
        f"Total wall time: {total_s:.0f} s",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1-2 epochs, few users")
    parser.add_argument("--datasets", default="ml-100k,ml-1m")
    parser.add_argument("--only", default=",".join(LIBRARIES), help="libraries to run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cap-minutes", type=float, default=6.0, help="per run, between epochs")
    parser.add_argument("--notebook-minutes", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=None, help="JSON of every curve")
    args = parser.parse_args()
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    libraries = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [d for d in datasets if d not in EPOCHS]
    unknown += [name for name in libraries if name not in LIBRARIES]
    if unknown:
        sys.exit(f"unknown: {unknown}; datasets {list(EPOCHS)}, libraries {list(LIBRARIES)}")
    if args.quick:
        args.notebook_minutes = args.cap_minutes = 0.2
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")
    missing = {r.library for r in RUNS if r.library in libraries and not python_of(r).exists()}
    if missing:
        sys.exit(f"no virtual environment for {sorted(missing)}: run bash {HERE}/setup.sh")
    data_dir = Path(os.environ.get("NCF_DATA_DIR", "../shared/data"))
    host = machine()
    print(
        f"# Peer benchmarks{' (--quick: 1-2 epochs, a tenth of the users)' if args.quick else ''}\n"
        f"Machine: {host['cpu']}, {host['cores']} cores ({host['usable_cores']} usable), "
        f"{host['memory']}, "
        f"{args.threads} threads per run; main env: Python {host['python']}, "
        f"torch {host['torch']}, NumPy {host['numpy']}, ncf {host['ncf']}; "
        f"load average {host['load_average']}",
        flush=True,
    )
    if os.getloadavg()[0] > 0.5:
        print("warning: the machine is busy; the timings will not be those of an idle machine")
    records = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ncf-peers-") as tmp:
        for dataset in datasets:
            folder = Path(tmp) / dataset
            folder.mkdir()
            splits = {"ranking": export.export_ranking(data_dir, dataset, folder)}
            if dataset in export.RATING:
                splits["rating"] = export.export_rating(data_dir, dataset, folder)
            for kind, path in splits.items():
                if args.quick:
                    export.keep_users(path, 0.1)
                print(f"{dataset} {kind} split: {export.describe(path)}", flush=True)
            for number, run in enumerate(RUNS):
                if run.library not in libraries or run.kind not in splits:
                    continue
                print(f"  {dataset} {run.family}: {run.library} {run.name}", flush=True)
                scratch = folder / f"run-{number}"
                scratch.mkdir()
                records.append(launch(run, dataset, splits[run.kind], scratch, args))
    total_s = time.time() - started
    print("\n".join(report(records, datasets, total_s)))
    print("Load average at the end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    settings = {"settings": SETTINGS, "epochs": QUICK_EPOCHS if args.quick else EPOCHS}
    result = {"machine": host, "quick": args.quick, "threads": args.threads, **settings}
    result |= {"targets": TARGETS, "total_s": round(total_s, 1), "runs": records}
    out.write_text(json.dumps(result, indent=1))
    print(f"Curves written to {out}")


if __name__ == "__main__":
    main()
