"""The documentation site: ``mkdocs build --strict`` passes offline, nothing in it comes
from a CDN, the API and command-line references are generated, the README stays a front
page, and the built site works in headless Chromium (search, an API page, a notebook).

Screenshots go to ``$NCF_DOCS_SHOTS`` when it is set (else the test's temporary folder).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest

pytest.importorskip("mkdocs")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CDN = ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg", "cdnjs")


class Built(NamedTuple):
    folder: Path
    returncode: int
    log: str
    seconds: float


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("site")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return Built(
        folder, result.returncode, result.stdout + result.stderr, time.monotonic() - started
    )


@pytest.fixture(scope="module")
def built(site: Built) -> Path:
    if site.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{site.log[-3000:]}")
    return site.folder


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_the_strict_build_passes(site: Built) -> None:
    assert site.returncode == 0, site.log[-3000:]
    assert (site.folder / "index.html").exists()


def test_nothing_comes_from_a_cdn(built: Path) -> None:
    files = [p for p in built.rglob("*") if p.suffix in {".html", ".js", ".css"}]
    assert len(files) > 20
    found = {
        str(p.relative_to(built)): [host for host in CDN if host in p.read_text(encoding="utf-8")]
        for p in files
    }
    assert not {name: hosts for name, hosts in found.items() if hosts}


def test_the_api_reference_documents_fit_and_compare(built: Path) -> None:
    page = (built / "api" / "fit" / "index.html").read_text(encoding="utf-8")
    for anchor in ("ncf.fit", "ncf.compare", "ncf.Run"):
        assert f'id="{anchor}"' in page, anchor
    # a signature and the documented arguments, from the docstrings
    assert "model: str" in html.unescape(re.sub(r"<[^>]+>", "", page))
    assert 'id="ncf.Recommender"' in (built / "api" / "recommender" / "index.html").read_text()
    models = (built / "api" / "models" / "index.html").read_text(encoding="utf-8")
    for anchor in ("ncf.MODELS", "ncf.models.gmf.GMF", "ncf.models.ials.IALS"):
        assert f'id="{anchor}"' in models, anchor


def test_the_cli_reference_shows_nproc_under_train(built: Path) -> None:
    page = (built / "cli" / "index.html").read_text(encoding="utf-8")
    start = page.index('id="ncf-train"')
    following = re.search(r'<h[1-4] id="ncf-', page[start + 10 :])
    train = page[start : start + 10 + following.start()] if following else page[start:]
    assert "--nproc" in train
    assert "--model" in train and "--data" in train


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    assert "mkdocs serve" in readme
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).exists(), target


# ---------------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def server(built: Path):
    handler = functools.partial(_QuietHandler, directory=str(built))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NCF_DOCS_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server):
    """A page that records script errors and every request that leaves the site."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.errors = []
    tab.outside = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((server, "data:", "blob:"))
            else tab.outside.append(request.url)
        ),
    )
    yield tab
    tab.close()


def test_the_home_page_searches(page, server: str, shots: Path) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("h1:has-text('ncf')")
    page.screenshot(path=str(shots / "home.png"), full_page=True)
    page.click("input.md-search__input")
    page.keyboard.type("fold-in", delay=30)  # keystrokes: the search box listens to keys
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=20_000)
    assert results.count() > 0
    assert "fold-in" in page.inner_text(".md-search-result").lower()
    page.screenshot(path=str(shots / "search.png"))
    assert not page.errors and not page.outside


def test_a_user_guide_page(page, server: str, shots: Path) -> None:
    page.goto(f"{server}/guide/models/graph/")
    page.wait_for_selector("h1:has-text('Graph models')")
    table = page.locator("article table").first
    assert table.is_visible() and table.locator("tr").count() > 3
    page.screenshot(path=str(shots / "guide-graph.png"), full_page=True)
    assert not page.errors and not page.outside


def test_the_api_page_of_fit_renders_its_signature(page, server: str, shots: Path) -> None:
    page.goto(f"{server}/api/fit/")
    heading = page.locator("[id='ncf.fit']")
    heading.wait_for()
    signature = page.locator(".doc-signature").first.inner_text()
    assert signature.startswith("fit(") and "model: str" in signature and "-> Run" in signature
    page.screenshot(path=str(shots / "api-fit.png"))
    assert not page.errors and not page.outside


def test_a_notebook_page_renders(page, server: str, built: Path, shots: Path) -> None:
    pages = sorted((built / "notebooks").glob("*/index.html"))
    if not pages:
        pytest.skip("no notebook in examples/notebooks yet")
    name = pages[0].parent.name
    page.goto(f"{server}/notebooks/{name}/")
    wrapper = page.locator(".jupyter-wrapper")
    wrapper.wait_for()
    heading = first_heading(ROOT / "examples" / "notebooks" / f"{name}.ipynb")
    if heading:
        page.wait_for_selector(f".jupyter-wrapper :is(h1, h2, h3):has-text({json.dumps(heading)})")
    assert page.locator(".jupyter-wrapper .jp-Cell").count() > 1
    page.screenshot(path=str(shots / f"notebook-{name}.png"))
    assert not page.errors and not page.outside


def first_heading(notebook: Path) -> str | None:
    """The text of the notebook's first markdown heading (the executed copy has it too)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return re.sub(r"[`*_]", "", line.lstrip("#").strip())[:40]
    return None


def test_item_ids_in_examples_mean_what_the_text_says() -> None:
    """The NCF split's files number items 0..n-1: an example on such a run must not pass
    MovieLens ids (1193 is One Flew Over the Cuckoo's Nest in ML-1M, item 1192 or
    nothing there)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for line in page.read_text().splitlines():
            if "-ncf" in line and re.search(r"--items? |\.similar\(|recommend_items\(", line):
                raise AssertionError(f"{page.name}: {line.strip()}")
