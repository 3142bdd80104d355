"""The recipes in examples/ resolve to the settings their comments promise."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from ncf.experiment.run_folder import flatten_toml
from ncf.experiment.settings import resolve_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def recipe(name: str):
    values = flatten_toml(tomllib.loads((EXAMPLES / name).read_text()))
    return resolve_config({**values, "data": "synthetic"})


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_recipe_resolves(path):
    config = recipe(path.name)
    assert config.model and config.train.monitor.partition("@")[2] in ("", *map(str, config.ks))


def test_recipes_keep_the_notebooks_settings():
    gmf, mlp = recipe("S2-gmf.toml"), recipe("S2-mlp.toml")
    assert gmf.model_args["dim"] == 8 and gmf.train.schedule == "none"
    assert tuple(mlp.model_args["layers"]) == (16, 64, 32, 16, 8)
    for config in (gmf, mlp):
        assert (config.train.lr, config.train.n_negatives, config.train.optimizer) == (
            0.001,
            4,
            "adam",
        )
    s4 = recipe("S4-neumf-dropout.toml")
    assert (s4.model_args["dim"], s4.model_args["dropout"]) == (32, 0.2)
    assert tuple(s4.model_args["layers"]) == (64, 32, 16, 8)
    assert (s4.train.batch_size, s4.train.epochs, s4.train.monitor) == (256, 10, "hr@10")
    s3 = recipe("S3-ncf-ml25m.toml")
    assert tuple(s3.model_args["layers"]) == (16, 64, 32) and s3.split == "loo"
    assert (s3.prepare.user_fraction, s3.protocol, s3.train.n_negatives) == (0.2, "sampled:99", 4)
    assert s3.train.batch_size // (1 + s3.train.n_negatives) == 512  # positives per batch
    s8 = recipe("S8-mlp-curves.toml")
    assert s8.train.eval_at_start and s8.train.weight_decay == 1e-5
    assert recipe("S8-itempop.toml").model == "popularity"


def test_the_rating_recipes_keep_the_notebooks_settings():
    s5 = recipe("S5-embedding-net.toml")
    assert (s5.train.batch_size, s5.train.schedule, s5.train.patience) == (
        50,
        "cosine-restarts",
        10,
    )
    assert s5.train.weight_decay == 1e-5 and s5.protocol == "rating"
    s6 = recipe("S6-mf-bias.toml")
    assert (s6.model_args["dim"], s6.train.lr, s6.train.weight_decay) == (10, 0.02, 0.1)
    assert s6.train.reduction == "sum" and recipe("S6-hogwild.toml").train.hogwild_workers == 2
    bpr = recipe("S6-bpr-sparse.toml")
    assert bpr.model_args["sparse"] and (bpr.train.optimizer, bpr.train.lr) == ("sgd", 0.2)
    assert bpr.split == "user-count:1,10" and bpr.ks == (5, 10)
    assert bpr.prepare.implicit_threshold == 4
    for name in ("S9-mf.toml", "S9-mf-bias.toml", "S9-concat-net.toml"):
        s9 = recipe(name)
        assert s9.train.full_batch and s9.prepare.min_user == 10
        assert s9.split.startswith("user-time-ratio")
    assert recipe("S11-mf.toml").train.weight_decay == 1e-6
    assert recipe("S11-autoencoder.toml").model_args["layers"] == [28, 56, 56]
    for name in ("S12-mf.toml", "S12-ncf.toml"):
        s12 = recipe(name)
        assert (s12.train.objective, s12.split, s12.model_args["dim"]) == (
            "rating",
            "ratio:0.7,0.1,0.2",
            32,
        )
        assert (s12.train.switch_optimizer, s12.train.switch_epoch) == ("sgd", 2)
    assert recipe("S12-ncf.toml").model_args["dropout"] == [0.5, 0.3]


@pytest.mark.parametrize("name", ["S2-neumf-pretrained.sh", "S12-hybrid.sh"])
def test_the_scripts_parse(name):
    script = EXAMPLES / name
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode != 0 and "usage" in usage.stderr


def test_the_graph_recipe_keeps_the_notebooks_settings():
    s10 = recipe("S10-ngcf.toml")
    assert s10.model == "ngcf" and tuple(s10.model_args["layers"]) == (64, 64)
    assert (s10.train.lr, s10.train.batch_size, s10.train.reg) == (1e-4, 512, 1e-5)
    assert (s10.train.eval_every, s10.train.patience, s10.train.monitor) == (5, 5, "recall@20")
    assert s10.model_args["message_dropout"] == 0.1 and s10.ks == (20,)


def test_the_mpm_recipe_keeps_the_notebooks_settings():
    s1 = recipe("S1-mpm.toml")
    assert s1.model == "mpm" and s1.split == "loo" and s1.protocol == "sampled:99"
    assert s1.prepare.min_user == 20
    args = s1.model_args
    assert (args["dim"], args["history"], args["levels"], args["kernel"]) == (32, 9, 5, 3)
    assert args["dropout"] == 0.25 and list(args["mlp"]) == [128, 64, 32]
    assert (s1.train.lr, s1.train.batch_size, s1.train.n_negatives, s1.train.epochs) == (
        1e-3,
        2048,
        4,
        20,
    )
