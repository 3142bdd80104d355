"""One user's page (S7's HTML view): the items they liked, with titles, genres and
ratings, beside the model's top-k for them, and the genres of both side by side.

The liked items are every item the run knows the user has (training, validation and
test: what recommendations exclude), highest rated first; the recommendations come from
the run's final model, as ``ncf recommend`` gives them.

    >>> write_user_page(Path("runs/S7-mf"), "196", Path("user-196.html"), k=10)
"""

from __future__ import annotations

import html
import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.io.metadata import multi_hot
from ncf.data.io.source import data_label
from ncf.inference.recommender import Recommender, load
from ncf.reporting.report import CSS, html_table

_PAGE_CSS = """
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 2em; align-items: start; }
.columns table { width: 100%; }
.columns :is(th, td) { text-align: left; }
.columns td.number { text-align: right; white-space: nowrap; }
"""


def liked_items(rec: Recommender, user_index: int) -> pd.DataFrame:
    """The user's known items: item, the metadata, rating (when the data has ratings),
    highest rated first (ties in the order the run stored them)."""
    rows = np.flatnonzero(rec.known.user_ids == user_index)
    frame = rec.item_rows(rec.known.item_ids[rows])
    if rec.known.ratings is not None:
        frame["rating"] = rec.known.ratings[rows]
        frame = frame.sort_values("rating", ascending=False, kind="stable")
    return frame.reset_index(drop=True)


def genre_shares(liked: pd.DataFrame, recommended: pd.DataFrame) -> pd.DataFrame:
    """Share of the liked and of the recommended items in each genre (an item in two
    genres counts in both), most liked genres first."""
    both = pd.concat([liked["genres"], recommended["genres"]], ignore_index=True)
    hot = multi_hot(both)
    shares = pd.DataFrame(
        {
            "liked": hot.iloc[: len(liked)].mean(),
            "recommended": hot.iloc[len(liked) :].mean(),
        }
    )
    return shares.sort_values(["liked", "recommended"], ascending=False)


def _cells(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    shown = frame[columns].astype(object).where(frame[columns].notna(), "")
    if "genres" in shown:
        shown["genres"] = shown["genres"].astype(str).str.replace("|", ", ", regex=False)
    if "score" in shown:
        shown["score"] = [f"{float(v):.3f}" for v in shown["score"]]
    if "rating" in shown:
        shown["rating"] = [f"{float(v):g}" for v in shown["rating"]]
    return shown.astype(str).to_numpy().tolist()


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    """An HTML table of ``columns``; ranks, ratings and scores align right."""
    numbers = {"rank", "rating", "score"}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = [
        "<tr>"
        + "".join(
            f"<td class='number'>{html.escape(v)}</td>"
            if c in numbers
            else f"<td>{html.escape(v)}</td>"
            for c, v in zip(columns, row)
        )
        + "</tr>"
        for row in _cells(frame, columns)
    ]
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def user_page(
    rec: Recommender,
    user: object,
    k: int = 10,
    title: str = "",
    limit: int = 100,
    label: str = "liked",
) -> str:
    """The page of one raw user id, as HTML text; ``limit``: the user's items shown at
    most; ``label``: what to call them ("rated" where every rating was kept)."""
    user_index = int(rec.known.user_vocab.index(np.array([user]), what="user")[0])
    liked = liked_items(rec, user_index)
    recommended = rec.recommend(np.array([user]), k=k)
    meta = [c for c in ("title", "genres") if rec.items is not None and c in rec.items]
    liked_columns = [*(meta or ["item"]), *(["rating"] if "rating" in liked else [])]
    rec_columns = ["rank", *(meta or ["item"]), "score"]
    shown = liked.head(limit)
    count = f"{len(liked):,} item{'s' * (len(liked) != 1)}"
    if len(shown) < len(liked):
        count += f"; the {len(shown)} highest rated shown"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>user {html.escape(str(user))}</title>",
        f"<style>{CSS}{_PAGE_CSS}</style></head><body>",
        f"<h1>user {html.escape(str(user))}</h1>",
        f"<p class='caption'>{html.escape(title)}</p>" if title else "",
        "<div class='columns'><div>",
        f"<h2>{label} ({count})</h2>",
        _table(shown, liked_columns),
        "</div><div>",
        f"<h2>recommended (top {len(recommended)})</h2>",
        _table(recommended, rec_columns),
        "<p class='caption'>New items only: what the user already has is excluded.</p>",
        "</div></div>",
    ]
    if "genres" in meta:
        shares = genre_shares(liked, recommended)
        rows = [[g, f"{a:.0%}", f"{b:.0%}"] for g, a, b in shares.itertuples()]
        parts += [
            "<h2>genres</h2>",
            html_table(["genre", f"of the {label} items", "of the recommended items"], rows),
        ]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def write_user_page(run_dir: str | Path, user: object, out: str | Path, k: int = 10) -> Path:
    """Writes ``out``: the page of ``user`` under the run (or bundle) in ``run_dir``."""
    run_dir, out = Path(run_dir), Path(out)
    rec = load(run_dir)
    title = f"{rec.model.name}, {run_dir.name}"
    metrics, config = run_dir / "metrics.json", run_dir / "config.toml"
    if metrics.is_file():
        m = json.loads(metrics.read_text())
        title = f"{m['model']} on {data_label(m['data'])} ({m['split']}), {run_dir.name}"
    # every rated item, low ratings too, unless the run kept only ratings above a threshold
    threshold = None
    if config.is_file():
        threshold = tomllib.loads(config.read_text()).get("prepare", {}).get("implicit_threshold")
    label = "rated" if rec.known.ratings is not None and threshold is None else "liked"
    out.write_text(user_page(rec, user, k, title, label=label), encoding="utf-8")
    return out
