"""The notebooks as committed: at least six, covering S1-S12, without outputs, each
ending in a cell that asserts its headline figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.notebooks.common import NOTEBOOKS, nbformat

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
