"""The pictures of a report: embedding map with labels that do not collide, popularity
bias as Lorenz curves, and the comparison chart across runs.

    >>> figure = embedding_map(vectors, titles, "gmf on ml-100k")   # Figure(name, title, png)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ncf.training.logs import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

    from ncf.reporting.report import RunReport


@dataclass
class Figure:
    """One PNG of the report, with what the picture could not show in ``caption``."""

    name: str
    title: str
    png: bytes
    caption: str = ""


# --------------------------------------------------------------------------- numbers


def gini(counts: np.ndarray) -> float:
    """Gini index of (n,) counts: 0 when all are equal, (n - 1) / n when one holds all."""
    ordered = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(ordered), ordered.sum()
    if not total:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * ordered).sum() / (n * total))


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, 2) coordinates on the two leading principal components."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


# --------------------------------------------------------------------------- figures

# spots around a point, near ones first: offset (points) and text anchors; labels at the
# far ring get a leader line to their point
_SPOTS = [
    (
        radius * dx,
        radius * dy,
        ("right", "center", "left")[dx + 1],
        ("top", "center", "bottom")[dy + 1],
    )
    for radius in (4, 14)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
]


def png_bytes(fig: MplFigure) -> bytes:
    buffer = io.BytesIO()
    if fig.get_layout_engine() is None:  # figures laid out already keep their layout
        fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def place_labels(ax: Axes, xy: np.ndarray, labels: list[str], fontsize: float = 7) -> list[int]:
    """Labels points greedily, most important first, so that no two labels overlap.

    Each label goes to the first of 16 spots around its point (eight near, eight farther
    with a leader line) where it and its leader overlap no label or leader placed before,
    the label covers no other point and stays inside the axes; a point with no such spot
    stays unlabelled.
    Call it after the axes' limits and the figure's layout are final: it measures the
    labels in display pixels.

    Args:
        ax: axes already holding its final limits.
        xy: (n, 2) data coordinates, in order of importance.
        labels: n labels.

    Returns:
        the indices of the points left unlabelled.
    """
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(xy)  # (n, 2) pixels
    reach = 3.0 * ax.figure.dpi / 72  # a marker's radius, in pixels
    taken = np.empty((0, 4))  # (placed, 4) boxes x0, y0, x1, y1
    left_out = []
    for i, label in enumerate(labels):
        others = np.delete(points, i, axis=0)
        for dx, dy, ha, va in _SPOTS:
            leader = (
                {"arrowstyle": "-", "color": "0.45", "lw": 0.6} if abs(dx) + abs(dy) > 8 else None
            )
            text = ax.annotate(
                label,
                xy[i],
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                gid="label",
                arrowprops=leader,
            )
            a0, b0, a1, b1 = text.get_window_extent(renderer).extents  # with the leader
            x0, y0, x1, y1 = Text.get_window_extent(text, renderer).extents + [-1, -1, 1, 1]
            inside = x0 >= frame.x0 and y0 >= frame.y0 and x1 <= frame.x1 and y1 <= frame.y1
            hits_label = (
                (taken[:, 0] < a1) & (taken[:, 2] > a0) & (taken[:, 1] < b1) & (taken[:, 3] > b0)
            ).any()
            hits_point = (
                (others[:, 0] > x0 - reach)
                & (others[:, 0] < x1 + reach)
                & (others[:, 1] > y0 - reach)
                & (others[:, 1] < y1 + reach)
            ).any()
            if inside and not hits_label and not hits_point:
                taken = np.vstack([taken, [min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)]])
                break
            text.remove()
        else:
            left_out.append(i)
    return left_out


def short_label(title: str, limit: int = 30) -> str:
    """Shortens at a word boundary, never mid-word."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",:;-") + "…"


def embedding_map(vectors: np.ndarray, labels: list[str], title: str) -> Figure:
    xy = pca_2d(vectors)
    fig = new_figure(figsize=(10, 7.5))
    ax = fig.add_subplot()
    span = np.ptp(xy, axis=0) + 1e-9
    ax.set(xlim=(xy[:, 0].min() - 0.06 * span[0], xy[:, 0].max() + 0.06 * span[0]))
    ax.set(ylim=(xy[:, 1].min() - 0.06 * span[1], xy[:, 1].max() + 0.06 * span[1]))
    ax.set(xlabel="PC 1", ylabel="PC 2", title=title)
    fig.tight_layout()  # final layout before the labels are measured
    left_out = place_labels(ax, xy, labels)
    colors = np.full(len(xy), "tab:blue", dtype=object)
    colors[left_out] = "0.65"
    ax.scatter(xy[:, 0], xy[:, 1], s=14, c=list(colors), zorder=2)
    caption = ""
    if left_out:
        names = "; ".join(labels[i] for i in left_out)
        caption = f"Not labelled for lack of room (grey points, by popularity): {names}"
    return Figure("embeddings", "Item embedding map", png_bytes(fig), caption)


def lorenz(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) counts -> the Lorenz curve: (n + 1,) share of items, from the least counted,
    and (n + 1,) share of all counts they hold; both start at 0 and end at 1."""
    ordered = np.sort(np.asarray(counts, dtype=np.float64))
    held = np.concatenate([[0.0], np.cumsum(ordered)]) / max(ordered.sum(), 1e-12)
    return np.linspace(0.0, 1.0, len(ordered) + 1), held


def popularity_plot(top_items: np.ndarray, popularity: np.ndarray, k: int) -> Figure:
    """Lorenz curves of recommendation slots and of the data's interactions; on the right
    the same curves from the most frequent item, on a log axis, where the head shows."""
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    counts = np.bincount(top_items.ravel(), minlength=len(popularity))
    fig = new_figure(figsize=(11, 5.6), layout="constrained")
    lorenz_ax, head_ax = fig.subplots(1, 2)
    everyone = np.linspace(1 / len(counts), 1.0, 200)
    lorenz_ax.plot([0, 1], [0, 1], color="0.6", ls=":", label="every item equally often")
    head_ax.plot(everyone, everyone, color="0.6", ls=":")
    for values, color, what in (
        (popularity, "tab:blue", "interactions in the data"),
        (counts, "tab:orange", f"top-{k} recommendation slots"),
    ):
        share, held = lorenz(values)
        top = 1 - np.interp(0.8, share, held)
        label = f"{what}: Gini {gini(values):.2f}; its own top 20% of items hold {top:.0%}"
        lorenz_ax.plot(share, held, color=color, lw=2, label=label)
        head_ax.plot(1 - share[::-1][1:], 1 - held[::-1][1:], color=color, lw=2)
    lorenz_ax.axvline(0.8, color="0.8", lw=0.8)
    lorenz_ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="share of items, least to most frequent",
        ylabel="share of interactions / slots they hold",
        title="Lorenz curves",
    )
    head_ax.set_xscale("log")
    head_ax.set(
        ylim=(0, 1.01),
        xlabel="share of items, most frequent first (log scale)",
        ylabel="share of interactions / slots they hold",
        title="the head: how few items take the slots",
    )
    head_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:g}%"))
    for ax in (lorenz_ax, head_ax):
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    lorenz_ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    fig.suptitle(f"popularity bias of the top-{k} recommendations")
    fig.legend(loc="outside lower center", fontsize=9)
    return Figure("popularity", "Popularity bias of recommendations", png_bytes(fig))


def comparison_plot(runs: list[RunReport]) -> Figure:
    metrics = [m for m in ("hr@10", "ndcg@10") if all(m in r.metrics["test"] for r in runs)]
    metrics = metrics or list(runs[0].metrics["test"])[:2]
    values = np.array(
        [[r.metrics["test"].get(m, np.nan) for m in metrics] for r in runs], dtype=np.float64
    )  # (n_runs, n_metrics)
    fig = new_figure(figsize=(8, 1.4 + 0.5 * values.size), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / max(len(metrics), 1)
    y = np.arange(len(runs))[::-1].astype(np.float64)  # first run at the top
    for j, metric in enumerate(metrics):
        offset = ((len(metrics) - 1) / 2 - j) * height
        ax.barh(y + offset, values[:, j], height, label=f"test {metric}")
        for yy, value in zip(y + offset, values[:, j]):
            if not np.isnan(value):
                ax.text(value, yy, f" {value:.4f}", va="center", fontsize=8)
    ax.set_yticks(y, [r.name for r in runs])
    ax.set_xlim(0, 1.2 * float(np.nanmax(values, initial=0.0)) or 1.0)
    protocols = ", ".join(sorted({str(r.metrics["protocol"]) for r in runs}))
    ax.set(title=f"test metrics across runs ({protocols} protocol)")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=max(len(metrics), 1))
    return Figure("comparison", "Test metrics across runs", png_bytes(fig))
