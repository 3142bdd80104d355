"""Reports: beyond-accuracy numbers by hand, and the HTML page rendered by a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest

from ncf.pipeline import resolve_config, train_run
from ncf.report import pca_2d, recommendation_stats, write_report


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


def find_chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_report_renders_in_headless_chromium(runs, tmp_path):
    browser = find_chromium()
    if browser is None:
        if os.environ.get("NCF_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (NCF_REQUIRE_CHROMIUM is set) but not found")
        pytest.skip("chromium not installed")
    out = tmp_path / "report.html"
    write_report(runs, out)
    flags = [
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
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert re.search(r'data-images-loaded="6/6"', dom), dom[-500:]
    assert '<p class="broken">' not in dom
    assert "valid (full)" in dom and "test (full)" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, "--window-size=1200,1600", f"--screenshot={shot}", out.as_uri()],
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1200)
    assert pixels[..., :3].std() > 0.05  # text, tables and charts, not a blank page
