"""The ``ncf`` command line: a thin layer over the Python API.

Bad usage or bad input exits with code 2 and a one-line message (``--debug`` shows the
traceback).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ncf.errors import Interrupted, NcfError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Neural collaborative filtering: train, evaluate and use recommenders.",
)
data_app = typer.Typer(no_args_is_help=True, help="Inspect and split data.")
app.add_typer(data_app, name="data")
console = Console()
DEBUG = {"on": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    DEBUG["on"] = debug


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    from ncf.config import parse_value

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def _parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--k expects comma-separated integers, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"--k expects positive integers, got {text!r}")
    return ks


def _metrics_table(metrics: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for part in ("valid", "test"):
        table.add_column(f"{part} ({metrics['protocol']})", justify="right")
    for name in metrics["test"]:
        if any(name.startswith(p) for p in ("hr@", "ndcg@", "recall@", "mrr", "auc")):
            table.add_row(
                name,
                f"{metrics['valid'].get(name, float('nan')):.4f}",
                f"{metrics['test'][name]:.4f}",
            )
    return table


@app.command()
def train(
    model: Annotated[
        str, typer.Option(help="Model name: popularity, gmf, mlp, neumf, bpr-mf, ease.")
    ] = "",
    data: Annotated[str, typer.Option(help="Registry name, file or folder.")] = "",
    split: Annotated[
        str, typer.Option(help="loo, loo-random, time:V,T, ratio:.., user-ratio:.., given.")
    ] = "",
    protocol: Annotated[str, typer.Option(help="full or sampled:N (default: the data's).")] = "",
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per step.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    factors: Annotated[int | None, typer.Option(help="Embedding size (model 'dim').")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of everything random.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "",
    k: Annotated[str, typer.Option("--k", help="Cut-offs, e.g. 10,20.")] = "",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key=value setting (repeatable).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/MODEL-DATA).")] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the run folder's checkpoint.")
    ] = False,
    print_config: Annotated[bool, typer.Option(help="Print the resolved config and exit.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    mlflow: Annotated[
        str | None,
        typer.Option(
            help="Log to MLflow: --mlflow alone uses the local store ./mlruns; or give a "
            "tracking URI or folder (needs the 'track' extra).",
        ),
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "ncf",
) -> None:
    """Train a model, select it on validation, test it once, write a run folder."""
    import tomli_w

    from ncf.pipeline import _toml_ready, flatten_toml, resolve_config, train_run

    values: dict[str, Any] = {}
    if config is not None:
        try:
            values.update(flatten_toml(tomllib.loads(config.read_text())))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"{config}: cannot read config ({err})") from None
    flags = {
        "model": model,
        "data": data,
        "split": split,
        "protocol": protocol,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "dim": factors,
        "seed": seed,
        "device": device,
    }
    values.update({key: v for key, v in flags.items() if v not in (None, "")})
    if k:
        values["ks"] = list(_parse_ks(k))
    values.update(_parse_sets(set_ or []))
    values.setdefault("model", "neumf")
    if "data" not in values:
        raise UsageError("--data is required (a registry name, a file or a folder)")
    run_config = resolve_config(values)
    if print_config:
        console.print(tomli_w.dumps(_toml_ready(run_config.to_dict())), markup=False)
        return
    name = Path(str(run_config.data)).name.replace(".", "_") or "data"
    out = out or Path("runs") / f"{run_config.model}-{name}"
    tracker = None
    if mlflow is not None:
        from ncf.training.tracking import MlflowTracker

        tracker = MlflowTracker(mlflow, experiment, out.name)
    result = train_run(run_config, out, resume=resume, progress=progress, tracker=tracker)
    metrics = result.metrics
    console.print(_metrics_table(metrics, f"{run_config.model} on {run_config.data}"))
    console.print(
        f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}; "
        f"{metrics['timing']['total_s']:.1f} s; run folder {out}"
    )


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    protocol: Annotated[str, typer.Option(help="full or sampled:N (default: the run's).")] = "",
    k: Annotated[str, typer.Option("--k", help="Cut-offs, e.g. 10,20.")] = "",
) -> None:
    """Evaluate a trained run again, with any protocol and cut-offs."""
    from ncf.pipeline import evaluate_run

    if not (run_dir / "config.toml").exists():
        raise UsageError(f"{run_dir}: not a run folder (no config.toml)")
    result = evaluate_run(run_dir, protocol or None, _parse_ks(k) if k else None)
    console.print(_metrics_table(result, f"{run_dir}"))
    print(json.dumps(result))


@app.command()
def recommend(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    user: Annotated[str | None, typer.Option(help="A raw user id.")] = None,
    users: Annotated[Path | None, typer.Option(help="File of raw user ids, one per line.")] = None,
    k: Annotated[int, typer.Option("--k", help="Items per user.")] = 10,
    output: Annotated[
        Path | None, typer.Option(help="Write .parquet or .csv instead of printing.")
    ] = None,
) -> None:
    """Top-k items per user, excluding the items each user already has."""
    from ncf.recommender import load

    if (user is None) == (users is None):
        raise UsageError("give exactly one of --user and --users")
    rec = load(run_dir)
    if users is not None:
        if not users.exists():
            raise UsageError(f"{users}: no such file")
        raw = np.array([line.strip() for line in users.read_text().splitlines() if line.strip()])
    else:
        raw = np.array([user])
    frame = rec.recommend(raw, k=k)
    if output is not None:
        if output.suffix == ".parquet":
            frame.to_parquet(output, index=False)
        elif output.suffix == ".csv":
            frame.to_csv(output, index=False)
        else:
            raise UsageError(f"{output}: expected a .parquet or .csv file name")
        console.print(f"wrote {len(frame)} rows to {output}")
        return
    console.print(frame.to_string(index=False), markup=False)


@app.command()
def similar(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    item: Annotated[str, typer.Option(help="A raw item id.")],
    k: Annotated[int, typer.Option("--k", help="Number of items.")] = 10,
) -> None:
    """Items most like one item (cosine of item embeddings)."""
    from ncf.recommender import load

    rec = load(run_dir)
    console.print(rec.similar(np.array([item])[0], k=k).to_string(index=False), markup=False)


@app.command()
def quickstart(
    out: Annotated[Path, typer.Option(help="Run folder.")] = Path("runs/quickstart"),
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 15,
) -> None:
    """Offline demo: NeuMF on built-in synthetic data, evaluated, with a user's top-10."""
    from ncf.models import Popularity
    from ncf.pipeline import resolve_config, train_run
    from ncf.recommender import load

    config = resolve_config(
        {
            "model": "neumf",
            "data": "synthetic",
            "epochs": epochs,
            "batch_size": 1024,
            "lr": 0.005,
            "dim": 16,
            "layers": [32, 16, 8],
            "patience": 3,
            "ks": [10],
        }
    )
    console.print(
        "[bold]ncf quickstart[/]: NeuMF on a synthetic catalogue (1,000 users, 600 "
        "items, planted genre tastes), leave-last-out split, full ranking."
    )
    result = train_run(config, out)
    console.print(_metrics_table(result.metrics, "NeuMF on synthetic data"))
    split = result.prepared.split
    baseline = Popularity(split.train.n_users, split.train.n_items)
    baseline.fit(split.train.concat(split.valid).csr())
    popular = result.prepared.test(baseline)["ndcg@10"]
    console.print(
        f"test ndcg@10: NeuMF {result.metrics['test']['ndcg@10']:.4f}, "
        f"popularity {popular:.4f} (same split and protocol)"
    )
    rec = load(out)
    user = rec.known.user_vocab.ids[0]
    console.print(f"\n[bold]User {user}[/] has seen:")
    console.print(rec.history(user).head(15).to_string(index=False), markup=False)
    console.print(f"\n[bold]Top-10 for user {user}[/]:")
    console.print(
        rec.recommend([user], k=10).drop(columns=["user"]).to_string(index=False), markup=False
    )
    console.print(f"\nrun folder: {out} (metrics.json, history.csv, bundle/, plots/, tensorboard/)")


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders to report on.")],
    out: Annotated[Path, typer.Option(help="report.html, or report.md (PNGs beside it).")] = Path(
        "report.html"
    ),
    k: Annotated[int, typer.Option("--k", help="List length for coverage and bias.")] = 10,
) -> None:
    """Metrics, learning curves, LR schedule, embedding map, coverage and popularity bias
    of one or more runs, compared side by side."""
    from ncf.report import write_report

    runs = write_report(run_dirs, out, k)
    console.print(f"wrote {out} ({len(runs)} run{'s' * (len(runs) > 1)})")


@data_app.command("info")
def data_info(
    spec: Annotated[str, typer.Argument(help="Registry name, file or folder.")],
    columns: Annotated[str, typer.Option(help="user:COL,item:COL,rating:COL,time:COL")] = "",
    threshold: Annotated[float | None, typer.Option(help="Implicit: keep rating >= this.")] = None,
    min_user: Annotated[int, typer.Option(help="Drop users with fewer interactions.")] = 0,
    min_item: Annotated[int, typer.Option(help="Drop items with fewer interactions.")] = 0,
) -> None:
    """Counts, density, rating range, and the rows each filter drops."""
    from ncf.data.preprocess import PrepareConfig
    from ncf.pipeline import load_source, prepare_source

    source = load_source(spec, columns)
    prepared, log = prepare_source(source, PrepareConfig(threshold, True, min_user, min_item))
    info = prepared.data.describe()
    table = Table(title=f"{spec}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{log.read:,}")
    for reason, n in log.dropped.items():
        table.add_row(f"dropped: {reason}", f"{n:,}")
    table.add_row("rows kept", f"{len(prepared.data):,}")
    for note, n in log.notes.items():
        table.add_row(f"note: {note}", f"{n:,}")
    for key, value in info.items():
        table.add_row(
            key,
            f"{value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else f"{value:.5f}"
            if isinstance(value, float)
            else str(value),
        )
    if source.part is not None:
        counts = np.bincount(source.part, minlength=3)
        table.add_row(
            "given split (train/valid/test)", f"{counts[0]:,} / {counts[1]:,} / {counts[2]:,}"
        )
    if source.test_negatives is not None:
        table.add_row("given test negatives", f"{source.test_negatives.shape[1]} per test row")
    table.add_row("item metadata", "yes" if prepared.data.items is not None else "no")
    console.print(table)


@data_app.command("split")
def data_split(
    spec: Annotated[str, typer.Argument(help="Registry name, file or folder.")],
    out: Annotated[Path, typer.Option(help="Folder to write the split to.")],
    split: Annotated[str, typer.Option(help="Split spec.")] = "",
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    columns: Annotated[str, typer.Option(help="user:COL,item:COL,...")] = "",
) -> None:
    """Split data and save it (parquet with raw ids); the folder is itself a data spec."""
    from ncf.data.preprocess import PrepareConfig
    from ncf.data.splits import default_split, make_split, save_split
    from ncf.pipeline import load_source, prepare_source
    from ncf.random import Generators

    source, _ = prepare_source(load_source(spec, columns), PrepareConfig())
    result = make_split(source, split or default_split(source), Generators.from_seed(seed).split)
    save_split(result, out, seed)
    counts = result.counts()
    console.print(
        f"wrote {out}: train {counts['train']:,}, valid {counts['valid']:,}, "
        f"test {counts['test']:,} ({result.spec}, seed {seed})"
    )


DEFAULT_MLFLOW_STORE = "./mlruns"


def _optional_values(args: list[str]) -> list[str]:
    """``--mlflow`` may stand alone: then it means the local store ``./mlruns``."""
    out = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--mlflow" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append(DEFAULT_MLFLOW_STORE)
    return out


def main() -> None:
    try:
        app(args=_optional_values(sys.argv[1:]), prog_name="ncf", standalone_mode=False)
    except NcfError as err:
        if DEBUG["on"]:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as err:
        print(f"interrupted: {err}", file=sys.stderr)
        sys.exit(128 + err.signum)
    except (typer.Exit, SystemExit) as done:
        code = getattr(done, "exit_code", getattr(done, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        sys.exit(130)
    except Exception as err:  # click usage errors
        import click

        if isinstance(err, click.ClickException):
            if DEBUG["on"]:
                raise
            err.show()
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
