"""The notebooks of examples/notebooks/: committed without outputs, and each run top to
bottom in a fresh kernel (nbclient), its last cell asserting its headline figures.

The runs read the shared MovieLens data; ``NCF_NOTEBOOK_QUICK=1`` (set here unless
``NCF_NOTEBOOK_FULL=1``) gives each notebook its shorter schedules. With
``NCF_NOTEBOOKS_EXECUTED=DIR`` the executed copies are written to DIR, where the
documentation build (docs/hooks.py) renders them from.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
SYSTEMS = {f"S{n}" for n in range(1, 13)}


def test_at_least_six_notebooks_cover_every_system() -> None:
    assert len(NOTEBOOKS) >= 6
    named = set()
    for path in NOTEBOOKS:
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.cell_type == "markdown", path.name
        named |= set(re.findall(r"\*\*(S\d+)\*\*", first.source))
        assert "By hand" in first.source and "NCF_NOTEBOOK_QUICK" in first.source, path.name
    assert named == SYSTEMS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: clear the outputs before committing (a cell has outputs)"
            )
    last = notebook.cells[-1]
    assert last.cell_type == "code" and "assert " in last.source, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbclient = pytest.importorskip("nbclient")
    if os.environ.get("NCF_NOTEBOOK_FULL") != "1":
        monkeypatch.setenv("NCF_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data.resolve()))  # the kernel runs elsewhere
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    print(f"{path.name}: {time.perf_counter() - started:.1f} s")
    assert all(
        output.get("output_type") != "error"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    if executed := os.environ.get("NCF_NOTEBOOKS_EXECUTED"):
        folder = Path(executed)
        folder = folder if folder.is_absolute() else ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / path.name)
