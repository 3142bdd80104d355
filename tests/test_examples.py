"""The recipes in examples/ resolve to the settings their comments promise."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from ncf.pipeline import flatten_toml, resolve_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def recipe(name: str):
    values = flatten_toml(tomllib.loads((EXAMPLES / name).read_text()))
    return resolve_config({**values, "data": "synthetic"})


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_recipe_resolves(path):
    config = recipe(path.name)
    assert config.model and config.ks == (10,)


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
    s8 = recipe("S8-mlp-curves.toml")
    assert s8.train.eval_at_start and s8.train.weight_decay == 1e-5
    assert recipe("S8-itempop.toml").model == "popularity"


def test_the_pretraining_script_parses():
    script = EXAMPLES / "S2-neumf-pretrained.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode != 0 and "usage" in usage.stderr
