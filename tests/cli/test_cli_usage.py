"""What a new user trips over on the command line: usage errors, options, messages,
run folders, logs and files. A subprocess per command, as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib

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


# --------------------------------------------------------------------------- 4. evaluate


def test_evaluate_scores_validation_with_the_train_only_model(gmf_run, tmp_path):
    """Regression: the refit model (trained on train + validation) was scored on
    validation and shown as a held-out figure."""
    out, _ = gmf_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["refit"]
    result = ncf("evaluate", str(out), "--json")
    printed = json.loads(result.stdout)
    for name, value in saved["valid"].items():
        assert printed["valid"][name] == pytest.approx(value, abs=1e-9), name
    assert printed["test"]["ndcg@10"] == pytest.approx(saved["test"]["ndcg@10"], abs=1e-9)


def test_evaluate_a_closed_form_run_refits_on_train_for_validation(tmp_path):
    out = tmp_path / "ease"
    args = ["--model", "ease", "--data", "synthetic", "--set", "l2=50", "--out", str(out)]
    assert ncf("train", *args).returncode == 0
    saved = json.loads((out / "metrics.json").read_text())
    printed = json.loads(ncf("evaluate", str(out), "--json").stdout)
    assert printed["valid"]["ndcg@10"] == pytest.approx(saved["valid"]["ndcg@10"], abs=1e-9)


def test_evaluate_prints_a_table_or_json_and_writes_per_user_metrics(gmf_run, tmp_path):
    out, _ = gmf_run
    table = ncf("evaluate", str(out))
    assert table.returncode == 0 and "ndcg@10" in table.stdout and "{" not in table.stdout
    path = tmp_path / "per-user.parquet"
    result = ncf("evaluate", str(out), "--json", "--per-user", str(path))
    printed = json.loads(result.stdout)
    frame = pd.read_parquet(path)
    saved = json.loads((out / "metrics.json").read_text())
    assert set(frame["part"]) == {"valid", "test"}
    test = frame[frame["part"] == "test"]
    assert len(test) == saved["n_test"]  # leave-one-out: one query per test user
    assert test["ndcg@10"].mean() == pytest.approx(printed["test"]["ndcg@10"])


# --------------------------------------------------------------------------- 5. edge values


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "epochs must be a positive integer, got 0"),
        (["--batch-size", "-5"], "batch_size must be a positive integer, got -5"),
        (["--lr", "0"], "lr must be a finite number > 0, got 0.0"),
        (["--threads", "-1"], "threads must be >= 1"),
        (["--seed", "-1"], "seed must be a whole number in [0, 2**32)"),
        (["--set", "gamma=0"], "gamma must be in (0, 1]"),
    ],
)
def test_bad_training_values(args, message):
    result = ncf("train", "--data", "synthetic", *args)
    assert message in one_error_line(result)


@pytest.mark.parametrize("k", ["0", "-1"])
def test_k_must_be_positive(gmf_run, k):
    out, _ = gmf_run
    assert "--k must be a positive" in one_error_line(
        ncf("recommend", str(out), "--user", "1", "--k", k)
    )
    assert "--k must be a positive" in one_error_line(
        ncf("similar", str(out), "--item", "1", "--k", k)
    )


# --------------------------------------------------------------------------- 10, 11: messages


def test_print_config_without_data_and_the_model_list():
    result = ncf("train", "--model", "neumf", "--print-config")
    assert result.returncode == 0, result.stderr
    config = tomllib.loads(result.stdout)
    assert config["model"] == "neumf" and config["data"] == ""
    assert config["model_args"]["layers"] and config["train"]["epochs"] >= 1
    result = ncf("models")
    from ncf.models import MODELS

    assert result.returncode == 0
    for name in MODELS:
        assert re.search(rf"│ {re.escape(name)}\b", result.stdout), name
    assert "closed form" in result.stdout and "BPR" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "/no/run"],
        ["recommend", "/no/run", "--user", "1"],
        ["similar", "/no/run", "--item", "1"],
        ["report", "/no/run"],
    ],
)
def test_a_missing_run_folder_says_no_such_folder(args):
    assert one_error_line(ncf(*args)) == "error: /no/run: no such folder"


def test_unknown_ids_name_their_kind_and_a_users_file_skips_them(gmf_run, tmp_path):
    out, _ = gmf_run
    assert "unknown user id 'nobody'" in one_error_line(
        ncf("recommend", str(out), "--user", "nobody")
    )
    assert "unknown item id 'nothing'" in one_error_line(
        ncf("similar", str(out), "--item", "nothing")
    )
    users = tmp_path / "users.txt"
    users.write_text("user\n1\nnobody\n2\n")  # a header line is not an id
    result = ncf("recommend", str(out), "--users", str(users), "--k", "3")
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unknown user id(s) of 3" in result.stderr and "'nobody'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout.count("\n") == 1 + 6  # header + 2 users x 3 items


def test_recommend_for_a_new_user_names_its_path(gmf_run, tmp_path):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--items", "1,2,3", "--k", "4")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "new user, 3 item(s): scored by least squares"
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["rank", "item"] and len(lines) == 1 + 4
    assert not {line.split()[1] for line in lines[1:]} & {"1", "2", "3"}
    empty = ncf("recommend", str(out), "--items", "", "--k", "2")
    assert "scored by popularity" in empty.stderr and len(empty.stdout.strip().splitlines()) == 3
    assert "unknown item id 'nothing'" in one_error_line(
        ncf("recommend", str(out), "--items", "1,nothing")
    )
    both = ncf("recommend", str(out), "--items", "1", "--user", "1")
    assert one_error_line(both) == "error: give exactly one of --user, --users and --items"


def test_a_warning_is_one_clean_line(tmp_path):
    result = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        "synthetic",
        "--split",
        "user-time-ratio",
        "--out",
        str(tmp_path / "r"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "warning: a per-user chronological split leaks the future across users; "
        "prefer 'time' for a leak-free chronological split"
    ]
