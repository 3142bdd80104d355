"""Same seed, same command -> same numbers and weights; interrupted runs resume to them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

COMMAND = [
    sys.executable,
    "-m",
    "ncf.cli",
    "train",
    "--model",
    "neumf",
    "--data",
    "synthetic",
    "--epochs",
    "6",
    "--batch-size",
    "1024",
    "--factors",
    "16",
    "--set",
    "layers=[32,16,8]",
    "--set",
    "dropout=0.1",
    "--no-progress",
]


def train(out, *extra, **popen):
    return subprocess.Popen(
        [*COMMAND, "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(out) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("timing")  # wall-clock seconds: the one part that may differ
    history = pd.read_csv(out / "history.csv")
    numbers = history[["phase", "epoch", "loss", "lr"] + [c for c in history if "valid_" in c]]
    weights = (out / "bundle" / "weights.safetensors").read_bytes()
    history = numbers.fillna(-1.0).to_dict("list")  # refit rows have no validation
    return {"metrics": metrics, "history": history, "weights": weights}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    process = train(out)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return finished(out)


def test_the_same_command_twice_gives_identical_metrics_and_weights(reference, tmp_path):
    process = train(tmp_path)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    again = finished(tmp_path)
    assert again["metrics"] == reference["metrics"]
    assert again["history"] == reference["history"]
    assert again["weights"] == reference["weights"]  # byte for byte
    assert reference["metrics"]["test"]["ndcg@10"] > 0.1


@pytest.mark.parametrize(
    ("signum", "draw"), [(signal.SIGINT, 0), (signal.SIGTERM, 1), (signal.SIGKILL, 2)]
)
def test_a_run_stopped_at_a_random_moment_resumes_to_the_same_result(
    reference, tmp_path, signum, draw
):
    process = train(tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "checkpoint-select.pt").exists():  # one epoch done: training
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(np.random.default_rng(draw).uniform(0.0, 1.5))
    os.kill(process.pid, signum)
    _, err = process.communicate(timeout=120)
    if signum == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 128 + signum, err
        assert "checkpoint saved" in err and "--resume" in err
    assert not (tmp_path / "metrics.json").exists()

    resumed = train(tmp_path, "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert re.search(r"resuming the select phase (after|in) epoch \d+ of \d+", out + err)
    result = finished(tmp_path)
    assert result["metrics"] == reference["metrics"]
    assert result["history"] == reference["history"]
    assert result["weights"] == reference["weights"]


def test_resume_refuses_a_different_config(reference, tmp_path):
    process = train(tmp_path, "--seed", "3")
    process.communicate(timeout=300)
    again = train(tmp_path, "--seed", "4", "--resume")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 2
    assert "seed: 3 -> 4" in err
