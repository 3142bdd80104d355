"""What a new user trips over on the command line, continued: evaluating a run again,
edge values, and the messages of listings, missing folders, unknown ids and warnings. A
subprocess per command, as a user runs it."""

from __future__ import annotations

import json
import re
import tomllib

import pandas as pd
import pytest

from tests.cli.test_cli import ncf
from tests.cli.test_cli_usage import one_error_line

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
