"""Using trained runs: ``ncf recommend``, ``ncf similar`` and ``ncf report``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ncf.cli.app import app, check_k, console, emit, existing_folder, output_file
from ncf.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd


def _read_users(path: Path) -> np.ndarray:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; expected one user id per line") from None
    users = [line.strip() for line in lines if line.strip()]
    if users and users[0].lower() in ("user", "user_id", "userid", "uid"):
        users = users[1:]  # a header line
    if not users:
        raise UsageError(f"{path}: no user ids (expected one per line)")
    return np.array(users)


@app.command()
def recommend(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    user: Annotated[str | None, typer.Option(help="A raw user id.")] = None,
    users: Annotated[Path | None, typer.Option(help="File of raw user ids, one per line.")] = None,
    items: Annotated[
        str | None,
        typer.Option(
            help="A new user's raw item ids, comma-separated, oldest first ('' for none: "
            "the most popular items)."
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Items per user.")] = 10,
    output: Annotated[
        Path | None, typer.Option(help="Write .parquet or .csv instead of printing.")
    ] = None,
) -> None:
    """Top-k items per user, excluding the items each user already has.

    With --users, ids the model does not know are skipped and counted. With --items, a
    user the model was not trained on is scored from their items (fold-in); the answer
    says how (sequence, row, least squares, gradient or popularity)."""
    from ncf.recommender import load

    if sum(option is not None for option in (user, users, items)) != 1:
        raise UsageError("give exactly one of --user, --users and --items")
    check_k(k)
    if output is not None:
        output_file(output)
    rec = load(existing_folder(run_dir))
    if items is not None:
        given = list(dict.fromkeys(part.strip() for part in items.split(",") if part.strip()))
        frame = rec.recommend_items(given, k=k)
        print(f"new user, {len(given)} item(s): scored by {frame.attrs['path']}", file=sys.stderr)
        _write_or_print(frame, output)
        return
    if users is not None:
        raw = _read_users(users)
        known = rec.known.user_vocab.index(raw, missing="mask") >= 0
        if not known.any():
            raise UsageError(f"{users}: none of its {len(raw):,} user ids is known to the model")
        if not known.all():
            shown = ", ".join(repr(str(u)) for u in raw[~known][:3])
            print(
                f"warning: skipped {int((~known).sum()):,} unknown user id(s) of {len(raw):,} "
                f"in {users} (e.g. {shown})",
                file=sys.stderr,
            )
        raw = raw[known]
    else:
        raw = np.array([user])
    _write_or_print(rec.recommend(raw, k=k), output)


def _write_or_print(frame: pd.DataFrame, output: Path | None) -> None:
    if output is not None:
        if output.suffix == ".parquet":
            frame.to_parquet(output, index=False)
        else:
            frame.to_csv(output, index=False)
        console.print(f"wrote {len(frame):,} rows to {output}", markup=False)
        return
    emit(frame.to_string(index=False, na_rep=""))


@app.command()
def similar(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    item: Annotated[str, typer.Option(help="A raw item id.")],
    k: Annotated[int, typer.Option("--k", help="Number of items.")] = 10,
) -> None:
    """Items most like one item (cosine of item embeddings)."""
    from ncf.recommender import load

    check_k(k)
    rec = load(existing_folder(run_dir))
    raw = np.array([item])[0]
    frame = rec.similar(raw, k=k)
    index = rec.known.item_vocab.index(np.array([raw]), what="item")
    named = rec.item_rows(index)
    title = f" ({named['title'].iloc[0]})" if "title" in named and named["title"].notna()[0] else ""
    print(f"items most like item {item}{title}:", file=sys.stderr)
    emit(frame.to_string(index=False, na_rep=""))


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders to report on.")],
    out: Annotated[
        Path | None,
        typer.Option(help="report.html, or report.md (PNGs beside it); with --user, user-ID.html."),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="List length for coverage and bias.")] = 10,
    user: Annotated[
        str | None,
        typer.Option(help="A raw user id: a page of their liked items beside their top-k."),
    ] = None,
) -> None:
    """Metrics, learning curves, LR schedule, embedding map, coverage and popularity bias
    of one or more runs, compared side by side; or, with --user, one user's liked items
    (titles, genres, ratings) beside the run's recommendations for them."""
    check_k(k)
    for folder in run_dirs:
        existing_folder(folder)
    if user is not None:
        from ncf.user_view import write_user_page

        if len(run_dirs) != 1:
            raise UsageError("--user shows one run: give one run folder")
        page = out or Path(f"user-{user}.html")
        output_file(page, (".html",))
        write_user_page(run_dirs[0], np.array([user])[0], page, k)
        console.print(f"wrote {page} (user {user}, top {k})", markup=False)
        return
    from ncf.report import write_report

    out = out or Path("report.html")
    output_file(out, (".html", ".md"))
    runs = write_report(run_dirs, out, k)
    console.print(f"wrote {out} ({len(runs)} run{'s' * (len(runs) > 1)})", markup=False)
