"""The ML-1M quality floors of `tests.test_quality.APART` (slow): the longest runs, in a
module of their own so that ``pytest -n`` trains them beside the others."""

from __future__ import annotations

import pytest

from tests.test_quality import APART, FLOORS, ncf_split, runs, train  # noqa: F401 (fixtures)


@pytest.mark.parametrize("model", APART)
def test_model_reaches_its_floor(ncf_split, runs, model):  # noqa: F811
    metrics = train(model, ncf_split, runs / model)
    hr, ndcg = FLOORS[model]
    assert metrics["test"]["hr@10"] >= hr and metrics["test"]["ndcg@10"] >= ndcg, metrics["test"]
    assert metrics["valid"], "model selection must report its validation metrics"
