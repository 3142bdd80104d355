"""Quality floors of the rating models on ML-100K, each with its defaults (seconds each).

Test RMSE on the default split ratio:0.8,0.1,0.1 (seed 0); scikit-surprise on the same
split: SVD 0.932, SVD++ 0.913, KNNBaseline 0.904."""

from __future__ import annotations

import json

import pytest

from ncf.data.io.features import genre_vectors
from ncf.errors import UsageError
from ncf.experiment.pipeline import train_run
from ncf.experiment.preparation import load_source
from ncf.experiment.settings import resolve_config

FLOORS = {"mf-bias": 0.915, "mf": 0.93, "autoencoder": 0.915, "concat-net": 0.935}


def train(tmp_path, **settings) -> dict:
    config = resolve_config({"data": "ml-100k", **settings})
    train_run(config, tmp_path / "run", progress=False)
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.parametrize("model", list(FLOORS))
def test_rating_model_reaches_its_floor(shared_data, monkeypatch, tmp_path, model):
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    metrics = train(tmp_path, model=model)
    assert metrics["protocol"] == "rating" and metrics["split"] == "ratio:0.8,0.1,0.1"
    assert set(metrics["test"]) == {"rmse", "mae", "accuracy"}
    assert metrics["test"]["rmse"] <= FLOORS[model], metrics["test"]
    assert metrics["valid"]["rmse"] <= FLOORS[model] + 0.02  # selected on validation
    assert sum(metrics["dropped"].values()) > 0  # unseen users / items left out, counted


def test_embedding_net_on_a_short_schedule(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    metrics = train(tmp_path, model="embedding-net", epochs=3)
    assert metrics["test"]["rmse"] <= 0.95, metrics["test"]


def test_autoencoder_is_near_mf_bias_on_ml_latest_small(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    mf = train(tmp_path / "mf", model="mf-bias", data="ml-latest-small")["test"]["rmse"]
    auto = train(tmp_path / "ae", model="autoencoder", data="ml-latest-small")["test"]["rmse"]
    assert mf <= 0.85 and auto <= mf + 0.03, (mf, auto)


def test_neumf_and_its_hybrid_with_genre_vectors_on_ratings(shared_data, monkeypatch, tmp_path):
    """S12 on ML-100K: NeuMF on ratings, then with each movie's genres as its vector."""
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    settings = {"model": "neumf", "objective": "rating", "split": "ratio:0.7,0.1,0.2"}
    metrics = train(tmp_path / "ncf", **settings)
    assert metrics["protocol"] == "rating"
    assert metrics["test"]["rmse"] <= 0.95, metrics["test"]
    genres = tmp_path / "genres.csv"
    genre_vectors(load_source("ml-100k").data).to_csv(genres, index=False)
    hybrid = train(tmp_path / "hybrid", **settings, item_features=str(genres))
    assert hybrid["item_features"] == {"file": str(genres), "dim": 19, "missing": 0}
    assert set(hybrid["test"]) == set(metrics["test"])
    assert hybrid["test"]["rmse"] <= 0.95, hybrid["test"]


def test_item_features_only_for_models_with_an_output_layer(tmp_path):
    genres = tmp_path / "genres.csv"
    genre_vectors(load_source("synthetic").data).to_csv(genres, index=False)
    config = resolve_config({"model": "mf-bias", "item_features": str(genres)})
    with pytest.raises(UsageError, match="item_features works with gmf, mlp, neumf and hybrid"):
        train_run(config, tmp_path / "run", progress=False)


def test_objective_and_protocol_must_agree():
    for wrong in ("ratings", "fit"):
        with pytest.raises(UsageError, match="unknown objective"):
            resolve_config({"model": "gmf", "objective": wrong})
    with pytest.raises(UsageError, match="takes no objective"):
        resolve_config({"model": "ease", "objective": "rating"})
    with pytest.raises(UsageError, match="does not fit protocol"):
        resolve_config({"model": "mf-bias", "protocol": "full"})
    config = resolve_config({"model": "gmf", "objective": "rating"})
    assert (config.protocol, config.train.monitor, config.split) == (
        "rating",
        "rmse",
        "ratio:0.8,0.1,0.1",
    )
    assert config.train.batch_size == 1024  # the rating regime's, not GMF's 4096
