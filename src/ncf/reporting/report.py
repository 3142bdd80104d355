"""Reports on run folders: one self-contained HTML page (or markdown with PNGs).

For each run: the metrics with their protocol, validation next to test; the learning
curves and the learning-rate schedule; a map of the most popular items' embeddings
(PCA, labelled with titles); catalogue coverage and popularity bias of the top-k
recommendations. Across runs: one comparison table and chart.

    >>> write_report([Path("runs/gmf"), Path("runs/neumf")], Path("report.html"))
"""

from __future__ import annotations

import base64
import html
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ncf.data.io.source import data_label
from ncf.errors import DataError
from ncf.evaluation.metrics import METRICS
from ncf.reporting.figures import (
    Figure,
    comparison_plot,
    embedding_map,
    gini,
    lorenz,
    pca_2d,
    place_labels,
    png_bytes,
    popularity_plot,
    short_label,
)
from ncf.training.logs import identical_groups, learning_curve_figure, learning_rate_figure

__all__ = ["gini", "lorenz", "pca_2d", "place_labels", "recommendation_stats", "write_report"]

if TYPE_CHECKING:
    pass

#: the metrics the comparison shows: every one but precision, at k = 10
MAIN_METRICS = tuple(
    f"{name}@10" if metric.at_k else name for name, metric in METRICS.items() if name != "precision"
)


@dataclass
class RunReport:
    """What the report shows of one run."""

    name: str
    metrics: dict[str, Any]
    config: dict[str, Any]
    beyond: dict[str, float]
    figures: list[Figure]
    notes: list[str]


# --------------------------------------------------------------------------- numbers


def recommendation_stats(
    top_items: np.ndarray, popularity: np.ndarray, head: float = 0.2
) -> dict[str, float]:
    """Beyond-accuracy numbers of a (n_users, k) top-k list.

    Args:
        top_items: (n_users, k) recommended item indices.
        popularity: (n_items,) interaction counts in the data the model learnt from.
        head: the share of most popular items that forms the "head".

    Returns:
        ``coverage``: share of the catalogue recommended to anyone;
        ``gini``: Gini index of how often each item is recommended (0 = even, 1 = one item);
        ``arp``: mean popularity of recommended items, as a share of users;
        ``catalogue_arp``: the same mean over the whole catalogue, for scale;
        ``head_share``: share of recommendation slots going to the head items;
        ``head_share_data``: share of interactions the head items hold in the data.
    """
    n_items = len(popularity)
    counts = np.bincount(top_items.ravel(), minlength=n_items).astype(np.float64)
    n_users_scale = max(len(top_items), 1)
    order = np.argsort(-popularity, kind="stable")
    head_items = np.zeros(n_items, dtype=bool)
    head_items[order[: max(1, int(round(head * n_items)))]] = True
    total = popularity.sum()
    return {
        "coverage": float((counts > 0).mean()),
        "gini": gini(counts),
        "arp": float(popularity[top_items].mean() / n_users_scale),
        "catalogue_arp": float(popularity.mean() / n_users_scale),
        "head_share": float(head_items[top_items].mean()),
        "head_share_data": float(popularity[head_items].sum() / total) if total else 0.0,
    }


# --------------------------------------------------------------------------- one run


def _read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame | None]:
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.exists():
        raise DataError("not a finished run folder (no metrics.json)", run_dir)
    try:
        metrics = json.loads(metrics_path.read_text())
        config = tomllib.loads((run_dir / "config.toml").read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the run ({err})", run_dir) from None
    history = None
    if (run_dir / "history.csv").exists():
        history = pd.read_csv(run_dir / "history.csv")
        if "phase" not in history:
            history["phase"] = "select"
    return metrics, config, history


def analyse_run(
    run_dir: Path, k: int = 10, n_items_map: int = 40, max_users: int = 20_000
) -> RunReport:
    """Reads a run folder and computes everything its section of the report shows."""
    from ncf.inference.recommender import load

    metrics, config, history = _read_run(run_dir)
    name = run_dir.name
    title = f"{metrics['model']} on {data_label(metrics['data'])}"
    figures, notes = [], []
    curves = None if history is None else learning_curve_figure(history, metrics)
    if history is not None and curves is not None:
        figures.append(Figure("curves", "Learning curves", png_bytes(curves)))
        schedule = learning_rate_figure(history, metrics)
        if schedule is not None:
            figures.append(Figure("lr", "Learning-rate schedule", png_bytes(schedule)))
    else:
        notes.append(f"{metrics['model']} is fitted in closed form: no learning curves.")
    rec = load(run_dir)
    known = rec.known
    popularity = np.bincount(known.item_ids, minlength=known.n_items).astype(np.float64)
    embeddings = rec.model.item_embeddings()
    if embeddings is not None:
        top = np.argsort(-popularity, kind="stable")[:n_items_map]
        vectors = embeddings.detach().float().cpu().numpy()[top]
        if known.items is not None and "title" in known.items:
            labels = [short_label(str(t)) for t in known.items["title"].to_numpy()[top]]
        else:
            labels = [str(i) for i in known.item_vocab.raw(top)]
        figures.append(
            embedding_map(vectors, labels, f"{title}: the {len(top)} most popular items")
        )
    else:
        notes.append(f"{metrics['model']} has no item embeddings: no embedding map.")
    users = np.unique(known.user_ids)
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(0).choice(users, max_users, replace=False))
        notes.append(f"Recommendation statistics use {max_users:,} users drawn at random.")
    top_items, _ = rec.top_k(users, k)
    beyond = recommendation_stats(top_items, popularity)
    figures.append(popularity_plot(top_items, popularity, k))
    return RunReport(
        name, metrics, config, {f"{key}@{k}": v for key, v in beyond.items()}, figures, notes
    )


# --------------------------------------------------------------------------- writers

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 3px 9px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f1f1f1; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
table.comparison { font-size: 0.85em; }
table.comparison th { vertical-align: bottom; }
table.comparison :is(th, td):nth-child(-n + 4) { text-align: left; }
table.comparison th, table.comparison td { padding: 3px 6px; }
.caption { font-size: 0.85em; color: #555; }
.note, .broken { color: #8a5300; }
section { border-top: 2px solid #ddd; margin-top: 2em; }
"""

# marks images that failed to load, and records on <body> for automated checks the count
# of images loaded and of tables or images wider than the page
_SCRIPT = """
window.addEventListener("load", () => {
  const images = [...document.images];
  const ok = images.filter((img) => img.complete && img.naturalWidth > 0);
  images.filter((img) => !ok.includes(img)).forEach((img) => {
    const warning = document.createElement("p");
    warning.className = "broken";
    warning.textContent = "image failed to load";
    img.after(warning);
  });
  document.body.dataset.imagesLoaded = `${ok.length}/${images.length}`;
  const right = document.body.getBoundingClientRect().right + 0.5;
  const wide = [...document.querySelectorAll("table, img")].filter(
    (element) => element.getBoundingClientRect().right > right
  );
  document.body.dataset.overflowing = String(wide.length);
});
"""


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def _metrics_rows(run: RunReport) -> tuple[list[str], list[list[str]]]:
    protocol = run.metrics["protocol"]
    header = ["metric", f"valid ({protocol})", f"test ({protocol})"]
    rows = [
        [name, _number(run.metrics["valid"].get(name, "-")), _number(value)]
        for name, value in run.metrics["test"].items()
    ]
    return header, rows


def _facts(run: RunReport) -> list[list[str]]:
    m, t = run.metrics, run.metrics.get("timing", {})
    return [
        ["split", str(m.get("split", "-"))],
        ["protocol", str(m["protocol"])],
        ["best epoch / epochs run", f"{m['best_epoch']} / {m['epochs_run']}"],
        *(
            [["fine-tuning: epoch kept / epochs run", _tuned(m["fine_tune"])]]
            if "fine_tune" in m
            else []
        ),
        ["refit on train + valid", str(m.get("refit", "-"))],
        ["users / items", f"{m['n_users']:,} / {m['n_items']:,}"],
        [
            "train / valid / test rows",
            f"{m['n_train']:,} / {m.get('n_valid', 0):,} / {m.get('n_test', 0):,}",
        ],
        ["seed", str(m.get("seed", "-"))],
        [
            "seconds: load / fit / test / total",
            " / ".join(_seconds(t.get(f"{key}_s")) for key in ("load", "fit", "eval", "total")),
        ],
    ]


def _tuned(tuned: dict[str, int]) -> str:
    kept = str(tuned["best_epoch"]) if tuned["best_epoch"] else "none (no better epoch)"
    return f"{kept} / {tuned['epochs_run']}"


def _comparison_rows(
    runs: list[RunReport], significance: pd.DataFrame | None = None
) -> tuple[list[str], list[list[str]]]:
    """One row per run; metrics equal in every run (hr@10 = recall@10 under leave-one-out)
    share one column; with ``significance`` (`ncf.compare`'s table), each run's p-value
    against the best model on the selection metric, and whether it is below 0.05."""
    metrics = [m for m in MAIN_METRICS if any(m in r.metrics["test"] for r in runs)]
    tests = pd.DataFrame([{m: r.metrics["test"].get(m, np.nan) for m in metrics} for r in runs])
    groups = identical_groups(tests, metrics)
    k = next(iter(runs[0].beyond), "@10").partition("@")[2]
    beyond = [f"{name}@{k}" for name in ("coverage", "gini", "head_share")]
    header = [
        "run",
        "model",
        "data",
        "protocol",
        *[f"test {' = '.join(g)}" for g in groups],
        f"catalogue coverage (top-{k})",
        f"Gini (top-{k})",
        f"slots to the data's 20% most popular items (top-{k})",
        "fit (s)",
    ]
    tested = {}
    if significance is not None:
        attrs = significance.attrs
        monitor = attrs["monitor"]
        header += [
            f"p, {monitor} vs {attrs['best']} ({attrs['test']}, Holm)",
            "significant (p < 0.05)",
        ]
        for row in significance.to_dict("records"):
            p_value = row[f"p_{monitor}"]
            shown = "best" if pd.isna(p_value) else f"{p_value:.3g}"
            tested[row["model"]] = [shown, "-" if pd.isna(p_value) else str(row["significant"])]
    rows = []
    for r in runs:
        rows.append(
            [
                r.name,
                r.metrics["model"],
                data_label(r.metrics["data"]),
                r.metrics["protocol"],
                *[_number(r.metrics["test"].get(g[0], "-")) for g in groups],
                *[_number(r.beyond.get(b, "-")) for b in beyond],
                _seconds(r.metrics.get("timing", {}).get("fit_s")),
                *tested.get(r.metrics["model"], []),
            ]
        )
    return header, rows


def _comparability(runs: list[RunReport]) -> list[str]:
    notes = []
    for key in ("data", "protocol", "split"):
        values = {str(r.metrics.get(key)) for r in runs}
        if len(values) > 1:
            notes.append(
                f"The runs differ in {key} ({', '.join(sorted(values))}): their test "
                "numbers are not comparable."
            )
    return notes


def _beyond_rows(run: RunReport) -> list[list[str]]:
    labels = {
        "coverage": "catalogue coverage",
        "gini": "Gini of recommendation counts",
        "arp": "mean popularity of recommended items (share of users)",
        "catalogue_arp": "mean popularity over the catalogue (share of users)",
        "head_share": "share of slots given to the 20% most popular items",
        "head_share_data": "share of interactions those items hold",
    }
    rows = []
    for key, value in run.beyond.items():
        base, _, k = key.partition("@")
        scope = "" if base in ("catalogue_arp", "head_share_data") else f" (top-{k})"
        rows.append([f"{labels[base]}{scope}", f"{value:.4f}"])
    return rows


def _breakable(text: str) -> str:
    """Escaped text that may wrap after ``-``, ``_`` or ``/`` (``neumf-<wbr>pretrained``),
    never inside a word."""
    return re.sub(r"([-_/])", r"\1<wbr>", html.escape(text))


def html_table(header: list[str], rows: list[list[str]], css_class: str = "") -> str:
    """A table; with ``css_class`` (the comparison) cells wrap between the parts of names
    and headers break into short lines, so the widths go to the run names."""
    cell = _breakable if css_class else html.escape
    if css_class:
        head = "".join(
            f"<th>{cell(h).replace('test ', 'test<br>').replace(' = ', ' =<br>')}</th>"
            for h in header
        )
    else:
        head = "".join(f"<th>{cell(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_image(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode()
    return (
        f"<h4>{html.escape(figure.title)}</h4>"
        f'<img alt="{html.escape(figure.title)}" src="data:image/png;base64,{data}">'
        + (f"<p class='caption'>{html.escape(figure.caption)}</p>" if figure.caption else "")
    )


def to_html(
    runs: list[RunReport], comparison: Figure | None, significance: pd.DataFrame | None = None
) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ncf report</title>",
        f"<style>{CSS}</style></head><body><h1>ncf report</h1>",
        "<p>Validation numbers are what model selection saw; test numbers were computed "
        "once, after selection. Each metric is labelled with its protocol.</p>",
    ]
    if len(runs) > 1:
        parts.append("<h2>Comparison</h2>")
        parts += [f"<p class='note'>{html.escape(n)}</p>" for n in _comparability(runs)]
        rows = _comparison_rows(runs, significance)
        parts.append(html_table(*rows, css_class="comparison"))
        if comparison is not None:
            parts.append(_html_image(comparison))
    for run in runs:
        parts.append(
            f"<section><h2>{html.escape(run.name)}: {html.escape(run.metrics['model'])}"
            f" on {html.escape(data_label(run.metrics['data']))}</h2>"
        )
        parts.append(html_table(["run", run.name], _facts(run)))
        parts.append(html_table(*_metrics_rows(run)))
        parts.append("<h3>Recommendations beyond accuracy</h3>")
        parts.append(html_table(["measure", "value"], _beyond_rows(run)))
        parts += [f"<p class='note'>{html.escape(n)}</p>" for n in run.notes]
        parts += [_html_image(f) for f in run.figures]
        parts.append("</section>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def to_markdown(
    runs: list[RunReport],
    comparison: Figure | None,
    assets: Path,
    significance: pd.DataFrame | None = None,
) -> str:
    """Markdown text; the figures are written as PNG files into ``assets``."""
    assets.mkdir(parents=True, exist_ok=True)

    def image(figure: Figure, stem: str) -> str:
        path = assets / f"{stem}-{figure.name}.png"
        path.write_bytes(figure.png)
        caption = f"\n\n{figure.caption}" if figure.caption else ""
        return f"![{figure.title}]({assets.name}/{path.name}){caption}"

    parts = [
        "# ncf report",
        "Validation numbers are what model selection saw; test numbers were computed once, "
        "after selection. Each metric is labelled with its protocol.",
    ]
    if len(runs) > 1:
        parts += ["## Comparison", *[f"> {n}" for n in _comparability(runs)]]
        parts.append(_md_table(*_comparison_rows(runs, significance)))
        if comparison is not None:
            parts.append(image(comparison, "all"))
    for i, run in enumerate(runs):
        parts.append(f"## {run.name}: {run.metrics['model']} on {data_label(run.metrics['data'])}")
        parts.append(_md_table(["run", run.name], _facts(run)))
        parts.append(_md_table(*_metrics_rows(run)))
        parts.append("### Recommendations beyond accuracy")
        parts.append(_md_table(["measure", "value"], _beyond_rows(run)))
        parts += [f"> {n}" for n in run.notes]
        parts += [image(f, f"{i}-{run.name}") for f in run.figures]
    return "\n\n".join(parts) + "\n"


def write_report(
    run_dirs: list[Path], out: Path, k: int = 10, significance: pd.DataFrame | None = None
) -> list[RunReport]:
    """Writes ``out`` (``.html``, or ``.md`` with a ``<stem>_files/`` folder of PNGs);
    ``significance``: the table of `ncf.compare` over these runs, whose p-values the
    comparison shows."""
    from ncf.training.checkpoint import atomic_write

    if out.suffix not in (".html", ".md"):
        raise DataError("expected a .html or .md file name", out)
    names = [Path(d).name for d in run_dirs]
    runs = [analyse_run(Path(d), k) for d in run_dirs]
    if len(set(names)) < len(names):  # same folder names under different parents
        for run, folder in zip(runs, run_dirs):
            run.name = str(folder)
    comparison = comparison_plot(runs) if len(runs) > 1 else None
    if out.suffix == ".html":
        text = to_html(runs, comparison, significance)
    else:
        text = to_markdown(runs, comparison, out.parent / f"{out.stem}_files", significance)
    atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return runs
