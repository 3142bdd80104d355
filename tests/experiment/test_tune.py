"""``ncf tune``: search spaces, a real search on ML-100K whose best config retrains to
the validation figure it reported, resumption, and bad input."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from ncf.errors import UsageError
from ncf.experiment.pipeline import train_run
from ncf.experiment.run_folder import flatten_toml
from ncf.experiment.settings import resolve_config
from ncf.experiment.tuning import parse_space, search_space


def test_spaces_come_from_the_model_and_its_regime():
    gmf = search_space(resolve_config({"model": "gmf", "data": "ml-100k"}))
    assert gmf == {"lr": (1e-4, 3e-2, "log"), "n_negatives": (1, 10), "dim": [8, 16, 32, 64, 128]}
    ease = search_space(resolve_config({"model": "ease", "data": "ml-100k"}))
    assert ease == {"l2": (10.0, 10_000.0, "log")}  # fitted in closed form: no lr
    mf = search_space(resolve_config({"model": "mf", "data": "ml-100k"}), {"dim": [8]})
    assert mf["dim"] == [8] and "weight_decay" in mf
    with pytest.raises(UsageError, match="no settings to search"):
        search_space(resolve_config({"model": "popularity", "data": "ml-100k"}))


def test_space_specs_parse_or_fail_clearly():
    assert parse_space("lr=1e-4:1e-2:log") == ("lr", (1e-4, 1e-2, "log"))
    assert parse_space("n_negatives=1:8") == ("n_negatives", (1, 8))
    assert parse_space("dim=8,16,32") == ("dim", [8, 16, 32])
    assert parse_space("layers=[64, 32],[32, 16]") == ("layers", ["[64, 32]", "[32, 16]"])
    for bad in ("lr", "lr=", "lr=1:0", "lr=0:1:log", "lr=a:b"):
        with pytest.raises(UsageError, match="--space"):
            parse_space(bad)


@pytest.fixture(scope="module")
def study(shared_data, tmp_path_factory):
    pytest.importorskip("optuna")
    from ncf.experiment.tuning import tune

    out = tmp_path_factory.mktemp("tune") / "gmf"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NCF_DATA_DIR", str(shared_data))
        config = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 3})
        result = tune(config, out, trials=4)
    return config, out, result


def test_a_search_writes_its_table_plot_and_best_config(study):
    _, out, result = study
    assert result["complete"] + result["pruned"] == 4 and result["complete"] >= 1
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and {"params_lr", "params_dim", "params_n_negatives"} <= set(trials)
    finished = trials[trials["state"] == "COMPLETE"]
    assert result["best_value"] == finished["value"].max() > 0.03  # ndcg@10, full ranking
    assert (out / "history.png").stat().st_size > 10_000
    assert len(list((out / "trials").glob("*/history.csv"))) == result["complete"]
    assert not list(out.glob("trials/*/checkpoint-*.pt"))  # trials keep no checkpoints


def test_the_best_config_retrains_to_the_reported_figure(study, shared_data, tmp_path, monkeypatch):
    config, out, result = study
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    values = flatten_toml(tomllib.loads((out / "best.toml").read_text()))
    assert values["lr"] == pytest.approx(result["best_params"]["lr"])
    run = train_run(resolve_config(values), tmp_path / "run", progress=False)
    assert run.metrics["valid"][config.train.monitor] == pytest.approx(
        result["best_value"], abs=1e-6
    )


def test_a_study_resumes_and_keeps_its_settings(study, shared_data, monkeypatch):
    from ncf.experiment.tuning import tune

    config, out, _ = study
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    more = tune(config, out, trials=5)
    assert more["complete"] + more["pruned"] == 5
    trials = pd.read_csv(out / "trials.csv")
    assert trials["params_lr"].nunique() == 5  # the resumed sampler repeats no draw
    other = resolve_config({"model": "gmf", "data": "ml-100k", "epochs": 4})
    with pytest.raises(UsageError, match="holds a study of other settings.*epochs: 3 -> 4"):
        tune(other, out, trials=6)
    with pytest.raises(UsageError, match="another search space"):
        tune(config, out, trials=6, overrides={"dim": [8, 16]})


def test_every_models_space_names_settings_it_takes():
    from ncf.experiment.settings import model_defaults
    from ncf.models import MODELS

    for name in MODELS:
        config = resolve_config({"model": name, "data": "ml-100k"})
        if name == "popularity":
            continue
        for key, spec in search_space(config).items():  # an unknown setting raises
            config.with_overrides({key: spec[0]}, set(model_defaults(name)))
