"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

- ``docs/`` goes on ``sys.path``, so that mkdocs-click imports `ncf_click` (the typer
  app as a click command) for the command-line reference.
- The notebooks of ``examples/notebooks/`` become pages under ``notebooks/``: the executed
  copy from ``$NCF_NOTEBOOKS_EXECUTED`` (default ``build/notebooks``) where there is one,
  else the committed notebook, with a note that its outputs appear once it has run.
  Whichever of them exist are added, after ``notebooks/index.md`` in the nav.
- The example files (``examples/*.toml``, ``*.sh``) are copied into the site, and links
  from a page to ``examples/...`` or ``benchmarks/RESULTS.md`` (written relative to the
  page's file, so that they work on GitHub too) are pointed at the site's copies.
- Notebook pages lose the scripts nbconvert loads from a CDN (MathJax, mermaid, widgets),
  and the theme's scripts their fallbacks from one (a ResizeObserver polyfill, mermaid,
  neither used here) become empty inline scripts: the site loads nothing from outside.
"""

from __future__ import annotations

import html
import json
import os
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation, Section, _add_previous_and_next_links, _get_by_type
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "examples" / "notebooks"
EXAMPLES = ROOT / "examples"

#: the notebooks, in order: file stem -> (title in the nav, the systems it covers, what)
NOTEBOOK_PAGES = {
    "01-ncf-family": (
        "NCF family",
        "S2, S4, S8",
        "GMF, MLP, NeuMF, ItemPop, EASE and iALS, compared",
    ),
    "02-rating-prediction": (
        "Rating prediction",
        "S5, S6, S9, S11",
        "explicit MF, deep nets and the autoencoder on ratings",
    ),
    "03-book-recommender": ("Book recommender", "S12", "MF, NCF and a hybrid on book ratings"),
    "04-collie-metadata": (
        "Item metadata (Collie)",
        "S7",
        "MF with biases, partial credit and the hybrid",
    ),
    "05-graph": ("Graph models", "S10", "NGCF, LightGCN and GF-CF on train.txt / test.txt"),
    "06-sequences": ("Sequence models", "S1", "MPM and SASRec on ordered histories"),
    "07-scale-and-serving": (
        "Scale and serving",
        "S3",
        "a large log, batch recommendations, the service",
    ),
}

#: hosts of content delivery networks: nothing in the site may load from them
CDN = ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg", "cdnjs")

_CDN_URL = re.compile(
    r"https?://(?:fonts\.googleapis\.com|fonts\.gstatic\.com|cdn\.jsdelivr\.net|unpkg\.com"
    r"|cdnjs\.cloudflare\.com)/[^\"'`\s)]*"
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_LINK = re.compile(r"(?<!\!)\[([^\]]*)\]\(([^)\s]+)\)")
_PLACEHOLDER = "<!-- notebooks -->"

#: notebook pages added this build: src_uri -> (stem, executed)
_added: dict[str, tuple[str, bool]] = {}


def executed_dir() -> Path:
    """Where the executed copies are (``$NCF_NOTEBOOKS_EXECUTED``, relative to the repo)."""
    folder = Path(os.environ.get("NCF_NOTEBOOKS_EXECUTED", "build/notebooks"))
    return folder if folder.is_absolute() else ROOT / folder


def has_outputs(path: Path) -> bool:
    """Whether any code cell of the notebook at ``path`` has an output."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return False
    return any(cell.get("outputs") for cell in cells if cell.get("cell_type") == "code")


def on_config(config: Any) -> Any:
    if str(DOCS) not in sys.path:
        sys.path.insert(0, str(DOCS))
    return config


def on_files(files: Files, config: Any) -> Files:
    from mkdocs_jupyter.plugin import NotebookFile

    _added.clear()
    for stem in notebook_stems():
        executed = executed_dir() / f"{stem}.ipynb"
        source = executed if executed.exists() else NOTEBOOKS / f"{stem}.ipynb"
        file = File(
            f"notebooks/{stem}.ipynb",
            src_dir=None,
            dest_dir=config["site_dir"],
            use_directory_urls=config["use_directory_urls"],
        )
        file.abs_src_path = str(source)
        page_file = NotebookFile(file, **config)
        page_file.abs_src_path = file.abs_src_path  # a cached property: not forwarded
        files.append(page_file)
        _added[file.src_uri] = (stem, has_outputs(source))
    for path in sorted(EXAMPLES.glob("*")):
        if path.is_file() and path.suffix in {".toml", ".sh", ".py"}:
            file = File(
                f"examples/{path.name}",
                src_dir=None,
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
                inclusion=InclusionLevel.NOT_IN_NAV,
            )
            file.abs_src_path = str(path)
            files.append(file)
    return files


def notebook_stems() -> list[str]:
    """The notebooks that exist, those of `NOTEBOOK_PAGES` first, in its order."""
    found = {path.stem for path in NOTEBOOKS.glob("*.ipynb")}
    found |= {path.stem for path in executed_dir().glob("*.ipynb")} & set(NOTEBOOK_PAGES)
    return [s for s in NOTEBOOK_PAGES if s in found] + sorted(found - set(NOTEBOOK_PAGES))


def on_nav(nav: Navigation, config: Any, files: Files) -> Navigation:
    section = next(
        (item for item in nav.items if isinstance(item, Section) and item.title == "Notebooks"),
        None,
    )
    if section is None or not _added:
        return nav
    for uri, (stem, _) in _added.items():
        page = files.get_file_from_path(uri).page
        title = NOTEBOOK_PAGES.get(stem, (stem,))[0]
        page.title = f"{stem[:2]} · {title}" if stem in NOTEBOOK_PAGES else title
        page.parent = section
        section.children.append(page)
    nav.pages = _get_by_type(nav.items, Page)
    _add_previous_and_next_links(nav.pages)
    return nav


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    if page.file.src_uri in _added:
        return markdown  # a notebook: mkdocs-jupyter renders it from the file
    if _PLACEHOLDER in markdown:
        markdown = markdown.replace(_PLACEHOLDER, notebook_table(page))
    if page.file.src_uri == "recipes.md":
        markdown = markdown.replace("<!-- example-files -->", example_files())
    here = posixpath.dirname(page.file.src_uri)
    return _LINK.sub(lambda m: relink(m, here), markdown)


def relink(match: re.Match[str], here: str) -> str:
    """A link to a repository file outside docs/, pointed at the site's page or copy."""
    text, target = match.groups()
    path, _, anchor = target.partition("#")
    if "://" in path or not path.startswith("../"):
        return match.group(0)
    in_repo = posixpath.normpath(posixpath.join("docs", here, path))
    if in_repo.startswith("examples/notebooks/") and in_repo.endswith(".ipynb"):
        site = posixpath.join("notebooks", posixpath.basename(in_repo))
        if site not in _added:
            site = "notebooks/index.md"
    elif in_repo.startswith("examples/") and (ROOT / in_repo).is_file():
        site = in_repo
    elif in_repo == "benchmarks/RESULTS.md":
        site = "benchmarks.md"
    elif in_repo == "README.md":
        site = "index.md"
    else:
        return match.group(0)
    new = posixpath.relpath(site, here or ".") + (f"#{anchor}" if anchor else "")
    return f"[{text}]({new})"


def notebook_table(page: Page) -> str:
    """The notebooks as a table: a link to each one built, its systems, what it shows."""
    here = posixpath.dirname(page.file.src_uri)
    rows = ["| notebook | systems | what | outputs |", "|---|---|---|---|"]
    for stem, (title, systems, what) in NOTEBOOK_PAGES.items():
        uri = f"notebooks/{stem}.ipynb"
        if uri in _added:
            link = f"[`{stem}`]({posixpath.relpath(uri, here or '.')})"
            outputs = "executed" if _added[uri][1] else "not run yet"
        else:
            link, outputs = f"`{stem}` (not written yet)", "-"
        rows.append(f"| {link} | {systems} | {title}: {what} | {outputs} |")
    return "\n".join(rows)


def example_files() -> str:
    """Every example file, folded, with its contents (so the recipes show what they run)."""
    blocks = []
    for path in sorted(EXAMPLES.glob("*"), key=natural):
        if not path.is_file() or path.suffix not in {".toml", ".sh"}:
            continue
        language = "toml" if path.suffix == ".toml" else "bash"
        body = path.read_text(encoding="utf-8").rstrip("\n")
        fence = "````" if "```" in body else "```"
        indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
        blocks.append(
            f'??? example "examples/{path.name}"\n\n'
            f"    [{path.name}](examples/{path.name})\n\n"
            f"    {fence}{language}\n{indented}\n    {fence}\n"
        )
    return "\n".join(blocks)


def natural(path: Path) -> list[Any]:
    """S2 before S10: the numbers in a name compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def on_page_content(content: str, page: Page, config: Any, files: Files) -> str:
    uri = page.file.src_uri
    if uri not in _added:
        return content
    content = _MATHJAX.sub("", content)
    content = _SCRIPT.sub(
        lambda m: "" if any(h in m.group(0) for h in CDN) else m.group(0), content
    )
    if not _added[uri][1]:
        source = html.escape(f"examples/notebooks/{posixpath.basename(uri)}")
        content = (
            '<div class="admonition note"><p class="admonition-title">Not run yet</p>'
            f"<p>This page shows <code>{source}</code> as committed, without outputs. "
            "Its outputs appear when the site is built after running it: "
            f"<code>jupyter nbconvert --to notebook --execute {source} --output-dir "
            "build/notebooks</code> (all of them: <code>NCF_NOTEBOOKS_EXECUTED=build/notebooks "
            "python -m pytest tests/notebooks</code>), then "
            "<code>mkdocs build --strict</code>.</p></div>\n"
        ) + content
    return content


def on_page_context(context: dict[str, Any], page: Page, config: Any, nav: Navigation) -> dict:
    """A notebook page gives the left navigation's room to its code and tables (the tabs
    and the notebooks index still lead to the others)."""
    if page.file.src_uri in _added:
        page.meta["hide"] = [*page.meta.get("hide", []), "navigation"]
    return context


def on_post_build(config: Any) -> None:
    """The theme's own scripts fetch fallbacks from a CDN when needed: point them at an
    empty inline script instead."""
    for path in Path(config["site_dir"]).rglob("*"):
        if path.suffix not in {".js", ".css", ".map"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        fixed = _CDN_URL.sub("data:text/javascript,", text)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
