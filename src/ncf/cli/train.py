"""``ncf train``, ``ncf evaluate``, ``ncf quickstart`` and ``ncf models``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ncf.cli.app import (
    Columns,
    Cutoffs,
    Device,
    MinItem,
    MinUser,
    ProtocolSpec,
    Sets,
    SplitSpec,
    Threads,
    Threshold,
    app,
    console,
    data_settings,
    emit,
    existing_folder,
    output_file,
    parse_ks,
    parse_sets,
)
from ncf.errors import UsageError

DEFAULT_MODEL = "neumf"
ReplaceRun = Annotated[
    bool, typer.Option("--overwrite", help="Replace the run already in the run folder.")
]


def metrics_table(metrics: dict[str, Any], title: str, valid_label: str = "valid") -> Table:
    from ncf.evaluation.metrics import METRICS, base_name

    table = Table(title=title)
    table.add_column("metric")
    table.add_column(f"{valid_label} ({metrics['protocol']})", justify="right")
    table.add_column(f"test ({metrics['protocol']})", justify="right")
    valid = metrics.get("valid") or {}
    for name in metrics["test"]:
        if base_name(name) in METRICS:
            shown = f"{valid[name]:.4f}" if name in valid else "-"
            table.add_row(name, shown, f"{metrics['test'][name]:.4f}")
    return table


def echo(line: str) -> None:
    """One line as is: never wrapped, so that logs in files and pipes stay one per event."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _read_toml(path: Path) -> dict[str, Any]:
    from ncf.experiment.run_folder import flatten_toml

    try:
        return flatten_toml(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{path}: cannot read config ({err})") from None


def run_values(
    config: Path | None,
    flags: dict[str, Any],
    data_flags: dict[str, Any],
    k: str,
    set_: list[str] | None,
) -> dict[str, Any]:
    """A run's settings from the command line: the config file, then the flags given,
    then ``--k`` and ``--set``; the model defaults to `DEFAULT_MODEL`."""
    values: dict[str, Any] = _read_toml(config) if config is not None else {}
    values.update({key: v for key, v in flags.items() if v not in (None, "")})
    values.update(data_flags)
    if k:
        values["ks"] = list(parse_ks(k))
    values.update(parse_sets(set_))
    values.setdefault("model", DEFAULT_MODEL)
    return values


def require_data(values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("data"):
        raise UsageError("--data is required (a registry name, a file or a folder)")
    return values


@app.command()
def train(
    model: Annotated[
        str,
        typer.Option(help=f"Model name (default {DEFAULT_MODEL}); `ncf models` lists them."),
    ] = "",
    data: Annotated[str, typer.Option(help="Registry name, file or folder.")] = "",
    split: SplitSpec = "",
    protocol: ProtocolSpec = "",
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per step.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    factors: Annotated[int | None, typer.Option(help="Embedding size (model 'dim').")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of everything random.")] = None,
    device: Device = "",
    threads: Threads = None,
    k: Cutoffs = "",
    columns: Columns = "",
    threshold: Threshold = None,
    min_user: MinUser = None,
    min_item: MinItem = None,
    set_: Sets = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder (default runs/MODEL-DATA, numbered -2, -3 ... if taken)."),
    ] = None,
    overwrite: ReplaceRun = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the run folder's checkpoint.")
    ] = False,
    keep_checkpoints: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoints", help="Keep the resumable checkpoints once the run has finished."
        ),
    ] = False,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config and exit.")
    ] = False,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bars (shown only on a terminal).")
    ] = False,
    mlflow: Annotated[
        str | None,
        typer.Option(
            help="Log to MLflow: --mlflow alone uses the local store ./mlruns; or give a "
            "tracking URI or folder (needs the 'track' extra).",
        ),
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "ncf",
    nproc: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes to train with on this machine (DistributedDataParallel: gloo "
            "on the CPU, NCCL on GPUs, one GPU each); torchrun -m ncf.cli train for several "
            "machines.",
        ),
    ] = 1,
) -> None:
    """Train a model, select it on validation, test it once, write a run folder."""
    from ncf.experiment.pipeline import train_run
    from ncf.experiment.run_folder import config_text, default_run_folder
    from ncf.experiment.settings import resolve_config
    from ncf.models.base import ClosedForm
    from ncf.runtime.distributed import World, leave

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
        "threads": threads,
    }
    data_flags = data_settings(columns, threshold, min_user, min_item)
    values = run_values(config, flags, data_flags, k, set_)
    if print_config:
        values.setdefault("data", "")
        console.print(config_text(resolve_config(values)), markup=False)
        return
    run_config = resolve_config(require_data(values))
    out = out or default_run_folder(run_config, resume, overwrite)
    world = World.from_env()
    if nproc > 1:
        if world.size > 1:
            raise UsageError("--nproc starts the processes itself; under torchrun, leave it out")
        passed = {"resume": resume, "overwrite": overwrite, "progress": not no_progress}
        passed |= {"keep_checkpoints": keep_checkpoints}
        passed |= {"mlflow": mlflow, "experiment": experiment}
        from ncf.cli.launch import launch_train

        raise typer.Exit(launch_train(run_config, out, nproc, passed))
    tracker = None
    if mlflow is not None and world.main:
        from ncf.training.tracking import MlflowTracker

        tracker = MlflowTracker(mlflow, experiment, out.name)
    result = train_run(
        run_config,
        out,
        resume=resume,
        overwrite=overwrite,
        progress=not no_progress and console.is_terminal,
        tracker=tracker,
        echo=echo,
        keep_checkpoints=keep_checkpoints,
    )
    if world.size > 1:
        world.barrier()  # the run folder is written: the processes part together
        leave()
        if not world.main:  # the first process reports for all
            return
    metrics = result.metrics
    console.print(metrics_table(metrics, f"{run_config.model} on {run_config.data}"))
    epochs = f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}; "
    if "fine_tune" in metrics:
        tuned = metrics["fine_tune"]
        kept = f"epoch {tuned['best_epoch']}" if tuned["best_epoch"] else "none kept"
        epochs += f"fine-tuning: {kept} of {tuned['epochs_run']}; "
    if isinstance(result.model, ClosedForm):
        epochs = "fitted in closed form; "
    echo(f"{epochs}{metrics['timing']['total_s']:.1f} s; run folder {out}")


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    protocol: Annotated[
        str, typer.Option(help="full, sampled:N or rating (default: the run's).")
    ] = "",
    k: Annotated[str, typer.Option("--k", help="Cut-offs, e.g. 10,20.")] = "",
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    per_user: Annotated[
        Path | None,
        typer.Option(help="Write each query's metrics (user, part, metrics) to .parquet or .csv."),
    ] = None,
    threads: Threads = None,
) -> None:
    """Evaluate a trained run again, with any protocol and cut-offs.

    Validation is scored with the model selected on it, trained on the training part
    only; test with the final model. A refit model (trained on train + validation) is
    never scored on validation."""
    from ncf.experiment.rescoring import evaluate_run

    existing_folder(run_dir)
    if not (run_dir / "config.toml").exists():
        raise UsageError(f"{run_dir}: not a run folder (no config.toml)")
    if per_user is not None:
        output_file(per_user)
    result = evaluate_run(
        run_dir, protocol or None, parse_ks(k) if k else None, threads, per_user is not None
    )
    if per_user is not None:
        frame = result.pop("per_query")
        if per_user.suffix == ".parquet":
            frame.to_parquet(per_user, index=False)
        else:
            frame.to_csv(per_user, index=False)
    if json_:
        emit(json.dumps(result))
        return
    console.print(metrics_table(result, f"{run_dir}", result["valid_model"]))
    if result.get("valid_note"):
        echo(f"note: {result['valid_note']}")
    if per_user is not None:
        echo(f"wrote {len(frame):,} rows to {per_user}")


@app.command()
def models() -> None:
    """The models, with their training objective and what they are."""
    from ncf.models import MODELS
    from ncf.training.regimes import REGIMES

    table = Table(title="models (ncf train --model NAME)")
    table.add_column("name")
    table.add_column("objective")
    table.add_column("what")
    for name, cls in MODELS.items():
        default = " (default)" if name == DEFAULT_MODEL else ""
        regime = REGIMES.get(cls.objective)
        objective = regime.label if regime else "closed form / counting"
        table.add_row(name + default, objective, cls.summary)
    console.print(table)


app.command("list-models", hidden=True)(models)


@app.command()
def quickstart(
    out: Annotated[
        Path | None,
        typer.Option(help="Run folder (default runs/quickstart, numbered -2, -3 ... if taken)."),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 15,
    overwrite: ReplaceRun = False,
) -> None:
    """Offline demo: NeuMF on built-in synthetic data, evaluated, with a user's top-10."""
    from ncf.experiment.pipeline import train_run
    from ncf.experiment.run_folder import numbered_folder
    from ncf.experiment.settings import resolve_config
    from ncf.inference.recommender import load
    from ncf.models import Popularity
    from ncf.training.fitting import fit_model

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
    out = out or numbered_folder(Path("runs/quickstart"), overwrite=overwrite)
    result = train_run(config, out, overwrite=overwrite, progress=console.is_terminal, echo=echo)
    console.print(metrics_table(result.metrics, "NeuMF on synthetic data"))
    split = result.prepared.split
    baseline = Popularity(split.train.n_users, split.train.n_items)
    fit_model(baseline, result.prepared.known)
    popular = result.prepared.test(baseline)["ndcg@10"]
    echo(
        f"test ndcg@10: NeuMF {result.metrics['test']['ndcg@10']:.4f}, "
        f"popularity {popular:.4f} (same split and protocol)"
    )
    rec = load(out)
    user = rec.known.user_vocab.ids[0]
    console.print(f"\n[bold]User {user}[/] has seen:")
    echo(rec.history(user).head(15).to_string(index=False))
    console.print(f"\n[bold]Top-10 for user {user}[/]:")
    echo(rec.recommend([user], k=10).drop(columns=["user"]).to_string(index=False))
    echo(f"\nrun folder: {out} (metrics.json, history.csv, bundle/, plots/, tensorboard/)")
