"""Every other notebook (02, 04, 06) run top to bottom in a fresh kernel; the others are
in the other ``test_run_*`` module, so that both cores share them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks.common import NOTEBOOKS, run_notebook


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS[1::2], ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_notebook(path, shared_data, tmp_path, monkeypatch)
