"""The training-free graph filters (BSPM, ChebyCF and what they share with GF-CF) against
their formulas, worked out densely on a small random graph: the ODE solutions by the
polynomials they equal, the Chebyshev filter by the eigendecomposition of P~."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncf.models import BSPM, GFCF, ChebyCF
from ncf.models.chebycf import plateau_coefficients
from ncf.models.spectral import top_item_vectors
from tests.conftest import make_interactions


@pytest.fixture(scope="module")
def graph():
    """(binary matrix (30, 12), its interactions): item 11 has no user."""
    rng = np.random.default_rng(0)
    matrix = (rng.random((30, 12)) < 0.3).astype(np.float64)
    matrix[np.arange(30), rng.integers(0, 11, 30)] = 1
    matrix[:, 11] = 0
    users, items = np.nonzero(matrix)
    return matrix, make_interactions(users, items, n_users=30, n_items=12)


def dense_parts(matrix, k):
    """P~, the items' degrees and the top k right singular vectors, densely."""
    degree = matrix.sum(0)
    d_i = np.where(degree > 0, np.where(degree > 0, degree, 1) ** -0.5, 0)
    normalised = matrix.sum(1, keepdims=True) ** -0.5 * matrix * d_i
    top = np.linalg.svd(normalised)[2][:k].T
    return normalised.T @ normalised, degree, top


def power(degree, p):
    return np.where(degree > 0, np.where(degree > 0, degree, 1) ** p, 0)


def scores(model, interactions):
    model.fit(interactions.csr())
    return model.score_all(torch.arange(interactions.n_users)).double().numpy()


def test_bspm_defaults_are_one_euler_blur_and_one_rk4_sharpening(graph):
    matrix, interactions = graph
    gram, degree, top = dense_parts(matrix, 4)
    ideal = (matrix * power(degree, -0.5)) @ top @ top.T * power(degree, 0.5)
    start = matrix @ gram + 0.2 * ideal
    step = -2.5 * gram  # RK4 on x' = -x P~ over one step of 2.5: the degree-4 Taylor sum
    taylor = sum(np.linalg.matrix_power(step, j) / math.factorial(j) for j in range(5))
    expected = start @ taylor
    got = scores(BSPM(30, 12, factors=4), interactions)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_bspm_euler_steps_and_ideal_added_after(graph):
    matrix, interactions = graph
    gram, degree, top = dense_parts(matrix, 3)
    eye = np.eye(12)
    blurred = matrix @ np.linalg.matrix_power(eye + 0.3 * (gram - eye), 2)  # 2 steps of 0.3
    sharpened = blurred @ np.linalg.matrix_power(eye - 0.5 * gram, 3)  # 3 Euler steps of 0.5
    ideal = (matrix * power(degree, -0.5)) @ top @ top.T * power(degree, 0.5)
    model = BSPM(
        30,
        12,
        factors=3,
        ideal_weight=0.4,
        blur_time=0.6,
        blur_steps=2,
        sharpen_time=1.5,
        sharpen_steps=3,
        sharpen_solver="euler",
        final_sharpening=False,
    )
    np.testing.assert_allclose(scores(model, interactions), sharpened + 0.4 * ideal, atol=1e-4)


def test_bspm_without_sharpening_adds_the_ideal_term_once(graph):
    matrix, interactions = graph
    gram, degree, top = dense_parts(matrix, 3)
    ideal = (matrix * power(degree, -0.5)) @ top @ top.T * power(degree, 0.5)
    model = BSPM(30, 12, factors=3, ideal_weight=0.3, sharpen_time=0.0)
    np.testing.assert_allclose(scores(model, interactions), matrix @ gram + 0.3 * ideal, atol=1e-4)


def test_bspm_combines_every_state_when_asked(graph):
    matrix, interactions = graph
    gram, _, _ = dense_parts(matrix, 1)
    blurred = matrix @ gram
    sharpened = blurred @ (np.eye(12) - 2.0 * gram)
    model = BSPM(30, 12, factors=0, sharpen_time=2.0, sharpen_solver="euler", combine_steps=True)
    np.testing.assert_allclose(scores(model, interactions), (blurred + sharpened) / 2, atol=1e-4)


def test_plateau_coefficients_interpolate_at_the_chebyshev_nodes():
    order, flatness = 8, 1.5
    coefficients = plateau_coefficients(order, flatness)
    nodes = -np.cos((np.arange(order + 1) + 0.5) / (order + 1) * math.pi)  # increasing
    values = np.polynomial.chebyshev.chebval(nodes, coefficients)
    grid = np.round(np.cos((order - np.arange(order + 1)) / order * math.pi), 3)
    target = np.round(0.5 - 0.5 * np.sign(grid) * np.abs(grid) ** flatness, 3)
    np.testing.assert_allclose(values, target, atol=1e-12)
    assert target[0] == 1 and target[-1] == 0  # passes the lowest frequency, stops the highest


def test_chebycf_is_its_transfer_function_on_the_spectrum(graph):
    matrix, interactions = graph
    gram, degree, top = dense_parts(matrix, 4)
    eigenvalues, basis = np.linalg.eigh(np.eye(12) - 2 * gram)  # L~, spectrum in [-1, 1]
    coefficients = plateau_coefficients(5, 2.0)
    response = np.polynomial.chebyshev.chebval(np.clip(eigenvalues, -1, 1), coefficients)
    signal = matrix * power(degree, -0.3)
    expected = (signal @ basis @ np.diag(response) @ basis.T + 0.5 * signal @ top @ top.T) * power(
        degree, 0.3
    )
    model = ChebyCF(30, 12, order=5, flatness=2.0, factors=4, alpha=0.5, beta=0.3)
    np.testing.assert_allclose(scores(model, interactions), expected, atol=1e-4)
    assert np.all(scores(model, interactions)[:, 11] == 0)  # an item nobody has scores 0


def test_the_randomised_and_exact_svd_span_the_same_top_vectors(graph):
    matrix, _ = graph
    import scipy.sparse as sp

    normalised = sp.csr_matrix(matrix / np.sqrt(matrix.sum(1, keepdims=True)))
    exact, randomised = (top_item_vectors(normalised, 3, m) for m in ("exact", "randomized"))
    dense = np.linalg.svd(normalised.toarray())[2][:3].T
    for vectors in (exact, randomised):
        np.testing.assert_allclose(np.abs((vectors * dense).sum(0)), 1, atol=1e-4)


def test_a_gf_cf_bundle_of_the_older_layout_loads(graph):
    _, interactions = graph
    model = GFCF(30, 12, factors=4)
    model.fit(interactions.csr())
    state = model.state_dict()
    degree = state.pop("item_degree")
    state["item_scale"] = torch.where(degree > 0, degree.clamp(min=1) ** -0.5, 0)
    again = GFCF(30, 12, factors=4)
    again.load_state_dict(state)
    again.observe(interactions)
    torch.testing.assert_close(again.item_degree, degree)
    torch.testing.assert_close(
        again.score_all(torch.arange(30)), model.score_all(torch.arange(30)), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("bspm", {"blur_solver": "dopri5"}, "solvers are"),
        ("bspm", {"sharpen_steps": 0}, "steps must be"),
        ("chebycf", {"order": 0}, "order must be"),
        ("chebycf", {"svd": "lanczos"}, "svd must be"),
        ("gf-cf", {"factors": -1}, "factors must be"),
    ],
)
def test_bad_settings_are_refused(name, settings, message):
    from ncf.models import MODELS

    with pytest.raises(ValueError, match=message):
        MODELS[name](10, 10, **settings)


def test_the_sparse_exact_svd_finds_the_top_vectors(monkeypatch):
    """PROPACK on a matrix of full rank; on one of rank 2 it returns wrong triples, and
    ARPACK takes over: the span of the top singular vectors is the dense SVD's."""
    import scipy.sparse as sp

    from ncf.models import spectral

    monkeypatch.setattr(spectral, "_DENSE_SVD", 0)
    rng = np.random.default_rng(1)
    full = sp.csr_matrix(rng.random((60, 40)) * (rng.random((60, 40)) < 0.3))
    low = sp.csr_matrix(np.kron(np.eye(2), np.ones((6, 5))))  # two blocks: rank 2
    for matrix, k in ((full, 6), (low, 2)):
        got = top_item_vectors(matrix, k, "exact").astype(np.float64)
        dense = np.linalg.svd(matrix.toarray())[2][:k].T
        np.testing.assert_allclose(got @ got.T, dense @ dense.T, atol=1e-5)
