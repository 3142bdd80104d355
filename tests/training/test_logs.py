"""The run's pictures: what a person reads off them, checked on the artists themselves."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from ncf.training.logs import (
    identical_groups,
    learning_curve_figure,
    learning_rate_figure,
    metrics_figure,
    write_plots,
)

METRICS = {
    "model": "gmf",
    "data": "ml-100k",
    "protocol": "full",
    "best_epoch": 2,
    "epochs_run": 3,
    "refit": True,
    "valid": {"hr@10": 0.30, "ndcg@10": 0.15, "recall@10": 0.30, "auc": 0.85},
    "test": {"hr@10": 0.28, "ndcg@10": 0.14, "recall@10": 0.28, "auc": 0.84},
}


def gradient_history() -> pd.DataFrame:
    """Epoch 0 (the untrained model: metrics, no loss), 3 selection epochs, a 2-epoch refit;
    hr@10 equals recall@10 in every epoch, as under leave-one-out."""
    hr = [0.05, 0.20, 0.30, 0.25]
    select = pd.DataFrame(
        {
            "phase": "select",
            "epoch": [0, 1, 2, 3],
            "loss": [np.nan, 0.60, 0.40, 0.35],
            "lr": [np.nan, 1e-3, 5e-4, 1e-4],
            "valid_hr@10": hr,
            "valid_ndcg@10": [h / 2 for h in hr],
            "valid_recall@10": hr,
            "valid_auc": [0.50, 0.80, 0.85, 0.84],
        }
    )
    refit = pd.DataFrame(
        {"phase": "refit", "epoch": [1, 2], "loss": [0.55, 0.37], "lr": [1e-3, 5e-4]}
    )
    return pd.concat([select, refit], ignore_index=True)


def closed_form_history() -> pd.DataFrame:
    return pd.DataFrame([{"epoch": 1, "valid_hr@10": 0.1, "valid_recall@10": 0.1}])


def labelled_lines(figure) -> dict[str, list]:
    lines: dict[str, list] = {}
    for ax in figure.axes:
        for line in ax.get_lines():
            lines.setdefault(line.get_label(), []).append(line)
    return lines


def test_identical_series_are_grouped_numerically():
    frame = pd.DataFrame(
        {
            "hr": [0.1, 0.2, np.nan],
            "ndcg": [0.05, 0.1, np.nan],
            "recall": [0.1, 0.2 + 1e-15, np.nan],  # equal up to rounding, NaN where hr is
            "close": [0.1, 0.2001, np.nan],  # near, but a different series
        }
    )
    assert identical_groups(frame, list(frame)) == [["hr", "recall"], ["ndcg"], ["close"]]


def test_hr_equal_to_recall_is_one_line_labelled_with_both():
    figure = learning_curve_figure(gradient_history(), METRICS)
    lines = labelled_lines(figure)
    assert len(lines["hr@10 = recall@10"]) == 1
    assert "hr@10" not in lines and "recall@10" not in lines
    titles = [ax.get_title() for ax in figure.axes]
    assert sum(t.startswith("validation hr@10 = recall@10") for t in titles) == 1
    assert not any(t.startswith("validation recall@10") for t in titles)


def test_epoch_ticks_are_integers_and_epoch_zero_is_drawn():
    figure = learning_curve_figure(gradient_history(), METRICS)
    figure.canvas.draw()
    for ax in figure.axes:
        left, right = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if left <= t <= right]
        assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks
    hr = labelled_lines(figure)["hr@10 = recall@10"][0]
    assert list(hr.get_xdata()) == [0, 1, 2, 3]  # the untrained model is on the curve
    assert list(hr.get_ydata()) == [0.05, 0.20, 0.30, 0.25]


def test_best_epoch_is_marked_in_every_panel_with_a_star_on_each_metric():
    figure = learning_curve_figure(gradient_history(), METRICS)
    loss_ax, *metric_axes = figure.axes
    assert len(metric_axes) == 3  # hr = recall, ndcg, auc
    for ax in figure.axes:
        marks = [line for line in ax.get_lines() if line.get_gid() == "best-epoch"]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [2, 2]
    for ax, value in zip(metric_axes, [0.30, 0.15, 0.85]):
        (star,) = [line for line in ax.get_lines() if line.get_gid() == "best"]
        assert (star.get_xdata()[0], star.get_ydata()[0]) == (2, pytest.approx(value))
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "best epoch 2 (selected on validation)" in legend


def test_refit_loss_is_its_own_labelled_line():
    figure = learning_curve_figure(gradient_history(), METRICS)
    (refit,) = [line for line in figure.axes[0].get_lines() if "refit" in line.get_label()]
    assert "train + valid" in refit.get_label()
    assert list(refit.get_xdata()) == [1, 2] and list(refit.get_ydata()) == [0.55, 0.37]
    (select,) = [line for line in figure.axes[0].get_lines() if "selection" in line.get_label()]
    assert list(select.get_xdata()) == [1, 2, 3]  # epoch 0 has no loss


def test_legend_covers_no_axes():
    figure = learning_curve_figure(gradient_history(), METRICS)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legend = figure.legends[0].get_window_extent(renderer)
    for ax in figure.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer))


def test_a_schedule_repeated_by_the_refit_is_one_line_a_different_one_two():
    history = gradient_history()
    labels = labelled_lines(learning_rate_figure(history, METRICS))
    assert "selection run; the refit repeats epochs 1-2" in labels
    history.loc[history["phase"] == "refit", "lr"] = [2e-3, 1e-3]
    labels = labelled_lines(learning_rate_figure(history, METRICS))
    assert "selection run" in labels and "refit" in labels


def test_closed_form_history_has_no_curves_but_a_metrics_picture(tmp_path):
    history = closed_form_history()
    assert learning_curve_figure(history, METRICS) is None
    assert learning_rate_figure(history, METRICS) is None
    written = write_plots(tmp_path, history, {**METRICS, "best_epoch": 1})
    assert written == [tmp_path / "plots" / "metrics.png"]
    assert matplotlib.image.imread(written[0]).shape[0] > 100


def test_write_plots_writes_every_picture_of_a_trained_run(tmp_path):
    written = write_plots(tmp_path, gradient_history(), METRICS)
    names = ["learning_curve.png", "learning_rate.png", "metrics.png"]
    assert written == [tmp_path / "plots" / name for name in names]
    for path in written:
        pixels = matplotlib.image.imread(path)
        assert pixels[..., :3].std() > 0.05  # a picture, not a blank canvas


def test_metrics_picture_pairs_valid_with_test_and_names_the_protocol():
    figure = metrics_figure(METRICS)
    labels = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels()]
    assert labels == ["hr@10 = recall@10", "ndcg@10", "auc"]  # auc on its own scale
    assert "full protocol" in figure.axes[0].get_title()
    values = sorted(float(text.get_text()) for ax in figure.axes for text in ax.texts)
    assert values == [0.14, 0.15, 0.28, 0.30, 0.84, 0.85]  # every bar carries its number
