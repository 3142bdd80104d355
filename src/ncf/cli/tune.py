"""``ncf tune``: hyper-parameter search with Optuna (`ncf.experiment.tuning`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
)
from ncf.cli.train import echo, require_data, run_values


@app.command()
def tune(
    model: Annotated[
        str, typer.Option(help="Model name (default neumf); `ncf models` lists them.")
    ] = "",
    data: Annotated[str, typer.Option(help="Registry name, file or folder.")] = "",
    trials: Annotated[int, typer.Option(help="Trials in all, earlier runs' included.")] = 20,
    jobs: Annotated[int, typer.Option(help="Processes running trials at once.")] = 1,
    space: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=SPEC replacing or adding a searched setting: 8,16,32 (choices), "
            "LOW:HIGH or LOW:HIGH:log (repeatable)."
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds after which no new trial starts.")
    ] = None,
    split: SplitSpec = "",
    protocol: ProtocolSpec = "",
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs of a trial.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the split, trials and sampler.")] = None,
    device: Device = "",
    threads: Threads = None,
    k: Cutoffs = "",
    columns: Columns = "",
    threshold: Threshold = None,
    min_user: MinUser = None,
    min_item: MinItem = None,
    set_: Sets = None,
    config: Annotated[Path | None, typer.Option(help="TOML config to search around.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Study folder (default tune/MODEL-DATA); a study there continues."),
    ] = None,
) -> None:
    """Search a model's settings on validation (never on test); write best.toml for
    `ncf train --config`, a table of trials and the optimisation history."""
    from ncf.experiment.run_folder import run_name
    from ncf.experiment.settings import resolve_config
    from ncf.experiment.tuning import import_optuna, parse_space, tune

    import_optuna()  # before any work: a missing extra is one line
    flags = {
        "model": model,
        "data": data,
        "split": split,
        "protocol": protocol,
        "epochs": epochs,
        "seed": seed,
        "device": device,
        "threads": threads,
    }
    data_flags = data_settings(columns, threshold, min_user, min_item)
    values = run_values(config, flags, data_flags, k, set_)
    run_config = resolve_config(require_data(values))
    overrides = dict(parse_space(text) for text in space or [])
    out = out or Path("tune") / run_name(run_config)
    result = tune(run_config, out, trials, jobs, overrides, timeout, echo)
    console.print(trials_table(out, result["monitor"]))
    shown = f"{result['complete']} finished, {result['pruned']} pruned"
    if result["failed"]:
        shown += f", {result['failed']} failed"
    if "best_value" not in result:
        echo(f"{shown}; no trial finished, so no best.toml")
        return
    params = ", ".join(f"{key} {_cell(value)}" for key, value in result["best_params"].items())
    echo(
        f"best: trial {result['best_number']}, valid {result['monitor']} "
        f"{result['best_value']:.4f} ({params}); {shown}"
    )
    echo(f"wrote {result['best_toml']}, {result['trials_csv']}, {result['history_png']}")
    echo(f"next: ncf train --config {result['best_toml']}")


def trials_table(out: Path, monitor: str, top: int = 10) -> Table:
    """The best finished trials of the study in ``out``."""
    import pandas as pd

    frame = pd.read_csv(out / "trials.csv")
    from ncf.evaluation.metrics import higher_is_better

    finished = frame[frame["state"] == "COMPLETE"]
    finished = finished.sort_values("value", ascending=not higher_is_better(monitor))
    done = frame["state"].value_counts()
    table = Table(
        title=f"best of {done.get('COMPLETE', 0)} finished trials "
        f"({done.get('PRUNED', 0)} pruned; all in {out / 'trials.csv'})"
    )
    table.add_column("trial", justify="right")
    table.add_column(f"valid {monitor}", justify="right")
    params = [c for c in frame.columns if c.startswith("params_")]
    for column in params:
        table.add_column(column.removeprefix("params_"), justify="right")
    table.add_column("seconds", justify="right")
    for _, row in finished.head(top).iterrows():
        cells = [_cell(row[c]) for c in params]
        table.add_row(str(row["number"]), f"{row['value']:.4f}", *cells, f"{row['seconds']:.1f}")
    return table


def _cell(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
