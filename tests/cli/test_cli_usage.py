"""What a new user trips over on the command line: usage errors, options, columns
and run folders. A subprocess per command, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess

import pandas as pd
import pytest

from tests.cli.conftest import QUICK
from tests.cli.test_cli import PYTHON, ncf


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --------------------------------------------------------------------------- 1. usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--bogus"], "No such option: --bogus"),
        (["trian"], "No such command 'trian'"),
        (["recommend"], "Missing argument"),
        (["recommend", "runs/x", "--k", "ten"], "Invalid value for '--k'"),
        (["data", "split", "ml-100k"], "Missing option '--out'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message):
    assert message in one_error_line(ncf(*args))


BLOCK_CLICK = """
import sys
sys.modules["click"] = None  # `import click` fails, as in an install without it
try:
    import typer
    typer.Typer()
except ImportError:
    sys.exit(99)  # a typer release that needs the click package: nothing to check
from ncf.cli import main
main()
"""


@pytest.mark.parametrize(
    "args", [["train", "--bogus"], ["trian"], ["recommend"], ["similar", "x", "--k", "ten"]]
)
def test_usage_errors_without_the_click_package(args):
    """Regression: cli.py imported click, which only an extra happened to install."""
    result = subprocess.run(
        [PYTHON, "-c", BLOCK_CLICK, *args], capture_output=True, text=True, timeout=120
    )
    if result.returncode == 99:
        pytest.skip("this typer release depends on the click package")
    one_error_line(result)


def test_version_and_help():
    from ncf import __version__

    result = ncf("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ncf {__version__}"
    result = ncf("train", "--help", env={"COLUMNS": "300"})
    assert result.returncode == 0 and "Model name (default neumf)" in result.stdout
    result = ncf()
    assert result.returncode == 0 and "train" in result.stdout and "Usage" in result.stdout


# --------------------------------------------------------------------------- 2. columns


@pytest.fixture(scope="module")
def uid_csv(tmp_path_factory):
    """A table whose columns no reader guesses: uid, iid, stars."""
    path = tmp_path_factory.mktemp("csv") / "ratings.csv"
    users = [u for u in range(30) for _ in range(6)]
    items = [(u * 7 + j) % 40 for u in range(30) for j in range(6)]
    frame = pd.DataFrame({"who": users, "what": items, "stars": 4.0})
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "option",
    [
        ["--set", "columns=user:who,item:what"],
        ["--columns", "user:who,item:what,rating:stars"],
        ["--columns", "user:0,item:1"],
    ],
)
def test_columns_by_name_or_position(uid_csv, tmp_path, option):
    """Regression: `--set columns=user:uid,item:iid` failed with 'list has no split'."""
    out = tmp_path / "run"
    result = ncf(
        "train", "--model", "popularity", "--data", str(uid_csv), "--out", str(out), *option
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_users"] == 30 and metrics["n_items"] == 40


def test_data_info_takes_the_data_options_of_train(uid_csv):
    result = ncf("data", "info", str(uid_csv), "--columns", "user:who,item:what", "--min-user", "7")
    assert "no interactions left" in one_error_line(result)
    result = ncf(
        "data", "info", str(uid_csv), "--set", "columns=user:who,item:what", "--threshold", "4"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"rows kept\s+│\s+180", result.stdout)
    result = ncf("data", "info", str(uid_csv))
    assert "--columns user:COLUMN" in one_error_line(result)
    result = ncf("data", "info", str(uid_csv), "--set", "lr=0.1")
    assert "unknown data setting(s) ['lr']" in one_error_line(result)


# --------------------------------------------------------------------------- 3. run folders


def test_a_finished_run_is_not_overwritten(gmf_run, tmp_path):
    out, _ = gmf_run
    before = (out / "metrics.json").read_bytes()
    result = ncf("train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK)
    assert "holds a finished run; add --overwrite" in one_error_line(result)
    assert (out / "metrics.json").read_bytes() == before
    result = ncf(
        "train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK, "--resume"
    )
    assert "nothing to resume" in one_error_line(result)


def test_overwrite_replaces_and_default_names_are_numbered(tmp_path):
    args = ["train", "--model", "popularity", "--data", "synthetic"]
    for _ in range(2):
        assert ncf(*args, cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "popularity-synthetic",
        "popularity-synthetic-2",
    ]
    run = tmp_path / "runs" / "popularity-synthetic"
    (run / "notes.txt").write_text("mine")
    (run / "checkpoint-select.pt").write_text("stale")
    result = ncf(*args, "--out", str(run), "--overwrite", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "metrics.json").read_text())["seed"] == 5
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files go
    assert not (run / "checkpoint-select.pt").exists()
    # bad input fails before anything is replaced: the finished run stays
    finished = (run / "metrics.json").read_bytes()
    (tmp_path / "bad.csv").write_text("item,studio\n1,A\n1,B\n")
    result = ncf(
        *args, "--out", str(run), "--overwrite", "--set", f"item_table={tmp_path / 'bad.csv'}"
    )
    assert "item id 1 has a second row" in one_error_line(result)
    assert (run / "metrics.json").read_bytes() == finished


def test_resume_without_a_checkpoint_says_so(tmp_path):
    result = ncf("train", "--data", "synthetic", "--out", str(tmp_path / "new"), "--resume")
    assert "no checkpoint to resume from" in one_error_line(result)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "checkpoint-select.pt").write_bytes(b"")
    result = ncf("train", "--data", "synthetic", "--out", str(unfinished))
    assert "holds an unfinished run; add --resume" in one_error_line(result)
