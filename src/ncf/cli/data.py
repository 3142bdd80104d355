"""``ncf data info`` and ``ncf data split``: the same data options as ``ncf train``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from ncf.cli.app import (
    Columns,
    MinItem,
    MinUser,
    Sets,
    Threshold,
    console,
    data_app,
    data_settings,
    parse_sets,
    progress_bar,
)
from ncf.errors import UsageError


def _data_config(spec: str, settings: dict[str, Any]) -> Any:
    """The run config's data part (columns, preparation) from the data options; keys
    that only matter to training are refused."""
    from dataclasses import fields

    from ncf.data.preprocess import PrepareConfig
    from ncf.experiment.settings import resolve_config

    allowed = {f.name for f in fields(PrepareConfig)} | {"columns"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise UsageError(
            f"unknown data setting(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )
    return resolve_config({"model": "popularity", "data": spec, **settings})


def _format(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.5f}"
    return str(value)


@data_app.command("info")
def data_info(
    spec: Annotated[str, typer.Argument(help="Registry name, file or folder.")],
    columns: Columns = "",
    threshold: Threshold = None,
    min_user: MinUser = None,
    min_item: MinItem = None,
    set_: Sets = None,
) -> None:
    """Counts, density, rating range, and the rows each filter drops."""
    from ncf.experiment.preparation import load_source, prepare_source

    config = _data_config(
        spec, {**data_settings(columns, threshold, min_user, min_item), **parse_sets(set_)}
    )
    source = load_source(spec, config.columns)
    prepared, log = prepare_source(source, config.prepare)
    table = Table(title=f"{spec}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("format", source.format)
    table.add_row("rows read", f"{log.read:,}")
    for reason, n in log.dropped.items():
        table.add_row(f"dropped: {reason}", f"{n:,}")
    table.add_row("rows kept", f"{len(prepared.data):,}")
    for note, n in log.notes.items():
        table.add_row(f"note: {note}", f"{n:,}")
    for key, value in prepared.data.describe().items():
        table.add_row(key, _format(value))
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
    split: Annotated[
        str, typer.Option(help="Split spec (default: the data's own, else loo).")
    ] = "",
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    columns: Columns = "",
    threshold: Threshold = None,
    min_user: MinUser = None,
    min_item: MinItem = None,
    set_: Sets = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a split saved in --out.")
    ] = False,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            help="parquet (raw ids, split.json) or lists (train.txt / valid.txt / test.txt "
            "'user item item ...' lines of 0-based indices, as NGCF and LightGCN read).",
        ),
    ] = "parquet",
) -> None:
    """Split data and save it; the folder is itself a data spec.

    Rows dropped on the way (filters; held-out rows whose user or item is not in
    training) are printed and recorded in the folder's split.json."""
    from ncf.data.io.saved import save_lists, save_split
    from ncf.data.splits import default_split, make_split
    from ncf.experiment.preparation import load_source, prepare_source
    from ncf.random import Generators

    if format_ not in ("parquet", "lists"):
        raise UsageError(f"--format must be parquet or lists, got {format_!r}")
    marker = out / ("split.json" if format_ == "parquet" else "train.txt")
    if marker.exists() and not overwrite:
        raise UsageError(f"{out} holds a saved split; add --overwrite to replace it")
    config = _data_config(
        spec, {**data_settings(columns, threshold, min_user, min_item), **parse_sets(set_)}
    )
    source, log = prepare_source(load_source(spec, config.columns), config.prepare)
    result = make_split(source, split or default_split(source), Generators.from_seed(seed).split)
    dropped = {**log.dropped, **result.dropped}
    if format_ == "lists":
        save_lists(result, out)
    else:
        save_split(result, out, seed, dropped)
    for reason, n in dropped.items():
        console.print(f"dropped {n:,} rows: {reason}", markup=False)
    counts = result.counts()
    console.print(
        f"wrote {out}: train {counts['train']:,}, valid {counts['valid']:,}, "
        f"test {counts['test']:,} ({result.spec}, seed {seed})",
        markup=False,
    )


@data_app.command("genres")
def data_genres(
    spec: Annotated[str, typer.Argument(help="Registry name, file or folder with genres.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Write the items' genres as multi-hot vectors, for ``--set item_features=FILE``.

    The CSV has an item column, then one 0/1 column per genre."""
    from ncf.data.io.features import genre_vectors
    from ncf.experiment.preparation import load_source

    if out.exists() and not overwrite:
        raise UsageError(f"{out} exists; add --overwrite to replace it")
    frame = genre_vectors(load_source(spec).data)
    frame.to_csv(out, index=False)
    console.print(f"wrote {out}: {len(frame):,} items x {frame.shape[1] - 1} genres", markup=False)


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option(help="Parquet file to write.")],
    users: Annotated[int, typer.Option(help="Users.")] = 162_541,
    items: Annotated[int, typer.Option(help="Items.")] = 59_047,
    rows: Annotated[int, typer.Option(help="Interactions (distinct pairs).")] = 25_000_095,
    seed: Annotated[int, typer.Option(help="Seed: the same options write the same file.")] = 0,
    item_table: Annotated[
        Path | None,
        typer.Option(help="Also write the items' titles and genres (parquet) here."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Write a synthetic interaction log shaped like MovieLens, ML-25M's size by default.

    Power-law popularity, skewed activity, timestamps, ratings and planted genre
    preferences. The file is a data spec like any parquet table."""
    from ncf.data.synthetic_log import synthesize

    for path in (out, item_table):
        if path is not None and path.suffix != ".parquet":
            raise UsageError(f"{path}: expected a .parquet file name")
    for path in (out, item_table):
        if path is not None and path.exists() and not overwrite:
            raise UsageError(f"{path} exists; add --overwrite to replace it")
    started = time.perf_counter()
    with progress_bar(rows, "rows") as advance:
        counts = synthesize(out, users, items, rows, seed, item_table, advance)
    console.print(
        f"wrote {out}: {counts['rows']:,} rows, {counts['users']:,} users, "
        f"{counts['items']:,} items in {time.perf_counter() - started:.1f} s",
        markup=False,
    )
    if item_table is not None:
        console.print(f"wrote {item_table} (use: --set item_table={item_table})", markup=False)
