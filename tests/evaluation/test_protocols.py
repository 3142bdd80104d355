"""Protocols: exclusion, candidates, labels, batch-size independence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.errors import UsageError
from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.models.base import Model
from tests.conftest import make_interactions


class FixedScores(Model):
    """Scores from a fixed matrix, for known answers."""

    name = "fixed"

    def __init__(self, table: np.ndarray):
        super().__init__(*table.shape)
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))

    def forward(self, users, items):
        return self.table[users, items]

    def score_all(self, users):
        return self.table[users]


def test_protocol_parse_and_label():
    assert Protocol.parse("full").label == "full"
    assert Protocol.parse("sampled:99") == Protocol("sampled", 99)
    for bad in ("sampled:0", "sampled:x", "top", "full:3", "rating:train-history", "full:train"):
        with pytest.raises(UsageError):
            Protocol.parse(bad)
    for text in ("full:train-history", "sampled:99:train-history"):
        assert Protocol.parse(text).train_history and Protocol.parse(text).label == text
    assert not Protocol.parse("full").train_history


def test_full_ranking_excludes_training_items():
    # user 0: items 0,1 trained (highest scores); test item 2 is best among the rest
    table = np.array([[9.0, 8.0, 7.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0]])
    train = make_interactions([0, 0, 1], [0, 1, 4], 2, 5)
    test = make_interactions([0, 1], [2, 0], 2, 5)
    result = Evaluator.build(test, Protocol("full"), [train], ks=(1, 3))(FixedScores(table))
    # user 0: rank 0 -> hit; user 1: item 0 scores lowest among 4 ranked items -> rank 3
    assert result["hr@1"] == 0.5
    assert result["hr@3"] == 0.5
    assert result["mrr"] == pytest.approx((1 + 1 / 4) / 2)
    unexcluded = Evaluator.build(test, Protocol("full"), None, ks=(1,))(FixedScores(table))
    assert unexcluded["hr@1"] == 0.0


def test_sampled_protocol_uses_the_given_candidates():
    table = np.array([[0.0, 5.0, 1.0, 2.0, 3.0]])
    test = make_interactions([0], [1], 1, 5)
    negatives = np.array([[2, 3, 4]])
    result = Evaluator.build(test, Protocol("sampled", 3), negatives=negatives, ks=(1,))(
        FixedScores(table)
    )
    assert result["hr@1"] == 1.0 and result["auc"] == 1.0
    with pytest.raises(UsageError):
        Evaluator.build(test, Protocol("sampled", 99), negatives=negatives)


@pytest.mark.parametrize("protocol", ["full", "sampled:20"])
def test_results_do_not_depend_on_the_batch_size(protocol):
    rng = np.random.default_rng(0)
    n_users, n_items = 57, 80
    table = rng.integers(0, 5, size=(n_users, n_items)).astype(float)  # many ties
    train = make_interactions(
        rng.integers(0, n_users, 400), rng.integers(0, n_items, 400), n_users, n_items
    )
    test = make_interactions(
        np.arange(n_users), rng.integers(0, n_items, n_users), n_users, n_items
    )
    parsed = Protocol.parse(protocol)
    negatives = rng.integers(0, n_items, (n_users, 20)) if parsed.kind == "sampled" else None
    results = [
        Evaluator.build(test, parsed, [train], negatives, ks=(5, 10), batch_size=b)(
            FixedScores(table)
        )
        for b in (1, 7, 1000)
    ]
    assert results[0] == results[1] == results[2]


def test_rating_protocol_clips_predictions_to_the_training_range():
    from ncf.evaluation.protocols import RatingEvaluator, rating_step

    train = make_interactions([0, 1], [0, 1], ratings=[1.0, 5.0])
    held = make_interactions([0, 1, 1], [1, 0, 1], n_users=2, n_items=2, ratings=[5.0, 1.0, 4.0])

    class Fixed(torch.nn.Module):
        def forward(self, users, items):
            return torch.tensor([7.0, -3.0, 4.4])[: len(users)]

    evaluator = RatingEvaluator.build(held, train)
    np.testing.assert_allclose(evaluator.predict(Fixed()), [5.0, 1.0, 4.4])  # clipped to [1, 5]
    result = evaluator(Fixed())
    assert result["rmse"] == pytest.approx(np.sqrt(0.16 / 3), rel=1e-6)
    assert result["accuracy"] == 1.0
    assert Protocol.parse("rating").label == "rating"
    assert rating_step(np.array([1.0, 2.5, 4.0])) == 0.5
    assert rating_step(np.array([1.0, 2.0])) == 1.0


def test_per_user_metrics_follow_the_users_whatever_order_they_are_scored_in():
    """Users are scored grouped by their number of held-out items (widest first, in chunks
    cut to their widest user); each user's metrics still land in its own row."""
    table = np.array(
        [
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # user 0: one held-out item, 5 -> rank 0
            [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],  # user 1: three, 3 4 5 -> ranks 3 4 5
            [0.0, 0.0, 0.0, 0.0, 0.0, 9.0],  # user 2: two, 5 first, 0 last of the ties
        ]
    )
    test = make_interactions([0, 1, 1, 1, 2, 2], [5, 3, 4, 5, 5, 0], 3, 6)
    for batch_size in (1, 2, 0):
        per_user = Evaluator.build(test, Protocol("full"), ks=(3,), batch_size=batch_size)
        values = per_user.per_query(FixedScores(table))
        np.testing.assert_allclose(values["recall@3"], [1.0, 0.0, 0.5])
        np.testing.assert_allclose(values["mrr"], [1.0, 1 / 4, 1.0])
