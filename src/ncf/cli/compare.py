"""``ncf compare``: several models on one split and one protocol, with paired tests
(`ncf.compare`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ncf.cli.app import (
    Columns,
    Cutoffs,
    ProtocolSpec,
    Sets,
    SplitSpec,
    app,
    console,
    output_file,
    parse_ks,
    parse_sets,
)
from ncf.cli.train import echo
from ncf.errors import UsageError


def per_model_settings(sets: dict[str, str], models: list[str]) -> dict[str, dict[str, str]]:
    """``--set`` pairs: ``key=value`` for every model (``"*"``), ``MODEL.key=value`` for
    one."""
    out: dict[str, dict[str, str]] = {}
    for key, value in sets.items():
        model, dot, name = key.partition(".")
        if dot and model in models:
            out.setdefault(model, {})[name] = value
        elif dot:
            raise UsageError(f"--set {key}: {model!r} is not among --models ({','.join(models)})")
        else:
            out.setdefault("*", {})[key] = value
    return out


def table_of(frame: Any) -> Table:
    """The comparison as a rich table, one column per model (the best first) and one row per
    metric: the value, and for the others its Holm-corrected p-value against the best,
    starred below 0.05; then the seconds of fitting and of the test."""
    attrs = frame.attrs
    title = (
        f"{len(frame)} models on one split ({attrs['split']}, {attrs['protocol']}); p: "
        f"{attrs['test']} against the best, {attrs['best']}, Holm-corrected, * below 0.05; "
        f"'significant' in the table files is the p of {attrs['monitor']}, the selection metric"
    )
    table = Table(title=title)
    table.add_column("metric")
    for model in frame["model"]:
        table.add_column(str(model), justify="right")
    metrics = [c for c in frame.columns if f"p_{c}" in frame.columns]
    for metric in metrics:
        cells = []
        for value, p_value in zip(frame[metric], frame[f"p_{metric}"], strict=True):
            shown = f"{value:.4f}"
            if not math.isnan(p_value):
                shown += f" p {p_value:.2g}{'*' if p_value < 0.05 else ' '}"
            cells.append(shown)
        table.add_row(metric, *cells)
    for column, label in (("fit_s", "fit (s)"), ("eval_s", "test (s)")):
        table.add_row(label, *[f"{value:.1f}" for value in frame[column]])
    return table


@app.command()
def compare(
    models: Annotated[
        str, typer.Option(help="Models to compare, comma-separated: popularity,ease,bpr-mf.")
    ],
    data: Annotated[str, typer.Option(help="Registry name, file or folder.")],
    split: SplitSpec = "",
    protocol: ProtocolSpec = "",
    k: Cutoffs = "",
    seed: Annotated[int, typer.Option(help="Seed of everything random.")] = 0,
    columns: Columns = "",
    set_: Sets = None,
    test: Annotated[str, typer.Option(help="Paired test: wilcoxon or t.")] = "wilcoxon",
    out: Annotated[Path | None, typer.Option(help="Write the table to .csv or .json.")] = None,
    runs: Annotated[
        Path | None,
        typer.Option(help="Write each model's run folder to RUNS/MODEL (default: none)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Write the comparison page (.html or .md) with the p-values."),
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No line per epoch, no progress bars.")
    ] = False,
) -> None:
    """Train several models on one split and protocol; test them and compare them with
    paired tests over the same test users against the best model (Holm-corrected).

    --set key=value applies to every model that uses it (epochs passes the closed-form
    models by), --set MODEL.key=value to one (--set bpr-mf.epochs=5)."""
    import tempfile

    from ncf.data.io.common import parse_columns
    from ncf.experiment.compare import compare as run_compare

    names = [m.strip() for m in models.split(",") if m.strip()]
    if out is not None:
        output_file(out, (".csv", ".json"))
    if report is not None:
        output_file(report, (".html", ".md"))
    settings = per_model_settings(parse_sets(set_), names)
    column_map = parse_columns(columns) if columns else None
    with tempfile.TemporaryDirectory(prefix="ncf-compare-") as scratch:
        folder = runs if runs is not None else (Path(scratch) if report is not None else None)
        frame = run_compare(
            names,
            data,
            columns=column_map,
            split=split or None,
            protocol=protocol or None,
            k=list(parse_ks(k)) if k else None,
            seed=seed,
            settings=settings,
            out=folder,
            progress=not no_progress and console.is_terminal,
            test=test,
        )
        if report is not None and folder is not None:
            from ncf.reporting.report import write_report

            ordered = [folder / str(name) for name in frame["model"]]  # the best first
            write_report(ordered, report, significance=frame)
    console.print(table_of(frame))
    if out is not None:
        if out.suffix == ".csv":
            frame.to_csv(out, index=False)
        else:
            records = json.loads(frame.to_json(orient="records"))
            out.write_text(json.dumps({**frame.attrs, "models": records}, indent=2))
        echo(f"wrote {out}")
    if report is not None:
        echo(f"wrote {report}")
