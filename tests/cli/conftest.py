"""A small GMF run on the synthetic data, trained once for the command-line tests (once
per process under pytest -n)."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import ncf

#: a short schedule for the command-line tests that train
QUICK = ["--epochs", "3", "--batch-size", "1024", "--factors", "8", "--no-progress"]


@pytest.fixture(scope="session")
def gmf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gmf") / "run"
    result = ncf("train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    return out, result
