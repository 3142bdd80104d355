"""A small GMF run on the synthetic data, shared by the command-line tests of a module."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import ncf

#: a short schedule for the command-line tests that train
QUICK = ["--epochs", "3", "--batch-size", "1024", "--factors", "8", "--no-progress"]


@pytest.fixture(scope="module")
def gmf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gmf") / "run"
    result = ncf("train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    return out, result
