"""MLflow tracking (extra ``track``): parameters, per-epoch metrics, final metrics, bundle.

With no server, runs go to a local file store (``./mlruns`` by default); view them with
``mlflow ui --backend-store-uri ./mlruns``.

    >>> tracker = MlflowTracker("./mlruns", experiment="ncf", run_name="neumf-ml-1m")
    >>> tracker.log_params(config.to_dict()); tracker("select")(row); tracker.finish(...)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ncf.errors import UsageError


def _tracking_uri(uri: str) -> str:
    """A path becomes a ``file:`` URI; URIs with a scheme pass through."""
    if "://" in uri or uri.startswith(("file:", "databricks", "sqlite:")):
        return uri
    return Path(uri).resolve().as_uri()


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif value is not None and value != "":
            out[f"{prefix}{key}"] = value
    return out


class MlflowTracker:
    """One MLflow run per ``ncf train``."""

    def __init__(self, uri: str, experiment: str, run_name: str):
        try:
            import mlflow
        except ImportError:
            raise UsageError(
                "--mlflow needs MLflow: pip install 'ncf[track]' (or mlflow)"
            ) from None
        self.mlflow = mlflow
        uri = _tracking_uri(uri)
        if uri.startswith("file:"):
            # a local folder store works with no server; recent MLflow asks for this opt-in
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment)
        self.run = mlflow.start_run(run_name=run_name)

    def log_params(self, params: dict[str, Any]) -> None:
        flat = {k: str(v)[:500] for k, v in _flatten(params).items()}
        self.mlflow.log_params(flat)

    def __call__(self, phase: str) -> Callable[[dict[str, Any]], None]:
        """A training-loop callback logging each epoch's numbers as ``phase/name``."""

        def log(row: dict[str, Any]) -> None:
            numbers = {
                f"{phase}/{key.replace('@', '_at_')}": float(value)
                for key, value in row.items()
                if key not in ("epoch", "phase") and isinstance(value, (int, float))
            }
            self.mlflow.log_metrics(numbers, step=int(row["epoch"]))

        return log

    def finish(self, metrics: dict[str, Any], out: Path | None) -> None:
        """Final validation and test metrics, timings, and the run's files as artifacts
        (none for a run kept in memory, ``out`` None)."""
        final = {}
        for part in ("valid", "test"):
            for key, value in metrics[part].items():
                final[f"{part}_{key.replace('@', '_at_')}"] = float(value)
        final.update({f"time_{k}": float(v) for k, v in metrics["timing"].items()})
        self.mlflow.log_metrics(final)
        self.mlflow.set_tags({"protocol": metrics["protocol"], "split": str(metrics["split"])})
        if out is not None:
            for name in ("metrics.json", "config.toml", "history.csv"):
                if (out / name).exists():
                    self.mlflow.log_artifact(str(out / name))
            self.mlflow.log_artifacts(str(out / "bundle"), artifact_path="bundle")
        self.mlflow.end_run()

    def abort(self) -> None:
        self.mlflow.end_run(status="KILLED")
