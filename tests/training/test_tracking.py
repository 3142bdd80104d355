"""MLflow tracking to the default local store, with no server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

mlflow = pytest.importorskip("mlflow")


def test_mlflow_logs_params_epochs_metrics_and_the_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # ncf opts in by itself
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ncf.cli",
            "train",
            "--model",
            "gmf",
            "--data",
            "synthetic",
            "--epochs",
            "3",
            "--factors",
            "8",
            "--out",
            "run",
            "--no-progress",
            "--mlflow",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mlruns").is_dir()  # the default: a local file store
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("ncf")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "run" and run.info.status == "FINISHED"
    assert run.data.params["model"] == "gmf" and run.data.params["model_args.dim"] == "8"
    assert run.data.params["train.epochs"] == "3"
    losses = client.get_metric_history(run.info.run_id, "select/loss")
    assert [m.step for m in losses] == [1, 2, 3]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run.data.metrics["test_ndcg_at_10"] == pytest.approx(metrics["test"]["ndcg@10"])
    assert run.data.tags["protocol"] == "full"
    bundle = {a.path for a in client.list_artifacts(run.info.run_id, "bundle")}
    assert "bundle/weights.safetensors" in bundle and "bundle/config.json" in bundle
