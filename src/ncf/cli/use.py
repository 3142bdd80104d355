"""Using trained runs: ``ncf recommend``, ``ncf predict``, ``ncf similar`` and ``ncf report``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ncf.cli.app import (
    app,
    check_k,
    console,
    emit,
    existing_folder,
    output_file,
    plural,
    progress_bar,
)
from ncf.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from ncf.inference.recommender import Recommender


ID_HEADERS = {
    "user": ("user", "user_id", "userid", "uid"),
    "item": ("item", "item_id", "itemid", "iid", "movie_id", "movieid"),
}


def _read_ids(path: Path, what: str) -> np.ndarray:
    """Raw ids, one per line, an optional header line."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; expected one {what} id per line") from None
    ids = [line.strip() for line in lines if line.strip()]
    if ids and ids[0].lower() in ID_HEADERS[what]:
        ids = ids[1:]  # a header line
    if not ids:
        raise UsageError(f"{path}: no {what} ids (expected one per line)")
    return np.array(ids)


def _known_users(rec: Recommender, users: str) -> np.ndarray | None:
    """The raw ids of ``--users`` (None for ``all``), unknown ones skipped with a note."""
    if users == "all" and not Path(users).exists():
        return None
    path = Path(users)
    raw = _read_ids(path, "user")
    index = rec.known.user_vocab.index(raw, missing="mask")
    known = index >= 0
    if not known.any():
        raise UsageError(f"{path}: none of its {len(raw):,} user ids is known to the model")
    if not known.all():
        shown = ", ".join(repr(str(u)) for u in raw[~known][:3])
        print(
            f"warning: skipped {int((~known).sum()):,} unknown user id(s) of {len(raw):,} "
            f"in {path} (e.g. {shown})",
            file=sys.stderr,
        )
    return rec.known.user_vocab.raw(index[known])  # as the data has them


def _read_pairs(path: Path) -> pd.DataFrame:
    """(user, item) pairs of a .csv / .tsv / .parquet file with a user and an item column
    (user / user_id / uid ..., item / item_id / movie_id ...), ids as text."""
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path).astype(str)
        else:
            frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
    except Exception as err:  # noqa: BLE001 - any reader error is the file's fault
        raise UsageError(f"{path}: cannot read pairs ({err})") from None
    found = {}
    for role, names in ID_HEADERS.items():
        column = next((c for c in frame.columns if str(c).strip().lower() in names), None)
        if column is None:
            raise UsageError(
                f"{path}: no {role} column among {list(frame.columns)[:6]}; "
                f"name it {' or '.join(names[:3])}"
            )
        found[role] = frame[column].str.strip().to_numpy()
    return pd.DataFrame(found)


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    pairs: Annotated[
        Path | None,
        typer.Option(help="A .csv / .tsv / .parquet file with a user and an item column."),
    ] = None,
    user: Annotated[str | None, typer.Option(help="A raw user id (or several, by commas).")] = None,
    item: Annotated[str | None, typer.Option(help="A raw item id (or several, by commas).")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write .parquet or .csv instead of printing.")
    ] = None,
) -> None:
    """The model's score of (user, item) pairs.

    A rating model gives the predicted rating, clipped to the training ratings' range as
    the rating protocol scores it; the others their ranking score. A pair with an id the
    model does not know has no score and an error naming the id; the others are scored."""
    from ncf.inference.recommender import load

    if (pairs is None) == (user is None and item is None) or (user is None) != (item is None):
        raise UsageError("give --pairs FILE, or --user and --item")
    if output is not None:
        output_file(output)
    if pairs is not None:
        given = _read_pairs(pairs)
        users, items = given["user"].to_numpy(), given["item"].to_numpy()
    else:
        users, items = (np.array([p.strip() for p in str(v).split(",")]) for v in (user, item))
    rec = load(existing_folder(run_dir))
    frame = rec.score_pairs(users, items)
    failed = int(frame["error"].notna().sum())
    frame["error"] = frame["error"].fillna("")  # printed blank, not None
    if failed:
        print(f"{plural(failed, 'pair')} with an unknown id: no score", file=sys.stderr)
    _write_or_print(frame, output)


def _item_list(rec: Recommender, path: Path | None, option: str) -> np.ndarray | None:
    """The ids of an item-list file, with a note for the ids the model does not know."""
    if path is None:
        return None
    raw = _read_ids(path, "item")
    unknown = int((rec.known.item_vocab.index(raw, missing="mask") < 0).sum())
    if unknown:
        print(f"note: {option} {path}: {unknown:,} of {len(raw):,} ids unknown", file=sys.stderr)
    return raw


@app.command()
def recommend(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    user: Annotated[str | None, typer.Option(help="A raw user id.")] = None,
    users: Annotated[
        str | None,
        typer.Option(help="'all' (every known user) or a file of raw user ids, one per line."),
    ] = None,
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
    exclude_items: Annotated[
        Path | None, typer.Option(help="Deny-list: a file of item ids never recommended.")
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option(help="Allow-list: a file of the only item ids to recommend."),
    ] = None,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Also recommend the items a user already has.")
    ] = False,
    index: Annotated[
        str | None,
        typer.Option(help="Approximate top-k through faiss (hnsw or ivf; dot-product models)."),
    ] = None,
) -> None:
    """Top-k items per user, excluding the items each user already has.

    With --users, ids the model does not know are skipped and counted; with --output the
    answer is written a block of users at a time. With --items, a user the model was
    not trained on is scored from their items (fold-in); the answer says how (sequence,
    row, least squares, gradient or popularity)."""
    from ncf.inference.batch import write_recommendations
    from ncf.inference.recommender import load

    if sum(option is not None for option in (user, users, items)) != 1:
        raise UsageError("give exactly one of --user, --users and --items")
    check_k(k)
    if output is not None:
        output_file(output)
    rec = load(existing_folder(run_dir), index=index)
    lists = {
        "exclude_items": _item_list(rec, exclude_items, "--exclude-items"),
        "candidates": _item_list(rec, candidates, "--candidates"),
    }
    if items is not None:
        given = list(dict.fromkeys(part.strip() for part in items.split(",") if part.strip()))
        frame = rec.recommend_items(given, k=k, exclude_seen=not include_seen, **lists)
        print(f"new user, {len(given)} item(s): scored by {frame.attrs['path']}", file=sys.stderr)
        _write_or_print(frame, output)
        return
    raw = np.array([user]) if users is None else _known_users(rec, users)
    if output is None:
        _write_or_print(rec.recommend(raw, k, not include_seen, **lists), None)
        return
    n_users = rec.model.n_users if raw is None else len(raw)
    started = time.perf_counter()
    with progress_bar(n_users, "users") as advance:
        written = write_recommendations(
            rec, output, raw, k, not include_seen, advance=advance, **lists
        )
    seconds = time.perf_counter() - started
    console.print(
        f"wrote {written.rows:,} rows ({plural(written.users, 'user')}, top {k}, "
        f"{rec.retrieval}) to {output} in {seconds:.1f} s",
        markup=False,
    )
    if written.users < n_users:
        note = f"{plural(n_users - written.users, 'user')} got no recommendation"
        print(f"note: {note}: every candidate item is seen or excluded", file=sys.stderr)


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
    from ncf.inference.recommender import load

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
        from ncf.reporting.user_page import write_user_page

        if len(run_dirs) != 1:
            raise UsageError("--user shows one run: give one run folder")
        page = out or Path(f"user-{user}.html")
        output_file(page, (".html",))
        write_user_page(run_dirs[0], np.array([user])[0], page, k)
        console.print(f"wrote {page} (user {user}, top {k})", markup=False)
        return
    from ncf.reporting.report import write_report

    out = out or Path("report.html")
    output_file(out, (".html", ".md"))
    runs = write_report(run_dirs, out, k)
    console.print(f"wrote {out} ({plural(len(runs), 'run')})", markup=False)
