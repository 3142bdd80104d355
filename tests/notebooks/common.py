"""What the notebooks' tests share: the notebooks of examples/notebooks/, and running one
top to bottom in a fresh kernel (nbclient), its last cell asserting its headline figures.

The runs read the shared MovieLens data; ``NCF_NOTEBOOK_QUICK=1`` (set here unless
``NCF_NOTEBOOK_FULL=1``) gives each notebook its shorter schedules. With
``NCF_NOTEBOOKS_EXECUTED=DIR`` the executed copies are written to DIR, where the
documentation build (docs/hooks.py) renders them from. The runs are spread over two
modules (``test_run_*.py``) so that both cores share them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def run_notebook(
    path: Path, shared_data: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs the notebook at ``path`` in a fresh kernel working in ``folder``; raises
    nbclient's CellExecutionError, with the failing cell, on any error."""
    nbclient = pytest.importorskip("nbclient")
    if os.environ.get("NCF_NOTEBOOK_FULL") != "1":
        monkeypatch.setenv("NCF_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data.resolve()))  # the kernel runs elsewhere
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}
    )
    started = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - started:.1f} s")
    assert all(
        output.get("output_type") != "error"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    if executed := os.environ.get("NCF_NOTEBOOKS_EXECUTED"):
        written = Path(executed)
        written = written if written.is_absolute() else ROOT / written
        written.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, written / path.name)
