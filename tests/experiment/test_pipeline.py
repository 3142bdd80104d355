"""Config resolution and the data side of a run."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data.sampling import SeenSet
from ncf.errors import UsageError
from ncf.experiment.config import RunConfig
from ncf.experiment.preparation import prepare_run
from ncf.experiment.run_folder import flatten_toml
from ncf.experiment.settings import resolve_config
from ncf.models import MODELS
from ncf.random import Generators


def test_model_defaults_sit_beneath_explicit_settings():
    config = resolve_config({"model": "bpr-mf", "data": "synthetic", "lr": 0.1, "dim": 7})
    defaults = MODELS["bpr-mf"].train_defaults
    assert config.train.lr == 0.1 and config.train.n_negatives == defaults["n_negatives"]
    assert config.model_args == {"dim": 7, "init_std": 0.1, "sparse": False}
    assert config.train.schedule == "cosine"


def test_toml_round_trip_of_a_resolved_config():
    import tomllib

    import tomli_w

    from ncf.experiment.run_folder import toml_ready

    config = resolve_config({"model": "neumf", "data": "synthetic", "ks": [5, 10], "dropout": 0.2})
    text = tomli_w.dumps(toml_ready(config.to_dict()))
    again = resolve_config(flatten_toml(tomllib.loads(text)))
    assert again == config


def test_unknown_and_badly_typed_settings_are_named():
    with pytest.raises(UsageError, match="unknown setting 'depth' for model 'mlp'"):
        resolve_config({"model": "mlp", "depth": 3})
    with pytest.raises(UsageError, match="setting epochs='many': expected int"):
        resolve_config({"model": "mlp", "epochs": "many"})
    with pytest.raises(UsageError, match="device must be one of"):
        RunConfig(device="tpu")


def test_sampled_validation_negatives_avoid_every_known_item():
    config = resolve_config({"model": "gmf", "data": "synthetic", "protocol": "sampled:50"})
    prepared = prepare_run(config, Generators.from_seed(0))
    split = prepared.split
    seen = SeenSet.from_interactions(split.train, split.valid, split.test)
    for evaluator in (prepared.valid, prepared.test):
        negatives = evaluator.relevant[:, 1:]
        assert negatives.shape[1] == 50
        assert not seen.contains(evaluator.users[:, None], negatives).any()
        assert all(len(set(row)) == 50 for row in negatives.tolist())
    again = prepare_run(config, Generators.from_seed(0))
    assert np.array_equal(again.test.relevant, prepared.test.relevant)


def test_a_run_config_read_back_keeps_its_seed():
    import tomllib

    import tomli_w

    from ncf.experiment.run_folder import toml_ready

    config = resolve_config({"model": "gmf", "data": "synthetic", "seed": 3, "subsample_seed": 5})
    again = resolve_config(flatten_toml(tomllib.loads(tomli_w.dumps(toml_ready(config.to_dict())))))
    assert (again.seed, again.prepare.subsample_seed) == (3, 5)
    with pytest.raises(UsageError, match="setting 'lr' is given twice, as 0.1 and 0.2"):
        flatten_toml({"lr": 0.1, "train": {"lr": 0.2}})


def test_the_resolved_table_is_informational():
    from ncf.experiment.run_folder import config_text

    config = resolve_config({"model": "gmf", "data": "synthetic", "threads": 0})
    import tomllib

    text = config_text(config, {"split": "loo", "protocol": "full", "device": "cpu", "threads": 2})
    assert tomllib.loads(text)["resolved"]["threads"] == 2
    assert resolve_config(flatten_toml(tomllib.loads(text))) == config


@pytest.mark.parametrize("spec", ["ratio:0.9,0.1,0.0", "user-count:0,3"])
def test_a_split_without_validation_or_test_rows_is_refused(spec):
    config = resolve_config({"model": "popularity", "data": "synthetic", "split": spec})
    with pytest.raises(UsageError, match="leaves no (validation|test) rows"):
        prepare_run(config, Generators.from_seed(0))


def test_the_default_monitor_follows_the_cut_offs_asked_for():
    assert resolve_config({"model": "gmf", "ks": [20]}).train.monitor == "ndcg@20"
    assert resolve_config({"model": "gmf", "ks": "20,50"}).train.monitor == "ndcg@20"
    assert resolve_config({"model": "gmf", "ks": [5, 10]}).train.monitor == "ndcg@10"
    assert resolve_config({"model": "gmf", "ks": [20], "monitor": "mrr"}).train.monitor == "mrr"
    with pytest.raises(UsageError, match="add its cut-off"):  # one asked for is kept
        resolve_config({"model": "gmf", "ks": [20], "monitor": "hr@10"})


def test_a_train_history_protocol_scores_the_test_from_the_training_part(tmp_path):
    """``full:train-history``: no refit, the test scored from train alone with validation
    items still excluded, and the label says so; the default scores it from train +
    validation, and so gives other numbers."""
    from ncf.evaluation.protocols import Evaluator, Protocol
    from ncf.experiment.pipeline import train_run
    from ncf.training.fitting import fit_model

    settings = {"model": "ease", "data": "synthetic", "ks": [10]}
    config = resolve_config({**settings, "protocol": "full:train-history"})
    assert config.refit is False
    metrics = train_run(config, tmp_path / "history", progress=False).metrics
    assert metrics["protocol"] == "full:train-history" and metrics["refit"] is False
    split = prepare_run(config, Generators.from_seed(config.seed)).split
    model = MODELS["ease"](split.train.n_users, split.train.n_items, **config.model_args)
    fit_model(model, split.train)
    by_hand = Evaluator.build(
        split.test, Protocol("full"), [split.train, split.valid], ks=(10,), known=split.train
    )(model.eval())
    assert metrics["test"] == pytest.approx(by_hand, abs=1e-9)
    default = train_run(resolve_config(settings), tmp_path / "default", progress=False).metrics
    assert default["protocol"] == "full" and default["test"]["ndcg@10"] != by_hand["ndcg@10"]
