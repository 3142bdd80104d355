"""S7 on ML-100K: Collie's matrix factorisation, partial credit and the hybrid, from the
recipes in examples/, with quality floors, and the errors of their settings."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from ncf.errors import UsageError
from ncf.experiment.pipeline import train_run
from ncf.experiment.run_folder import flatten_toml
from ncf.experiment.settings import resolve_config
from ncf.reporting.user_page import write_user_page

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def recipe(name: str, data: Path, **settings) -> dict:
    values = flatten_toml(tomllib.loads((EXAMPLES / name).read_text()))
    return {**values, "data": str(data), "threads": 1, **settings}


def train(values: dict, out: Path) -> dict:
    train_run(resolve_config(values), out, progress=False)
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def ml100k(shared_data) -> Path:
    return shared_data / "ml-100k"


@pytest.fixture(scope="module")
def mf_run(ml100k, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("s7") / "mf"
    train(recipe("S7-collie-ml100k.toml", ml100k), out)
    return out


def test_the_collie_recipe_reaches_the_notebooks_figures(mf_run, tmp_path):
    """The notebook: MAP@10 0.048, AUC 0.885 (full ranking)."""
    metrics = json.loads((mf_run / "metrics.json").read_text())
    assert metrics["protocol"] == "full" and metrics["n_users"] == 942
    assert metrics["test"]["map@10"] >= 0.047 and metrics["test"]["auc"] >= 0.88, metrics["test"]
    assert metrics["test"]["mrr"] > 0.2
    # the user page: ratings >= 4 only were kept, so the user's items are "liked"
    page = write_user_page(mf_run, "196", tmp_path / "user.html").read_text()
    assert "liked (22 items)" in page and "English Patient, The (1996)" in page


def test_partial_credit_trains_to_the_same_standard(ml100k, mf_run, tmp_path):
    metrics = train(recipe("S7-partial-credit.toml", ml100k), tmp_path / "credit")
    plain = json.loads((mf_run / "metrics.json").read_text())
    assert metrics["test"]["map@10"] >= 0.047 and metrics["test"]["auc"] >= 0.88
    assert metrics["valid"] != plain["valid"]  # the weights changed the training


def test_hybrid_trains_frozen_then_fine_tunes(ml100k, mf_run, tmp_path):
    out = tmp_path / "hybrid"
    metrics = train(recipe("S7-hybrid.toml", ml100k, base_run=str(mf_run)), out)
    history = pd.read_csv(out / "history.csv")
    phases = list(dict.fromkeys(history["phase"]))
    assert phases[:2] == ["select", "fine-tune"]
    tuned = metrics["fine_tune"]
    tuning_rows = (history["phase"] == "fine-tune").sum()
    assert 0 <= tuned["best_epoch"] <= tuned["epochs_run"] == tuning_rows
    if tuned["best_epoch"]:  # the refit repeats both phases for the chosen epochs
        assert (history["phase"] == "refit-fine-tune").sum() == tuned["best_epoch"]
    assert metrics["item_features"]["dim"] == 19  # ML-100K's genres, multi-hot
    assert metrics["test"]["map@10"] >= 0.047 and metrics["test"]["auc"] >= 0.88, metrics["test"]
    # the frozen phase leaves the copied embeddings alone; fine-tuning moves them
    from ncf.inference.bundle import load_parts

    base, hybrid = load_parts(mf_run, selected=True)[0], load_parts(out, selected=True)[0]
    moved = (hybrid.item_emb.weight - base.item_emb.weight).abs().max().item()
    assert (moved > 0) == (tuned["best_epoch"] > 0)


def test_hybrid_needs_a_base_run_on_the_same_users(ml100k, mf_run, tmp_path):
    with pytest.raises(UsageError, match="start_from=base"):
        train(recipe("S7-hybrid.toml", ml100k), tmp_path / "none")
    other = recipe("S7-hybrid.toml", ml100k, start_from={"base": str(mf_run)}, min_user=20)
    with pytest.raises(UsageError, match="not trained on this run's split"):
        train(other, tmp_path / "other")
    # the same users and items, another draw of the split: the base run has seen this
    # run's validation and test interactions, and is refused
    reseeded = recipe("S7-hybrid.toml", ml100k, start_from=f"base:{mf_run}", seed=1)
    with pytest.raises(UsageError, match="not trained on this run's split"):
        train(reseeded, tmp_path / "reseeded")
    assert not (tmp_path / "reseeded").exists()  # refused before its folder was made
    popularity = tmp_path / "popularity"
    train({"model": "popularity", "data": str(ml100k), "threads": 1}, popularity)
    with pytest.raises(UsageError, match="no user and item embedding"):
        train(recipe("S7-hybrid.toml", ml100k, base_run=str(popularity)), tmp_path / "pop")


def test_settings_that_do_not_apply_are_refused(ml100k, tmp_path):
    with pytest.raises(UsageError, match="freezes nothing"):
        train(recipe("S7-collie-ml100k.toml", ml100k, fine_tune_epochs=2), tmp_path / "a")
    with pytest.raises(UsageError, match="objective 'rating' has none"):
        train({"model": "mf", "data": str(ml100k), "partial_credit": "genres"}, tmp_path / "b")
    with pytest.raises(UsageError, match="mf-bias takes none"):
        train(recipe("S7-collie-ml100k.toml", ml100k, base_run=str(tmp_path)), tmp_path / "d")
    with pytest.raises(UsageError, match="fitted in closed form"):
        train({"model": "ease", "data": str(ml100k), "partial_credit": "genres"}, tmp_path / "e")
    with pytest.raises(UsageError, match="no item metadata column 'year'"):
        train(recipe("S7-collie-ml100k.toml", ml100k, partial_credit="year"), tmp_path / "c")
    with pytest.raises(UsageError, match="partial_credit must be"):
        resolve_config({"model": "bpr-mf", "partial_credit": "genres:1.5"})
