"""Run records: ``history.csv``, TensorBoard events and the run's pictures in ``plots/``.

    >>> frame = write_history(history, out / "history.csv")
    >>> write_plots(out, frame, metrics)  # learning_curve.png, learning_rate.png, metrics.png

The figures are built by plain functions (`learning_curve_figure`, `learning_rate_figure`,
`metrics_figure`) that the report reuses, so a run folder and a report draw the same picture.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ncf.data.io.source import data_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SELECT_COLOR, REFIT_COLOR, BEST_COLOR = "tab:blue", "tab:orange", "tab:red"
VALID_COLOR = "tab:green"  # validation metrics: never the colour of a loss line


class TensorBoardLogger:
    """Writes each epoch's numbers as TensorBoard scalars under ``folder``."""

    def __init__(self, folder: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def __call__(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                group = "valid" if key.startswith("valid_") else "train"
                self.writer.add_scalar(f"{group}/{key.removeprefix('valid_')}", value, row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def write_history(history: list[dict[str, Any]], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(history)
    frame.to_csv(path, index=False)
    return frame


# --------------------------------------------------------------------------- figures


def new_figure(**kwargs: Any) -> Figure:
    """A matplotlib figure with its own Agg canvas: no pyplot state, nothing to close; a
    notebook shows it as a PNG (its ``_repr_png_``) without ``%matplotlib inline``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _shown_figure()(**kwargs)
    FigureCanvasAgg(figure)
    return figure


@functools.cache
def _shown_figure() -> type[Figure]:
    """matplotlib's Figure with a ``_repr_png_``; made once, when a figure is first drawn
    (matplotlib is imported only then)."""
    from matplotlib.figure import Figure

    class ShownFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
            return buffer.getvalue()

    return ShownFigure


def identical_groups(
    frame: pd.DataFrame, columns: list[str], atol: float = 1e-9
) -> list[list[str]]:
    """Groups the columns whose values are equal in every row (NaN equals NaN).

    Under leave-one-out, hr@k and recall@k are the same number for every epoch; drawn as
    two lines the second hides the first, so they are drawn once, labelled together.

    Returns:
        the groups in column order, each a list of column names (the first is the group's).
    """
    groups: list[list[str]] = []
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64)
        for group in groups:
            first = frame[group[0]].to_numpy(dtype=np.float64)
            if np.allclose(first, values, rtol=0.0, atol=atol, equal_nan=True):
                group.append(column)
                break
        else:
            groups.append([column])
    return groups


def group_label(group: list[str], prefix: str = "valid_") -> str:
    """``["valid_hr@10", "valid_recall@10"]`` -> ``"hr@10 = recall@10"``."""
    return " = ".join(c.removeprefix(prefix) for c in group)


def _title(metrics: dict[str, Any], what: str) -> str:
    """``model on data: what``, on two lines when long."""
    if "model" in metrics and "data" in metrics:
        run = f"{metrics['model']} on {data_label(metrics['data'])}"
        return f"{run}: {what}" if len(run) + len(what) < 60 else f"{run}\n{what}"
    return what


def _phases(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The selection run's rows and the refit's, each followed by its fine-tuning rows
    (``fine-tune``, ``refit-fine-tune``) numbered on from the selection run's last epoch,
    so that both fine-tuning phases start at the same place on the axis."""
    phase = history["phase"] if "phase" in history else pd.Series("select", index=history.index)
    main = history.loc[phase == "select", "epoch"]
    offset = float(np.ceil(main.max())) if len(main) else 0.0

    def joined(first: str, tuned: str) -> pd.DataFrame:
        rows, more = history[phase == first], history[phase == tuned].copy()
        if not len(more):
            return rows
        more["epoch"] += offset
        return pd.concat([rows, more])

    return joined("select", "fine-tune"), joined("refit", "refit-fine-tune")


def selected_epoch(metrics: dict[str, Any]) -> int | None:
    """The selected epoch on the joined axis of `_phases`: a kept fine-tuning epoch
    counts on from the main phase's last."""
    tuned = metrics.get("fine_tune") or {}
    if tuned.get("best_epoch"):
        return int(metrics["epochs_run"]) + int(tuned["best_epoch"])
    return metrics.get("best_epoch")


def _integer_epochs(ax: Axes) -> None:
    """Whole epochs on the x axis; a single epoch is shown between its neighbours (the
    locator finds no whole numbers in the narrow range matplotlib gives one point)."""
    from matplotlib.ticker import MaxNLocator

    low, high = ax.get_xlim()
    if high - low < 2:
        middle = round((low + high) / 2)
        ax.set_xlim(middle - 1, middle + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _mark_best(ax: Axes, best_epoch: int | None) -> Any:
    if best_epoch is None:
        return None
    return ax.axvline(best_epoch, color=BEST_COLOR, ls="--", lw=1.2, zorder=1, gid="best-epoch")


def _phase_lines(
    ax: Axes, select: pd.DataFrame, refit: pd.DataFrame, column: str, labels: tuple[str, str]
) -> list[Any]:
    """Draws ``column`` per epoch for the selection run and the refit; one line when the
    refit repeats the selection run's values (a schedule), so neither hides the other."""
    chosen = select[["epoch", column]].dropna()
    again = refit[["epoch", column]].dropna()
    markers = _marker_size(len(chosen))
    if len(again) and len(chosen):
        common = chosen.merge(again, on="epoch", suffixes=("", "_refit"))
        if len(common) == len(again) and np.allclose(
            common[column], common[f"{column}_refit"], rtol=1e-9, atol=0.0
        ):
            last = int(again["epoch"].max())
            repeated = f"epochs 1-{last}" if last > 1 else "epoch 1"
            label = f"{labels[0]}; the {labels[1]} repeats {repeated}"
            return ax.plot(chosen["epoch"], chosen[column], marker="o", ms=markers, label=label)
    lines = []
    for rows, color, style, label in (
        (chosen, SELECT_COLOR, "-", labels[0]),
        (again, REFIT_COLOR, "--", labels[1]),
    ):
        if len(rows):
            lines += ax.plot(
                rows["epoch"],
                rows[column],
                ls=style,
                marker="o",
                ms=markers,
                color=color,
                label=label,
            )
    return lines


def _marker_size(n_epochs: int) -> float:
    return 5.0 if n_epochs <= 15 else 3.0 if n_epochs <= 40 else 0.0


def learning_curve_figure(history: pd.DataFrame, metrics: dict[str, Any]) -> Figure | None:
    """Training loss of both phases on top, one small panel per validation metric below.

    Each metric has its own panel (and y range): on one axis auc (about 0.85) flattens
    precision@10 (about 0.01). Metrics equal in every epoch share a panel, labelled
    ``hr@10 = recall@10``. The best epoch (``metrics["best_epoch"]``, chosen on validation)
    is a dashed line in every panel and a star on every metric; an epoch-0 row (the
    untrained model) is drawn where it has values. The legend sits above the panels, off
    the data.

    Args:
        history: one row per epoch: ``phase`` (select / refit), ``epoch``, ``loss``,
            ``valid_<metric>`` columns.
        metrics: metrics.json's dict (``best_epoch``, ``model``, ``data``).

    Returns:
        the figure, or None when the history has no loss (a closed-form model).
    """
    if history.empty or "loss" not in history or history["loss"].isna().all():
        return None
    from matplotlib.lines import Line2D

    select, refit = _phases(history)
    best = selected_epoch(metrics)
    columns = [c for c in history.columns if c.startswith("valid_") and select[c].notna().any()]
    groups = identical_groups(select, columns)
    n_cols = 2 if len(groups) == 4 else min(3, len(groups)) or 1
    n_rows = -(-len(groups) // n_cols)
    figure = new_figure(figsize=(11, 3.4 + 2.4 * n_rows), layout="constrained")
    grid = figure.add_gridspec(1 + n_rows, n_cols, height_ratios=[1.4] + [1.0] * n_rows)
    loss_ax = figure.add_subplot(grid[0, :])
    labels = (
        "training loss, selection run (on train)",
        "training loss, refit (on train + valid): the final model",
    )
    handles = _phase_lines(loss_ax, select, refit, "loss", labels)
    loss_ax.set(ylabel="training loss", title=_title(metrics, "training loss"))
    markers = _marker_size(len(select))
    if len(groups):
        label = "validation, selection run"
        if (select["epoch"] == 0).any():
            label += " (epoch 0: the untrained model)"
        handles.append(Line2D([], [], color=VALID_COLOR, marker="o", ms=markers, label=label))
    line = _mark_best(loss_ax, best)
    if line is not None:
        line.set_label(f"best epoch {best} (selected on validation)")
        handles.append(line)
    if "fine_tune" in metrics:  # the epochs after this line train the unfrozen model
        start = loss_ax.axvline(metrics["epochs_run"] + 0.5, color="0.5", ls=":", lw=1.2)
        start.set_label(
            f"fine-tuning starts from epoch {metrics['best_epoch']}'s weights, unfrozen"
        )
        handles.append(start)
    axes = [loss_ax]
    for i, group in enumerate(groups):
        ax = figure.add_subplot(grid[1 + i // n_cols, i % n_cols], sharex=loss_ax)
        values = select[["epoch", group[0]]].dropna()
        label = group_label(group)
        ax.plot(
            values["epoch"],
            values[group[0]],
            marker="o",
            ms=markers,
            color=VALID_COLOR,
            label=label,
        )
        title = f"validation {label}"
        at_best = values[values["epoch"] == best][group[0]]
        if len(at_best):
            ax.plot(
                best, at_best.iloc[0], marker="*", ms=13, color=BEST_COLOR, zorder=3, gid="best"
            )
            ax.margins(y=0.15)  # room for the star at the top
            title += f"\nat the best epoch: {at_best.iloc[0]:.4f}"
        _mark_best(ax, best)
        ax.set_title(title, fontsize=10)
        if i + n_cols >= len(groups):  # no panel below
            ax.set_xlabel("epoch")
        axes.append(ax)
    for ax in axes:
        _integer_epochs(ax)
        ax.grid(alpha=0.3)
    if not len(groups):
        loss_ax.set_xlabel("epoch")
    figure.legend(handles=handles, loc="outside upper center", ncols=2, fontsize=9)
    return figure


def learning_rate_figure(
    history: pd.DataFrame, metrics: dict[str, Any], trace: pd.DataFrame | None = None
) -> Figure | None:
    """The learning rate of each epoch, per phase, or of each batch when ``trace`` (lr.csv:
    phase, epoch position, lr) is given; None without either."""
    per_batch = trace is not None and len(trace) > 0
    if not per_batch and ("lr" not in history or history["lr"].isna().all()):
        return None
    figure = new_figure(figsize=(8, 3.4), layout="constrained")
    ax = figure.add_subplot()
    if per_batch:
        select, refit = _phases(trace)  # type: ignore[arg-type]
        for rows, color, style, label in (
            (select, SELECT_COLOR, "-", "selection run, per batch"),
            (refit, REFIT_COLOR, "--", "refit, per batch"),
        ):
            if len(rows):
                ax.plot(rows["epoch"], rows["lr"], ls=style, lw=1.2, color=color, label=label)
    else:
        select, refit = _phases(history)
        _phase_lines(ax, select, refit, "lr", ("selection run", "refit"))
    line = _mark_best(ax, selected_epoch(metrics))
    if line is not None:
        line.set_label(f"best epoch {selected_epoch(metrics)}")
    _integer_epochs(ax)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    xlabel = "epochs trained (batch by batch)" if per_batch else "epoch"
    ax.set(xlabel=xlabel, ylabel="learning rate", title=_title(metrics, "learning rate"))
    ax.grid(alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2, fontsize=9)
    return figure


def metrics_figure(metrics: dict[str, Any]) -> Figure:
    """Validation next to test for every metric, as grouped horizontal bars with values.

    Metrics equal on both sets (hr@10 and recall@10 under leave-one-out) share one pair of
    bars, labelled ``hr@10 = recall@10``. auc (0.5 = chance) gets its own panel and scale,
    so that it does not flatten the ranking metrics. The title names the protocol.
    """
    valid, test = metrics.get("valid") or {}, metrics.get("test") or {}
    names = [*test, *(n for n in valid if n not in test)]
    table = pd.DataFrame(
        {n: [valid.get(n, np.nan), test.get(n, np.nan)] for n in names}, index=["valid", "test"]
    )
    groups = identical_groups(table, names)
    panels = [[g for g in groups if g[0] != "auc"], [g for g in groups if g[0] == "auc"]]
    panels = [panel for panel in panels if panel] or [[]]
    sizes = [max(len(panel), 1) for panel in panels]
    figure = new_figure(figsize=(8, 1.5 + 0.62 * sum(sizes)), layout="constrained")
    axes = figure.subplots(len(panels), 1, height_ratios=sizes, squeeze=False)[:, 0]
    height = 0.38
    for ax, panel in zip(axes, panels):
        y = np.arange(len(panel))[::-1].astype(np.float64)  # first metric at the top
        columns = [g[0] for g in panel]
        top = float(np.nanmax(table[columns].to_numpy(dtype=np.float64), initial=0.0)) or 1.0
        for offset, row, color, label in (
            (height / 2, "valid", SELECT_COLOR, "validation (selected the model)"),
            (-height / 2, "test", REFIT_COLOR, "test (computed once, after selection)"),
        ):
            values = table.loc[row, columns].to_numpy(dtype=np.float64)
            shown = ~np.isnan(values)
            ax.barh(y[shown] + offset, values[shown], height, color=color, label=label)
            for yy, value in zip(y[shown], values[shown]):
                ax.text(value + top * 0.01, yy + offset, f"{value:.4f}", va="center", fontsize=8)
        ax.set_yticks(y, [group_label(g, "") for g in panel])
        ax.set_ylim(-0.6, len(panel) - 0.4)
        ax.set_xlim(0, top * 1.18)
        ax.grid(axis="x", alpha=0.3)
    protocol = metrics.get("protocol", "?")
    axes[0].set_title(_title(metrics, f"validation vs test, {protocol} protocol"))
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    return figure


def write_plots(
    run_dir: Path,
    history: pd.DataFrame,
    metrics: dict[str, Any],
    trace: pd.DataFrame | None = None,
) -> list[Path]:
    """Writes the run's pictures into ``run_dir / "plots"``.

    Args:
        run_dir: the run folder.
        history: the whole history frame (both phases, as in history.csv).
        metrics: metrics.json's dict.
        trace: the per-batch learning rates (lr.csv), for schedules stepped per batch.

    Returns:
        the paths written: ``learning_curve.png`` and ``learning_rate.png`` for
        gradient-trained models, and ``metrics.png`` (validation vs test) for every run.
    """
    folder = run_dir / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    builders = {
        "learning_curve": lambda: learning_curve_figure(history, metrics),
        "learning_rate": lambda: learning_rate_figure(history, metrics, trace),
        "metrics": lambda: metrics_figure(metrics),
    }
    written = []
    for name, build in builders.items():
        figure = build()
        if figure is not None:
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=100)
            written.append(path)
    return written
