"""Losses against their formulas, worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from ncf.training.losses import bpr_loss, l2_penalty, pointwise_loss


def test_pointwise_loss_is_bce_over_positives_and_negatives():
    pos = torch.tensor([2.0])
    neg = torch.tensor([[-1.0, 0.5]])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = -(math.log(sig(2.0)) + math.log(1 - sig(-1.0)) + math.log(1 - sig(0.5))) / 3
    assert pointwise_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_bpr_loss_is_minus_log_sigmoid_of_the_difference():
    pos = torch.tensor([2.0, 0.0])
    neg = torch.tensor([[1.0], [3.0]])
    expected = (-math.log(1 / (1 + math.exp(-1.0))) - math.log(1 / (1 + math.exp(3.0)))) / 2
    assert bpr_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)
    # a correctly ordered pair with a large margin costs almost nothing; the reverse a lot
    assert bpr_loss(torch.tensor([10.0]), torch.tensor([[0.0]])).item() < 1e-4
    assert bpr_loss(torch.tensor([0.0]), torch.tensor([[10.0]])).item() == pytest.approx(
        10.0, rel=1e-3
    )


def test_l2_penalty():
    tensors = [torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0]])]
    assert l2_penalty(tensors, batch=2).item() == pytest.approx((1 + 4 + 9) / 2 / 2)


def test_partial_credit_weighs_the_negatives_terms():
    """Weights 1 and 0.6 on the two negatives: the BCE terms and BPR pairs scale by them,
    and the mean still divides by every term."""
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    pos, neg, weights = torch.tensor([2.0]), torch.tensor([[-1.0, 0.5]]), torch.tensor([[1, 0.6]])
    terms = -math.log(sig(2.0)) - math.log(1 - sig(-1.0)) - 0.6 * math.log(1 - sig(0.5))
    assert pointwise_loss(pos, neg, "mean", weights).item() == pytest.approx(terms / 3, rel=1e-6)
    pairs = -math.log(sig(3.0)) - 0.6 * math.log(sig(1.5))
    assert bpr_loss(pos, neg, "sum", weights).item() == pytest.approx(pairs, rel=1e-6)


def test_partial_credit_weights_from_shared_metadata():
    import pandas as pd

    from ncf.training.partial_credit import PartialCredit

    items = pd.DataFrame(
        {
            "genres": ["Action|Comedy", "Drama", "Comedy", None, "Drama|Action"],
            "year": ["1990", "1990", "1991", "1990", "1991"],
        }
    )
    positives, negatives = torch.tensor([0, 1]), torch.tensor([[1, 2, 3, 4], [4, 0, 2, 3]])
    genres = PartialCredit(items, "genre", torch.device("cpu"))  # "genre" finds "genres"
    expected = [[1.0, 0.6, 1.0, 0.6], [0.6, 1.0, 1.0, 1.0]]
    torch.testing.assert_close(genres.weights(positives, negatives), torch.tensor(expected))
    both = PartialCredit(items, "genres:0.5,year:0.3", torch.device("cpu"))
    expected = [[0.7, 0.5, 0.7, 0.5], [0.5, 0.7, 1.0, 0.7]]
    torch.testing.assert_close(both.weights(positives, negatives), torch.tensor(expected))
