"""What a new user trips over on the command line, continued: logs, run files, threads,
outputs, listings, saved splits, batch recommendations, extras, synthetic logs and
tuning. A subprocess per command, as a user runs it."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import tomllib

import pandas as pd
import pytest

from tests.cli.conftest import QUICK
from tests.cli.test_cli import PYTHON, ncf
from tests.cli.test_cli_usage import one_error_line

# --------------------------------------------------------------------------- 8, 12, 13


def test_logs_in_a_pipe_have_one_line_per_epoch_and_no_blank_lines(gmf_run):
    out, result = gmf_run
    best_epoch = json.loads((out / "metrics.json").read_text())["best_epoch"]
    lines = result.stdout.splitlines()
    assert "" not in lines[: lines.index(next(x for x in lines if "┏" in x))]
    epochs = [x for x in lines if re.match(r"(select|refit) epoch \d+/\d+  loss \d\.\d{4}", x)]
    assert len(epochs) == 3 + best_epoch  # selection, then the refit for the chosen epochs
    assert re.search(r"select epoch 1/3  loss \S+  valid ndcg@10 \S+  \d+\.\d s$", epochs[0])


def test_a_run_whose_log_reader_goes_away_finishes(tmp_path):
    # `ncf train ... | head -1`: the reader closes the pipe after the first line
    out = tmp_path / "run"
    args = ["train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK]
    with subprocess.Popen(
        [PYTHON, "-m", "ncf.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout.readline().startswith(b"gmf on synthetic")
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=600) == 0, stderr
    assert "Error" not in stderr and (out / "metrics.json").exists()
    # a listing whose reader stops early ends quietly too (megabytes: more than a pipe holds)
    users = tmp_path / "users.txt"
    users.write_text("\n".join(str(u) for u in range(1, 301)))
    for args in (["recommend", str(out), "--users", str(users), "--k", "500"], ["--help"]):
        with subprocess.Popen(
            [PYTHON, "-m", "ncf.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            process.stdout.readline()
            process.stdout.close()
            assert process.wait(timeout=600) == 0 and not process.stderr.read(), args


def test_drops_are_printed_and_recorded(shared_data, tmp_path):
    env = {"NCF_DATA_DIR": str(shared_data)}
    split = ["--split", "time:0.8,0.9"]
    result = ncf("data", "split", "ml-100k", *split, "--out", str(tmp_path / "s"), env=env)
    assert result.returncode == 0, result.stderr
    printed = dict(
        (m.group(2), int(m.group(1).replace(",", "")))
        for m in re.finditer(r"dropped ([\d,]+) rows: (.+)", result.stdout)
    )
    recorded = json.loads((tmp_path / "s" / "split.json").read_text())["dropped"]
    assert printed == recorded and recorded["test: user or item not in training"] > 0
    out = tmp_path / "r"
    result = ncf(
        "train", "--model", "popularity", "--data", "ml-100k", *split, "--out", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dropped"] == recorded
    for reason, n in recorded.items():
        assert f"dropped {n:,} rows: {reason}" in result.stdout


def test_run_files_permissions_resolved_config_and_plots(gmf_run, tmp_path):
    out, _ = gmf_run
    bundle = out / "bundle"
    assert stat.S_IMODE(bundle.stat().st_mode) & 0o755 == 0o755
    for path in bundle.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o644 == 0o644, path
    config = tomllib.loads((out / "config.toml").read_text())
    resolved = config["resolved"]
    assert resolved["split"] == "loo" and resolved["protocol"] == "full"
    assert resolved["device"] == "cpu" and resolved["threads"] >= 1
    assert (out / "plots" / "learning_curve.png").exists()
    result = ncf(
        "train", "--model", "popularity", "--data", "synthetic", "--out", str(tmp_path / "p")
    )
    assert result.returncode == 0
    assert list((tmp_path / "p" / "plots").glob("*.png"))


def test_threads_option_is_recorded(tmp_path):
    out = tmp_path / "t"
    result = ncf(
        "train", "--model", "popularity", "--data", "synthetic", "--threads", "1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "metrics.json").read_text())["threads"] == 1
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["threads"] == 1 and config["resolved"]["threads"] == 1
    many = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        "synthetic",
        "--threads",
        "512",
        "--out",
        str(tmp_path / "many"),
    )
    assert many.returncode == 0 and "warning: 512 threads on" in many.stderr  # oversubscribed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--factors", "0"], "dim must be a positive integer, got 0"),
        (["--set", "layers=0"], "layers must be a list of positive integers"),
        (["--lr", "nan"], "lr must be a finite number > 0"),
        (["--set", "monitor=ndcg@20"], "add its cut-off to ks"),
        (["--columns", "user:zz"], "--columns applies to table files"),
    ],
)
def test_bad_model_and_data_settings_fail_before_training(args, message, tmp_path):
    out = tmp_path / "never"
    result = ncf("train", "--model", "neumf", "--data", "synthetic", "--out", str(out), *args)
    assert message in one_error_line(result)
    assert not out.exists()  # bad input leaves no folder behind


def test_outputs_into_a_missing_folder_and_unfinished_runs_are_named(gmf_run, tmp_path):
    out, _ = gmf_run
    missing = tmp_path / "no" / "such"
    for args in (
        ["evaluate", str(out), "--per-user", str(missing / "x.parquet")],
        ["recommend", str(out), "--user", "1", "--output", str(missing / "t.csv")],
        ["report", str(out), "--out", str(missing / "r.html")],
    ):
        assert "no such folder" in one_error_line(ncf(*args))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.toml").write_text('model = "gmf"\n')
    assert "an unfinished run" in one_error_line(ncf("recommend", str(unfinished), "--user", "1"))


def test_listings_are_not_wrapped_in_a_pipe(gmf_run):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--user", "1", "--k", "4")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(
        line.split()[0] == "user" or line.split()[0] == "1" for line in lines
    )


def test_data_split_does_not_replace_a_saved_split(tmp_path):
    args = ["data", "split", "synthetic", "--out", str(tmp_path / "s")]
    assert ncf(*args).returncode == 0
    assert "holds a saved split; add --overwrite" in one_error_line(ncf(*args))
    assert ncf(*args, "--overwrite", "--seed", "3").returncode == 0
    assert json.loads((tmp_path / "s" / "split.json").read_text())["seed"] == 3


def installed(module: str) -> bool:
    """Whether the Python that runs `ncf` here has ``module`` (an extra)."""
    return subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


def test_recommend_every_user_to_a_file_with_deny_and_allow_lists(gmf_run, tmp_path):
    out, _ = gmf_run
    result = ncf(
        "recommend", str(out), "--users", "all", "--k", "5", "--output", str(tmp_path / "all.csv")
    )
    assert result.returncode == 0, result.stderr
    every = pd.read_csv(tmp_path / "all.csv")
    n_users = every["user"].nunique()
    assert len(every) == 5 * n_users and every["rank"].max() == 5
    assert f"wrote {len(every):,} rows ({n_users:,} users, top 5, exact)" in result.stdout
    assert list(every.columns[:4]) == ["user", "rank", "item", "score"]
    deny, allow = tmp_path / "deny.txt", tmp_path / "allow.txt"
    top_items = every["item"].value_counts().index[:3].tolist()
    deny.write_text("item\n" + "\n".join(map(str, top_items)) + "\nnot-an-item\n")
    allow.write_text("\n".join(map(str, range(20))) + "\n")
    result = ncf(
        "recommend",
        str(out),
        "--users",
        "all",
        "--k",
        "5",
        "--exclude-items",
        str(deny),
        "--candidates",
        str(allow),
        "--output",
        str(tmp_path / "some.parquet"),
    )
    assert result.returncode == 0, result.stderr
    assert "note: --exclude-items" in result.stderr and "1 of 4 ids unknown" in result.stderr
    some = pd.read_parquet(tmp_path / "some.parquet")
    assert not set(some["item"]) & set(top_items) and set(some["item"]) <= set(range(20))
    # one candidate: the users who have it get no list, and are counted
    only = tmp_path / "only.txt"
    only.write_text(f"{top_items[0]}\n")
    one = tmp_path / "one.csv"
    result = ncf(
        "recommend", str(out), "--users", "all", "--candidates", str(only), "--output", str(one)
    )
    assert result.returncode == 0, result.stderr
    listed = pd.read_csv(one)["user"].nunique()
    assert 0 < listed < n_users
    assert f"({listed:,} users, top 10" in result.stdout
    assert f"note: {n_users - listed:,} users got no recommendation" in result.stderr
    seen = ncf("recommend", str(out), "--user", "1", "--k", "50", "--include-seen")
    unseen = ncf("recommend", str(out), "--user", "1", "--k", "50")
    assert seen.stdout != unseen.stdout


def test_index_and_serve_need_their_extras(gmf_run):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--user", "1", "--index", "hnsw")
    if installed("faiss"):
        assert result.returncode == 0, result.stderr
        assert "exact top-k only" not in result.stderr  # gmf is a dot-product model
    else:
        assert "pip install 'ncf[ann]'" in one_error_line(result)
    if not installed("fastapi"):
        assert "pip install 'ncf[serve]'" in one_error_line(ncf("serve", str(out)))
    assert "no such folder" in one_error_line(ncf("serve", "no/such/run"))
    assert "--port must be between" in one_error_line(ncf("serve", str(out), "--port", "0"))


def test_data_synth_writes_a_log_that_trains(tmp_path):
    log, items = tmp_path / "log.parquet", tmp_path / "items.parquet"
    args = ["data", "synth", "--users", "300", "--items", "200", "--rows", "9000"]
    result = ncf(*args, "--out", str(log), "--item-table", str(items))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "9,000 rows, 300 users" in result.stdout
    assert "exists; add --overwrite" in one_error_line(ncf(*args, "--out", str(log)))
    assert ".parquet file name" in one_error_line(ncf(*args, "--out", str(tmp_path / "x.csv")))
    wrong = ["--out", str(tmp_path / "z.parquet"), "--item-table", str(tmp_path / "z.csv")]
    assert "z.csv: expected a .parquet file name" in one_error_line(ncf(*args, *wrong))
    too_many = ncf(
        "data",
        "synth",
        "--users",
        "10",
        "--items",
        "4",
        "--rows",
        "100",
        "--out",
        str(tmp_path / "y.parquet"),
    )
    assert "more than 10 users can hold" in one_error_line(too_many)
    info = ncf("data", "info", str(log))
    assert info.returncode == 0 and "9,000" in info.stdout


def test_tune_errors_are_one_line(tmp_path):
    out = ["--out", str(tmp_path / "t")]
    if not installed("optuna"):
        result = ncf("tune", "--model", "gmf", "--data", "synthetic", *out)
        assert "pip install 'ncf[tune]'" in one_error_line(result)
        return
    result = ncf("tune", "--model", "popularity", "--data", "synthetic", *out)
    assert "no settings to search; give --space" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "lr=1:0", *out)
    assert "needs LOW < HIGH" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--trials", "0", *out)
    assert "--trials and --jobs must be at least 1" in one_error_line(result)
    assert "--data is required" in one_error_line(ncf("tune", "--model", "gmf", *out))
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "split=loo", *out)
    assert "a study holds split fixed" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "lr=-1:1", *out)
    assert "--space lr=-1.0: lr must be a finite number > 0" in one_error_line(result)
