"""Reports: beyond-accuracy numbers by hand, and the HTML page rendered by a real browser."""

from __future__ import annotations

import json
import re
import subprocess
from itertools import combinations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from ncf.experiment.pipeline import train_run
from ncf.experiment.settings import resolve_config
from ncf.reporting.report import (
    RunReport,
    comparison_plot,
    embedding_map,
    gini,
    lorenz,
    pca_2d,
    place_labels,
    recommendation_stats,
    to_html,
    to_markdown,
    write_report,
)
from ncf.training.logs import new_figure, write_plots
from tests.conftest import find_chromium


def test_recommendation_stats_by_hand():
    popularity = np.array([10.0, 5.0, 3.0, 2.0, 0.0])  # head (top 20%) = item 0
    top = np.array([[0, 1], [0, 2], [0, 1]])  # 3 users, k = 2
    stats = recommendation_stats(top, popularity)
    assert stats["coverage"] == pytest.approx(3 / 5)
    assert stats["head_share"] == pytest.approx(3 / 6)
    assert stats["head_share_data"] == pytest.approx(10 / 20)
    # mean popularity of the 6 slots = (10+5+10+3+10+5)/6 = 43/6, as a share of 3 users
    assert stats["arp"] == pytest.approx(43 / 6 / 3)
    assert stats["catalogue_arp"] == pytest.approx(4 / 3)
    # counts sorted (0, 0, 1, 2, 3): G = sum((2i - n - 1) x_i) / (n sum x)
    #   = (-4*0 - 2*0 + 0*1 + 2*2 + 4*3) / (5 * 6) = 16 / 30
    assert stats["gini"] == pytest.approx(16 / 30)
    even = recommendation_stats(np.array([[0, 1], [2, 3], [4, 0], [1, 2], [3, 4]]), popularity)
    assert even["gini"] == pytest.approx(0.0) and even["coverage"] == 1.0


def test_lorenz_curve_and_gini_by_hand():
    share, held = lorenz(np.array([3, 0, 1, 0]))  # sorted: 0, 0, 1, 3 of 4
    assert share.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert held.tolist() == [0.0, 0.0, 0.0, 0.25, 1.0]
    # G = sum((2i - n - 1) x_i) / (n sum x) = (-3*0 - 1*0 + 1*1 + 3*3) / (4 * 4) = 10 / 16
    assert gini(np.array([3, 0, 1, 0])) == pytest.approx(10 / 16)
    # and G = 1 - 2 * (area under the Lorenz curve)
    area = float(((held[1:] + held[:-1]) / 2 * np.diff(share)).sum())
    assert 1 - 2 * area == pytest.approx(10 / 16)
    assert gini(np.ones(5)) == 0.0 and gini(np.zeros(5)) == 0.0


def test_embedding_labels_do_not_overlap_and_stay_inside_the_axes():
    rng = np.random.default_rng(0)
    # a spread of points and a tight cluster where not every label can fit
    xy = np.vstack([rng.normal(0.0, 1.0, (30, 2)), rng.normal(2.5, 0.03, (12, 2))])
    labels = [f"A fairly long film title {i} (1997)" for i in range(len(xy))]
    fig = new_figure(figsize=(7, 5))
    ax = fig.add_subplot()
    ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5))
    left_out = place_labels(ax, xy, labels)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_gid() == "label"]
    assert len(texts) + len(left_out) == len(xy)
    assert 0 not in left_out and len(texts) >= 15 and left_out  # the cluster loses some
    assert sorted(t.get_text() for t in texts) == sorted(
        label for i, label in enumerate(labels) if i not in left_out
    )
    frame = ax.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in texts]  # label and leader line
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


def test_embedding_map_lists_the_points_it_could_not_label():
    rng = np.random.default_rng(1)
    vectors = np.vstack([rng.normal(0, 1, (20, 4)), rng.normal(4, 0.01, (20, 4))])
    labels = [f"Title number {i} (1995)" for i in range(len(vectors))]
    figure = embedding_map(vectors, labels, "map")
    assert figure.caption.startswith("Not labelled for lack of room")
    listed = figure.caption.split(": ", 1)[1].split("; ")
    assert listed and set(listed) <= set(labels)


def test_pca_finds_the_main_direction():
    rng = np.random.default_rng(0)
    t = rng.normal(size=50)
    points = np.column_stack([t, 2 * t, -t]) + rng.normal(scale=1e-3, size=(50, 3))
    xy = pca_2d(points)
    assert abs(np.corrcoef(xy[:, 0], t)[0, 1]) > 0.999
    assert xy[:, 1].std() < 1e-2 * xy[:, 0].std()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    folders = []
    for model, extra in (("gmf", {"epochs": 3, "dim": 8}), ("popularity", {})):
        config = resolve_config({"model": model, "data": "synthetic", **extra})
        train_run(config, root / model, progress=False)
        folders.append(root / model)
    return folders


def test_markdown_report_has_tables_labels_and_figures(runs, tmp_path):
    out = tmp_path / "report.md"
    reports = write_report(runs, out)
    text = out.read_text()
    assert "| metric | valid (full) | test (full) |" in text
    assert "## Comparison" in text and "| gmf | gmf | synthetic | full |" in text
    assert "popularity has no item embeddings" in text
    images = re.findall(r"\]\((report_files/[^)]+\.png)\)", text)
    # gmf: curves, lr, embeddings, popularity bias; popularity: bias; one comparison chart
    assert len(images) == 6
    assert all((tmp_path / image).stat().st_size > 1000 for image in images)
    gmf = reports[0]
    assert {f.name for f in gmf.figures} == {"curves", "lr", "embeddings", "popularity"}
    assert 0 < gmf.beyond["coverage@10"] <= 1


def test_write_plots_on_real_run_folders(runs, tmp_path):
    gmf, popularity = runs
    for run, expected in (
        (gmf, ["learning_curve.png", "learning_rate.png", "metrics.png"]),
        (popularity, ["metrics.png"]),  # closed form: no curves, still a picture
    ):
        history = pd.read_csv(run / "history.csv")
        metrics = json.loads((run / "metrics.json").read_text())
        written = write_plots(tmp_path / run.name, history, metrics)
        assert [p.name for p in written] == expected
        assert all(p.stat().st_size > 5000 for p in written)


def fake_run(name: str, test: dict[str, float], fit_s: float = 12.345678) -> RunReport:
    metrics = {
        "model": "neumf",
        "data": "/data/movielens/ml-1m/ratings.dat",
        "protocol": "sampled:100",
        "split": "loo",
        "best_epoch": 3,
        "epochs_run": 5,
        "refit": True,
        "n_users": 6040,
        "n_items": 3706,
        "n_train": 988129,
        "n_valid": 6040,
        "n_test": 6040,
        "seed": 0,
        "valid": test,
        "test": test,
        "timing": {"load_s": 1.23456, "fit_s": fit_s, "eval_s": 0.98765, "total_s": 14.56789},
    }
    beyond = {"coverage@10": 0.21, "gini@10": 0.93, "head_share@10": 0.99}
    return RunReport(name, metrics, {}, beyond, [], [])


def six_long_runs() -> list[RunReport]:
    names = [
        "neumf-pretrained-ml-1m_ncf",
        "neumf-scratch-ml-1m_ncf",
        "gmf-dim_64-ml-1m_ncf-protocol",
        "mlp-layers_256_128_64-ml-1m_ncf",
        "bpr-mf-dim_128-ml-1m_sampled",
        "ease-l2_500-ml-1m_full-protocol",
    ]
    runs = []
    for i, name in enumerate(names):
        hr = 0.6 + 0.01 * i
        test = {"hr@10": hr, "ndcg@10": hr / 2, "recall@10": hr, "mrr": hr / 2.2, "auc": 0.9}
        runs.append(fake_run(name, test, fit_s=12.345678 * (i + 1)))
    return runs


def test_times_are_rounded_to_a_tenth_of_a_second(tmp_path):
    runs = six_long_runs()
    page = to_html(runs, None)
    assert "1.2 / 12.3 / 1.0 / 14.6" in page  # load / fit / test / total
    assert "<td>74.1</td>" in page  # fit seconds in the comparison table
    for text in (page, to_markdown(runs, None, tmp_path / "files")):
        assert "12.3456" not in text and "12.346" not in text and "14.5679" not in text


def test_comparison_table_wraps_run_names_only_between_parts():
    page = to_html(six_long_runs(), None)
    assert "neumf-<wbr>pretrained-<wbr>ml-<wbr>1m_<wbr>ncf" in page
    assert ">ml-<wbr>1m/<wbr>ratings.dat<" in page  # the data by name, not its whole path
    assert "movielens" not in page
    # hr@10 and recall@10 are equal for every run: one column, named for both
    assert "<th>test<br>hr@10 =<br>recall@10</th>" in page  # short header lines
    assert "<th>test<br>recall@10</th>" not in page


def chromium_flags(tmp_path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
    ]


def rendered_dom(page, tmp_path, width: int = 1200) -> str:
    """The DOM after the page's script ran, in a window ``width`` pixels wide."""
    flags = [*chromium_flags(tmp_path), f"--window-size={width},1600"]
    done = subprocess.run(
        [find_chromium(), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def test_html_report_renders_in_headless_chromium(runs, tmp_path):
    browser = find_chromium()
    out = tmp_path / "report.html"
    write_report(runs, out)
    dom = rendered_dom(out, tmp_path)
    assert re.search(r'data-images-loaded="6/6"', dom), dom[-500:]
    assert 'data-overflowing="0"' in dom  # no table or image wider than the page
    assert '<p class="broken">' not in dom
    assert "valid (full)" in dom and "test (full)" in dom
    assert re.search(r"<td>\d+\.\d / \d+\.\d / \d+\.\d / \d+\.\d</td>", dom)  # seconds
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            *chromium_flags(tmp_path),
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1200)
    assert pixels[..., :3].std() > 0.05  # text, tables and charts, not a blank page


def test_six_long_named_runs_fit_a_1100_pixel_page(tmp_path):
    runs = six_long_runs()
    out = tmp_path / "report.html"
    out.write_text(to_html(runs, comparison_plot(runs)), encoding="utf-8")
    dom = rendered_dom(out, tmp_path, width=1200)  # the page body is 1100 px wide
    assert 'data-images-loaded="1/1"' in dom
    assert 'data-overflowing="0"' in dom, re.search(r"<body[^>]*>", dom)


def test_user_page_renders_liked_and_recommended_titles_in_chromium(runs, tmp_path):
    from ncf.inference.recommender import load
    from ncf.reporting.user_page import write_user_page

    rec = load(runs[0])
    user = rec.known.user_vocab.ids[3]
    out = write_user_page(runs[0], user, tmp_path / "user.html", k=5)
    dom = rendered_dom(out, tmp_path)
    liked = rec.known.item_ids[rec.known.user_ids == 3]
    recommended = rec.recommend(np.array([user]), k=5)
    assert len(recommended) == 5 and not set(recommended["title"]) & set(
        rec.items["title"].to_numpy()[liked]
    )
    for title in [*rec.items["title"].to_numpy()[liked], *recommended["title"]]:
        assert html_text(title) in dom, title
    # every rating of the synthetic data is kept, low ones too: "rated", not "liked"
    assert f"rated ({len(liked)} items)" in dom and "recommended (top 5)" in dom
    assert "<th>of the rated items</th>" in dom  # the genre shares


def test_user_page_from_the_command_line(runs, tmp_path):
    from ncf.inference.recommender import load

    user = str(load(runs[0]).known.user_vocab.ids[0])
    out = tmp_path / "page.html"
    done = subprocess.run(
        ["ncf", "report", str(runs[0]), "--user", user, "--out", str(out), "--k", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and out.is_file(), done.stderr
    assert "recommended (top 3)" in out.read_text()
    unknown = subprocess.run(
        ["ncf", "report", str(runs[0]), "--user", "no-such-user"], capture_output=True, text=True
    )
    assert unknown.returncode != 0 and "unknown user id 'no-such-user'" in unknown.stderr


def html_text(text: str) -> str:
    import html

    return html.escape(text, quote=False)
