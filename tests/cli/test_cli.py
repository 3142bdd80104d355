"""The command line, end to end, as a user runs it (a subprocess per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

# the Python whose `ncf` is run: CI points it at a minimal install (`pip install -e .`,
# no extras) to check that the command line works without them
PYTHON = os.environ.get("NCF_TEST_PYTHON", sys.executable)


def ncf(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "ncf.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "run"
    result = ncf("quickstart", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_quickstart_trains_evaluates_and_recommends_offline(quickstart_run):
    out, stdout = quickstart_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "full" and metrics["model"] == "neumf"
    # planted genres: far above popularity on this data (about 0.08 ndcg@10)
    assert metrics["test"]["ndcg@10"] > 0.12
    assert "Top-10 for user" in stdout and "(19" in stdout or "(20" in stdout
    for name in (
        "metrics.json",
        "history.csv",
        "config.toml",
        "bundle/weights.safetensors",
        "bundle/config.json",
        "bundle/items.parquet",
        "plots/learning_curve.png",
    ):
        assert (out / name).exists(), name
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))


def test_recommend_similar_and_evaluate_on_a_run(quickstart_run, tmp_path):
    out, _ = quickstart_run
    result = ncf("recommend", str(out), "--user", "1", "--k", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") >= 6
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n3\n")
    result = ncf(
        "recommend", str(out), "--users", str(users), "--output", str(tmp_path / "r.parquet")
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(tmp_path / "r.parquet")
    assert len(frame) == 30 and frame.groupby("user")["rank"].max().tolist() == [10, 10, 10]
    result = ncf("similar", str(out), "--item", "1", "--k", "3")
    assert result.returncode == 0 and "title" in result.stdout
    assert result.stderr.startswith("items most like item 1 (")  # named, with its title
    result = ncf("evaluate", str(out), "--protocol", "sampled:50", "--k", "5,10", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)  # JSON only, no table
    assert printed["protocol"] == "sampled:50" and "hr@5" in printed["test"]
    assert printed["test"]["hr@10"] >= printed["test"]["hr@5"]


def test_train_resolves_registry_names_through_ncf_data_dir(shared_data, tmp_path):
    result = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        "ml-100k",
        "--out",
        str(tmp_path / "p"),
        "--k",
        "10,20",
        env={"NCF_DATA_DIR": str(shared_data), "NCF_CACHE": str(tmp_path / "c")},
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "p" / "metrics.json").read_text())
    assert metrics["n_users"] == 943 and metrics["protocol"] == "full" and metrics["split"] == "loo"
    assert set(metrics["test"]) >= {
        "hr@10",
        "hr@20",
        "ndcg@20",
        "recall@10",
        "map@10",
        "mrr",
        "auc",
    }


def test_print_config_layers_toml_flags_and_set(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('model = "gmf"\ndata = "synthetic"\n[train]\nepochs = 7\nlr = 0.5\n')
    result = ncf(
        "train", "--config", str(config), "--lr", "0.25", "--set", "dim=12", "--print-config"
    )
    assert result.returncode == 0, result.stderr
    assert 'model = "gmf"' in result.stdout and "epochs = 7" in result.stdout
    assert "lr = 0.25" in result.stdout and "dim = 12" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "nope", "--data", "synthetic"], "unknown model 'nope'"),
        (["train", "--data", "synthetic", "--set", "colour=red"], "unknown setting 'colour'"),
        (["train", "--data", "synthetic", "--set", "optimizer=adamx"], "optimizer must be one of"),
        (["train", "--data", "/no/such/file.csv"], "no such file"),
        (["train", "--data", "synthetic", "--protocol", "sampled:x"], "bad protocol"),
        (["train", "--data", "synthetic", "--split", "halves"], "unknown split 'halves'"),
        (["data", "info", "ml-7m"], "unknown dataset 'ml-7m'"),
        (["recommend", "/no/run", "--user", "1"], "/no/run: no such folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = ncf(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_bad_line_in_a_data_file_is_named(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,rating\n1,2,5\n1,3,five\n")
    result = ncf("data", "info", str(path))
    assert result.returncode == 2
    assert f"{path}, line 3: column 'rating': expected a number, got 'five'" in result.stderr


def test_a_bad_item_features_file_exits_2_naming_file_and_line(tmp_path):
    genres = tmp_path / "genres.csv"
    result = ncf("data", "genres", "synthetic", "--out", str(genres))
    assert result.returncode == 0 and "600 items x 8 genres" in result.stdout, result.stderr
    lines = genres.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",oops"
    genres.write_text("\n".join(lines) + "\n")
    args = ["train", "--model", "gmf", "--data", "synthetic", "--epochs", "1"]
    result = ncf(*args, "--set", f"item_features={genres}", "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert f"{genres}, line 4: expected a number in the vector, got 'oops'" in result.stderr


def test_data_info_and_split(shared_data, tmp_path):
    env = {"NCF_DATA_DIR": str(shared_data)}
    result = ncf("data", "info", "ml-100k", "--threshold", "4", "--min-user", "20", env=env)
    assert result.returncode == 0, result.stderr
    assert "100,000" in result.stdout and "rating < 4" in result.stdout
    assert "MovieLens 100K files (u.data)" in result.stdout
    result = ncf(
        "data", "split", "ml-100k", "--split", "time:0.8,0.9", "--out", str(tmp_path / "s"), env=env
    )
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (tmp_path / "s").iterdir()} >= {
        "train.parquet",
        "valid.parquet",
        "test.parquet",
        "split.json",
    }
    result = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        str(tmp_path / "s"),
        "--out",
        str(tmp_path / "r"),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["split"] == "given"
