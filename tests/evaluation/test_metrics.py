"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncf.evaluation import metrics

INF = np.inf


def test_single_positive_metrics_by_hand():
    ranks = np.array([[0.0], [3.0], [9.0], [10.0]])
    assert metrics.hit_rate(ranks, 10).tolist() == [1, 1, 1, 0]
    expected_ndcg = [1.0, 1 / math.log2(5), 1 / math.log2(11), 0.0]
    assert metrics.ndcg(ranks, 10) == pytest.approx(expected_ndcg)
    assert metrics.reciprocal_rank(ranks) == pytest.approx([1, 1 / 4, 1 / 10, 1 / 11])
    assert metrics.precision(ranks, 10) == pytest.approx([0.1, 0.1, 0.1, 0.0])
    assert metrics.recall(ranks, 10) == pytest.approx([1, 1, 1, 0])
    # AUC with 100 candidates: 99 negatives, rank r means r negatives above
    assert metrics.auc(ranks, 100) == pytest.approx([1.0, 96 / 99, 90 / 99, 89 / 99])


def test_several_relevant_items_by_hand():
    # relevant items at positions 0 and 2 of the list, third relevant item padded
    ranks = np.array([[0.0, 2.0, INF], [1.0, 4.0, 5.0]])
    k = 3
    assert metrics.hit_rate(ranks, k).tolist() == [1, 1]
    assert metrics.recall(ranks, k) == pytest.approx([1.0, 1 / 3])
    assert metrics.precision(ranks, k) == pytest.approx([2 / 3, 1 / 3])
    idcg2 = 1 + 1 / math.log2(3)
    idcg3 = idcg2 + 1 / math.log2(4)
    assert metrics.ndcg(ranks, k) == pytest.approx(
        [(1 + 1 / math.log2(4)) / idcg2, (1 / math.log2(3)) / idcg3]
    )
    # AP@3: user 0: (1/1 + 2/3) / 2; user 1: (1/2) / 3
    assert metrics.average_precision(ranks, k) == pytest.approx([(1 + 2 / 3) / 2, 0.5 / 3])
    assert metrics.reciprocal_rank(ranks) == pytest.approx([1.0, 0.5])
    # 10 candidates: user 0 has 2 relevant, 8 irrelevant; irrelevant above: 0 and 1
    # user 1: 3 relevant, 7 irrelevant; irrelevant above: 1, 3, 3
    assert metrics.auc(ranks, 10) == pytest.approx([(16 - 1) / 16, (21 - 7) / 21])


def test_k_beyond_the_list_and_empty_queries():
    ranks = np.array([[4.0], [INF]])
    assert metrics.hit_rate(ranks, 50).tolist() == [1, 0]
    assert metrics.ndcg(ranks, 50) == pytest.approx([1 / math.log2(6), 0.0])
    assert metrics.recall(ranks, 50).tolist() == [1, 0]
    assert metrics.average_precision(ranks, 50).tolist() == [0.2, 0.0]
    assert metrics.reciprocal_rank(ranks).tolist() == [0.2, 0.0]


def test_ties_never_favour_the_positive():
    scores = torch.tensor([[1.0, 1.0, 1.0, 0.0], [2.0, 1.0, 1.0, 3.0]])
    ranks = metrics.pessimistic_ranks(scores, torch.tensor([[0], [1]]))
    # row 0: the positive ties with two negatives -> placed after both
    # row 1: two negatives above (2.0, 3.0), one tied (1.0) -> rank 3
    assert ranks[:, 0].tolist() == [2.0, 3.0]
    all_equal = torch.zeros(1, 100)
    assert metrics.pessimistic_ranks(all_equal, torch.tensor([[0]])).item() == 99.0
    assert (
        metrics.hit_rate(metrics.pessimistic_ranks(all_equal, torch.tensor([[0]])).numpy(), 10)[0]
        == 0
    )


def test_ranks_of_several_relevant_items_with_excluded_and_ties():
    inf = float("inf")
    scores = torch.tensor([[5.0, -inf, 3.0, 3.0, 4.0, 1.0]])
    relevant = torch.tensor([[2, 3, 5, -1]])
    ranks = metrics.pessimistic_ranks(scores, relevant)
    # items by score: 0 (5), 4 (4), then 2 and 3 tied (3), 5 (1); excluded item 1 is last.
    # relevant 2 and 3 tie with each other only: ranks 2 and 3; item 5 has 2 irrelevant above
    # plus 2 relevant above -> 4
    assert ranks.tolist() == [[2.0, 3.0, 4.0, inf]]


def _ranks_by_sorting(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """The definition: sort each row's candidates by score, irrelevant before relevant on
    a tie and relevant ones in column order; the positions of the relevant ones."""
    out = np.full(relevant.shape, np.inf)
    for row, (s, rel) in enumerate(zip(scores, relevant)):
        rel = rel[rel >= 0]
        tie_break = np.full(len(s), -1)
        tie_break[rel] = np.arange(len(rel))
        order = np.lexsort([tie_break, -s])
        position = np.empty(len(s))
        position[order] = np.arange(len(s))
        out[row, : len(rel)] = np.sort(position[rel])
    return out


@pytest.mark.parametrize("block", [1 << 20, 7])
def test_counted_ranks_equal_ranks_by_sorting(monkeypatch, block):
    """Counting scores at least each relevant one (in blocks of any size) gives the same
    pessimistic ranks as sorting the row, with ties, exclusions and padding."""
    monkeypatch.setattr(metrics, "_COUNT_BLOCK", block)
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, (40, 30)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.1] = -np.inf  # excluded
    relevant = np.full((40, 6), -1)
    for row in range(40):
        chosen = rng.choice(30, rng.integers(0, 7), replace=False)
        relevant[row, : len(chosen)] = chosen
    before = scores.copy()
    ranks = metrics.pessimistic_ranks(torch.from_numpy(scores), torch.from_numpy(relevant))
    np.testing.assert_array_equal(ranks.numpy(), _ranks_by_sorting(scores, relevant))
    np.testing.assert_array_equal(scores, before)  # the caller's scores are left alone


def test_compute_returns_every_metric():
    out = metrics.compute(np.array([[0.0]]), [5, 10], 100)
    assert set(out) == {
        "hr@5",
        "ndcg@5",
        "recall@5",
        "precision@5",
        "map@5",
        "hr@10",
        "ndcg@10",
        "recall@10",
        "precision@10",
        "map@10",
        "mrr",
        "auc",
    }


def test_nan_scores_never_rank_the_positive_first():
    """Regression: a diverged model (NaN scores) scored hr@10 = 1.0 on everything."""
    nan = float("nan")
    scores = torch.tensor([[nan, nan, nan], [nan, 0.5, 0.1], [0.9, nan, 0.2]])
    relevant = torch.tensor([[0], [0], [0]])
    ranks = metrics.pessimistic_ranks(scores, relevant).numpy()
    assert ranks[:, 0].tolist() == [2.0, 2.0, 0.0]


def test_rating_errors_by_hand():
    from ncf.evaluation.metrics import rating_errors, rating_summary

    per = rating_errors(np.array([3.4, 4.6, 1.0]), np.array([3.0, 4.0, 2.0]), step=1.0)
    np.testing.assert_allclose(per["squared_error"], [0.16, 0.36, 1.0])
    np.testing.assert_allclose(per["absolute_error"], [0.4, 0.6, 1.0])
    assert per["accuracy"].tolist() == [1.0, 0.0, 0.0]  # 3.4 -> 3, 4.6 -> 5, 1 -> 1
    summary = rating_summary(per)
    assert summary["rmse"] == pytest.approx(np.sqrt((0.16 + 0.36 + 1.0) / 3))
    assert summary["mae"] == pytest.approx(2.0 / 3)
    assert summary["accuracy"] == pytest.approx(1 / 3)
    half = rating_errors(np.array([3.7, 3.2]), np.array([3.5, 3.5]), step=0.5)
    assert half["accuracy"].tolist() == [1.0, 0.0]  # 3.7 -> 3.5, 3.2 -> 3.0
