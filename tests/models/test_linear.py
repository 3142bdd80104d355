"""iALS and item-kNN against values worked out by hand or by a direct solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ncf.inference.fold_in import fold_in
from ncf.models.ease import gram_matrix, inverse_in_place
from ncf.models.ials import IALS
from ncf.models.item_knn import ItemKNN, weighted


def small_matrix() -> sp.csr_matrix:
    """4 users x 5 items."""
    dense = np.array(
        [
            [1, 1, 0, 0, 1],
            [1, 0, 1, 0, 0],
            [0, 1, 1, 1, 0],
            [1, 1, 1, 0, 0],
        ],
        dtype=np.float32,
    )
    return sp.csr_matrix(dense)


def direct_solution(x: np.ndarray, fixed: np.ndarray, l2: float, unobserved: float, nu: float):
    """Each row's minimiser of the iALS objective with the other side fixed, by numpy."""
    n_cols, d = fixed.shape
    out = []
    for row in x:
        seen = fixed[row > 0]
        reg = l2 * (row.sum() + unobserved * n_cols) ** nu
        system = unobserved * fixed.T @ fixed + seen.T @ seen + reg * np.eye(d)
        out.append(np.linalg.solve(system, seen.sum(0)))
    return np.array(out)


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_ials_solves_each_row_exactly(solver):
    x = small_matrix()
    model = IALS(4, 5, dim=3, l2=0.1, unobserved=0.5, exponent=1.0, solver=solver, cg_steps=3)
    fixed = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model.double()
    from ncf.models.base import torch_csr

    matrix = torch_csr(x).to(torch.float64)
    start = torch.zeros(4, 3, dtype=torch.float64)
    got = model.solve(matrix, fixed, start).numpy()
    # conjugate gradient is exact after d steps on a d x d system
    want = direct_solution(x.toarray(), fixed.numpy(), 0.1, 0.5, 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_ials_fold_in_is_the_users_own_solve():
    x = small_matrix()
    model = IALS(4, 5, dim=3, iterations=3, solver="exact")
    model.fit(x)
    items = model.item_emb.weight.double().numpy()
    user = direct_solution(x.toarray(), items, 0.007, 0.3, 1.0)[0]
    # user 0 folded in again: the direct solve of their row against the final items
    answer = fold_in(model, np.array([0, 1, 4]), np.zeros(5))
    assert answer.path == "least squares"
    np.testing.assert_allclose(answer.scores.double().numpy(), items @ user, rtol=1e-4, atol=1e-6)
    repeated = fold_in(model, np.array([4, 0, 1, 0]), np.zeros(5))  # order, repeats: no matter
    np.testing.assert_allclose(repeated.scores.numpy(), answer.scores.numpy(), rtol=1e-5)


def test_ials_rejects_bad_settings():
    with pytest.raises(ValueError, match="solver"):
        IALS(2, 2, solver="qr")
    with pytest.raises(ValueError, match="iterations"):
        IALS(2, 2, iterations=0)


def test_item_knn_cosine_by_hand():
    x = small_matrix()
    model = ItemKNN(4, 5, neighbours=4, shrink=0.0, weighting="none", normalise=0.0)
    model.fit(x)
    # item counts: 3, 3, 3, 1, 1; co-occurrence of items 0 and 1: users 0 and 3 -> 2
    weights = model.weights().to_dense()
    assert weights[1, 0].item() == pytest.approx(2 / 3)  # candidate 1, neighbour 0
    assert weights[4, 0].item() == pytest.approx(1 / np.sqrt(3))
    assert weights[3, 3].item() == 0.0  # never its own neighbour
    assert weights[3, 0].item() == 0.0  # items 0 and 3 never meet
    # user 1 has items 0 and 2: item 1 scores s(1,0) + s(1,2) = 2/3 + 2/3
    scores = model.score_all(torch.tensor([1]))[0]
    assert scores[1].item() == pytest.approx(4 / 3)
    assert scores[3].item() == pytest.approx(1 / np.sqrt(3))  # s(3,2): user 2 has both


def test_item_knn_keeps_the_top_neighbours_and_normalises():
    x = small_matrix()
    model = ItemKNN(4, 5, neighbours=1, shrink=1.0, weighting="none", normalise=1.0)
    model.fit(x)
    # with shrink 1 item 1's best neighbour is 0 or 2 (2 / (3 + 1)), above item 4's 1 / (sqrt 3 + 1)
    assert model.neighbour_index[1].item() in (0, 2)
    spread = torch.zeros(5).index_add_(
        0, model.neighbour_index.reshape(-1), model.neighbour_weight.reshape(-1)
    )
    used = spread > 0
    np.testing.assert_allclose(spread[used].numpy(), 1.0, rtol=1e-6)  # each sums to one


def test_tfidf_weighting_by_hand():
    x = small_matrix()
    out = weighted(x, "tfidf").toarray()
    # user 1 has 2 of the 5 items: idf = log(5 / 3)
    assert out[1, 0] == pytest.approx(np.log(5 / 3))
    assert out[1, 1] == 0.0
    bm25 = weighted(x, "bm25", k1=1.2, b=0.75).toarray()
    length = 0.25 + 0.75 * 3 / (11 / 5)  # item 0: 3 users, the mean is 11 / 5
    assert bm25[1, 0] == pytest.approx(2.2 / (1.2 * length + 1) * np.log(5 / 3), rel=1e-5)


def test_item_knn_similar_items_are_its_neighbours():
    model = ItemKNN(4, 5, neighbours=2, shrink=0.0, weighting="none", normalise=0.0)
    model.fit(small_matrix())
    similar = model.item_similarities(1)
    assert similar[1].item() == 0.0
    assert (similar > 0).sum().item() == 2
    with pytest.raises(ValueError, match="similarity"):
        ItemKNN(2, 2, similarity="jaccard")


def test_ease_inverse_in_place_and_blockwise_gram():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 300)).astype(np.float32)
    matrix = a @ a.T / 300 + np.eye(300, dtype=np.float32)
    want = np.linalg.inv(matrix.astype(np.float64))
    got = inverse_in_place(matrix, block=70)
    assert np.shares_memory(got, matrix)  # no second n x n array
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(got, got.T)
    with pytest.raises(ValueError, match="positive definite"):
        inverse_in_place(-np.eye(4, dtype=np.float32))
    x = small_matrix()
    np.testing.assert_array_equal(gram_matrix(x, block=2), (x.T @ x).toarray())
