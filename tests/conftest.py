from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ncf.data.interactions import Interactions, Vocabulary

ROOT = Path(__file__).resolve().parents[1]


def find_chromium() -> str:
    """The system's Chromium; skips (fails where NCF_REQUIRE_CHROMIUM is set) without it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("NCF_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required (NCF_REQUIRE_CHROMIUM is set) but not found")
        pytest.skip("chromium not installed")
    return browser


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's) driven by Playwright, one per test module."""
    executable = find_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the shared real data is ``slow``: ``pytest -m "not slow"`` is the
    fast lane, without it."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def data_dir() -> Path:
    return Path(os.environ.get("NCF_DATA_DIR", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = data_dir()
    if not (folder / "ml-100k" / "u.data").exists():
        pytest.skip(f"shared MovieLens data not found under {folder}; set NCF_DATA_DIR")
    return folder


def make_interactions(
    users, items, n_users=None, n_items=None, times=None, ratings=None
) -> Interactions:
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    n_users = n_users or int(users.max()) + 1
    n_items = n_items or int(items.max()) + 1
    return Interactions(
        users,
        items,
        Vocabulary.identity(n_users),
        Vocabulary.identity(n_items),
        ratings=None if ratings is None else np.asarray(ratings, np.float32),
        times=None if times is None else np.asarray(times, np.int64),
    )


def checkerboard(n_users: int = 40, n_items: int = 40):
    """Users like the items of their own parity (a rank-2 matrix); returns the liked pairs."""
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    liked = (users % 2) == (items % 2)
    return make_interactions(users[liked], items[liked], n_users, n_items)


def rated_checkerboard(n_users: int = 40, n_items: int = 40):
    """Every pair rated: 5 for items of the user's parity, 1 for the others."""
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    ratings = np.where((users % 2) == (items % 2), 5.0, 1.0)
    return make_interactions(
        users.ravel(), items.ravel(), n_users, n_items, ratings=ratings.ravel()
    )
