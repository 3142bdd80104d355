"""Exact top-k in blocks, exclusions, and the faiss index against exact answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ncf.errors import UsageError
from ncf.inference.bundle import save_bundle
from ncf.inference.recommender import Recommender, load
from ncf.inference.retrieval import Exclusions, block_size, exact_top_k
from ncf.models import BPRMF, NeuMF
from tests.conftest import make_interactions

SCORES = torch.tensor(
    [
        [0.9, 0.1, 0.5, 0.7, 0.3],
        [0.2, 0.8, 0.6, 0.4, 1.0],
        [0.5, 0.4, 0.1, 0.0, 0.9],
    ]
)
SEEN = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]))


def run(exclusions, k=2, budget=1 << 24):
    parts = list(
        exact_top_k(lambda u: SCORES[torch.from_numpy(u)], np.arange(3), k, 5, exclusions, budget)
    )
    return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), parts


def test_exact_top_k_by_hand():
    items, scores, _ = run(Exclusions(SEEN))
    assert items.tolist() == [[3, 2], [1, 2], [4, 0]]
    np.testing.assert_allclose(scores, [[0.7, 0.5], [0.8, 0.6], [0.9, 0.5]])
    items, _, _ = run(Exclusions(SEEN, deny=np.array([3, 1])))
    assert items.tolist() == [[2, 4], [2, 0], [4, 0]]
    items, scores, _ = run(Exclusions(SEEN, allow=np.array([0, 4])))
    assert items[:, 0].tolist() == [4, 0, 4]
    assert np.isinf(scores[0, 1]) and np.isinf(scores[1, 1])  # nothing left for them


def test_blocks_hold_the_score_budget_and_give_the_same_answer():
    assert block_size(5, budget=10) == 2 and block_size(10**9, budget=10) == 1
    whole, _, _ = run(Exclusions(SEEN), k=3)
    items, _, parts = run(Exclusions(SEEN), k=3, budget=5)
    assert len(parts) == 3 and [len(p[0]) for p in parts] == [1, 1, 1]
    assert np.array_equal(items, whole)


def test_blocked_columns_combine_allow_and_deny():
    both = Exclusions(allow=np.array([1, 2, 3]), deny=np.array([2]))
    assert both.blocked_columns(5).tolist() == [0, 2, 4] and both.available(5) == 2
    assert Exclusions().blocked_columns(5) is None


def dot_product_recommender(n_users=50, n_items=400, seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, 2000)
    items = rng.integers(0, n_items, 2000)
    known = make_interactions(users, items, n_users, n_items)
    torch.manual_seed(seed)
    model = BPRMF(n_users, n_items, dim=16)
    with torch.no_grad():
        model.item_bias.weight.normal_(0, 0.5)
        model.user_bias.weight.normal_(0, 0.5)
    return Recommender(model, known), known


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_ann_top_k_matches_exact_with_offsets_and_exclusions(kind):
    pytest.importorskip("faiss")
    rec, _ = dot_product_recommender()
    users = np.arange(50)
    exact_items, exact_scores = rec.top_k(users, k=10)
    rec.build_index(kind, lists=8, probes=8)  # probing every list: exhaustive
    assert rec.retrieval == kind
    items, scores = rec.top_k(users, k=10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(items, exact_items)])
    assert overlap >= 0.99
    np.testing.assert_allclose(np.sort(scores, 1), np.sort(exact_scores, 1), rtol=1e-4)
    seen = rec.seen
    assert not any(seen[u, i] for u, row in zip(users, items) for i in row)
    denied = rec.recommend(list(range(50)), k=5, exclude_items=list(range(0, 400, 2)))
    assert (denied.item % 2 == 1).all() and len(denied) == 250


def test_only_dot_product_models_take_an_index(tmp_path):
    pytest.importorskip("faiss")
    known = make_interactions([0, 1, 2], [0, 1, 2])
    model = NeuMF(3, 3, dim=4, layers=[8, 4])
    rec = load(save_bundle(tmp_path / "b", model, known))
    with pytest.raises(UsageError, match="exact top-k only"):
        rec.build_index("hnsw")
    with pytest.raises(UsageError, match="unknown index kind"):
        dot_product_recommender()[0].build_index("lsh")
