"""Quality floors on the NCF paper's ML-1M split, with every model's defaults (slow).

Each model is trained as `ncf train --model M --data .../ml-1m/ncf` would: protocol
sampled:99 from the published negatives file, epochs chosen on validation, test once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ncf.experiment.pipeline import train_run
from ncf.experiment.settings import resolve_config

pytestmark = pytest.mark.slow

FLOORS = {  # test hr@10, ndcg@10
    "ease": (0.715, 0.445),
    "ials": (0.71, 0.44),
    "item-knn": (0.68, 0.40),
    "gmf": (0.69, 0.41),
    "mlp": (0.67, 0.39),
    "bpr-mf": (0.69, 0.41),
    "neumf": (0.69, 0.41),
}


@pytest.fixture(scope="module")
def ncf_split(shared_data) -> Path:
    return shared_data / "ml-1m" / "ncf"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("quality")


def train(model: str, data: Path, out: Path, **settings) -> dict:
    config = resolve_config({"model": model, "data": str(data), **settings})
    result = train_run(config, out, progress=False)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["protocol"] == "sampled:99" and saved == json.loads(json.dumps(result.metrics))
    return saved


def test_popularity_matches_the_published_figure(ncf_split, runs):
    metrics = train("popularity", ncf_split, runs / "popularity")
    assert metrics["test"]["hr@10"] == pytest.approx(0.453, abs=0.01)
    assert metrics["test"]["ndcg@10"] == pytest.approx(0.254, abs=0.01)


#: trained in a module of their own, so that the two halves run side by side (pytest -n)
APART = ("bpr-mf",)


@pytest.mark.parametrize("model", [m for m in FLOORS if m not in APART])
def test_model_reaches_its_floor(ncf_split, runs, model):
    metrics = train(model, ncf_split, runs / model)
    hr, ndcg = FLOORS[model]
    assert metrics["test"]["hr@10"] >= hr and metrics["test"]["ndcg@10"] >= ndcg, metrics["test"]
    assert metrics["valid"], "model selection must report its validation metrics"


def test_neumf_with_pretraining(ncf_split, runs):
    gmf, mlp = runs / "gmf", runs / "mlp"
    if not (gmf / "metrics.json").exists() or not (mlp / "metrics.json").exists():
        pytest.skip("needs the gmf and mlp runs of test_model_reaches_its_floor")
    starts = {"gmf": str(gmf), "mlp": str(mlp)}
    metrics = train("neumf", ncf_split, runs / "neumf-pre", start_from=starts)
    assert metrics["test"]["hr@10"] >= 0.70 and metrics["test"]["ndcg@10"] >= 0.42, metrics["test"]
