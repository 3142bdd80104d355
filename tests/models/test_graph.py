"""NGCF, LightGCN and GF-CF against their formulas on small graphs worked out by hand or
densely, and the user-drawing regime they train with."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncf.data.sampling import SeenSet
from ncf.models import GFCF, NGCF, LightGCN
from ncf.models.graph import csr_rows, local_adjacency, normalised_adjacency, propagate
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.regimes import make_regime
from tests.conftest import make_interactions


def small_graph():
    # user 0 has items 0 and 1 (item 0 twice), user 1 has item 0; item 2 is never seen
    return make_interactions([0, 0, 0, 1], [0, 1, 0, 0], n_users=2, n_items=3)


def test_normalised_adjacency_by_hand():
    dense = normalised_adjacency(small_graph()).to_dense().numpy()
    # nodes: users 0, 1 then items 0, 1, 2; degrees u0 = 2, u1 = 1, i0 = 2, i1 = 1, i2 = 0
    expected = np.zeros((5, 5), np.float32)
    for user, item, value in ((0, 0, 1 / 2), (0, 1, 1 / math.sqrt(2)), (1, 0, 1 / math.sqrt(2))):
        expected[user, 2 + item] = expected[2 + item, user] = value
    np.testing.assert_allclose(dense, expected, rtol=1e-6)


def test_the_local_order_is_a_permutation_of_the_graph():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 40, 300), rng.integers(0, 30, 300)
    known = make_interactions(users, items, n_users=40, n_items=30)
    natural = normalised_adjacency(known).to_dense()
    ordered, order = local_adjacency(known)
    assert sorted(order.tolist()) == list(range(70))
    torch.testing.assert_close(ordered.to_dense(), natural[order][:, order])

    def bandwidth(matrix):
        rows, cols = matrix.nonzero().T
        return (rows - cols).abs().max()

    assert bandwidth(ordered.to_dense()) <= bandwidth(natural)  # neighbours sit closer


def test_propagation_gradient_is_the_dense_one():
    graph = normalised_adjacency(small_graph())
    start = torch.randn(5, 3, dtype=torch.float32)
    weights = torch.randn(5, 3)
    a = start.clone().requires_grad_()
    (propagate(graph, propagate(graph, a)) * weights).sum().backward()
    b = start.clone().requires_grad_()
    dense = graph.to_dense()
    (dense @ (dense @ b) * weights).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_lightgcn_is_the_mean_of_the_propagated_layers():
    train = small_graph()
    torch.manual_seed(0)
    model = LightGCN(2, 3, dim=4, n_layers=2).eval()
    model.observe(train)
    start = torch.cat([model.user_emb.weight, model.item_emb.weight]).detach()
    dense = normalised_adjacency(train).to_dense()
    final = (start + dense @ start + dense @ dense @ start) / 3
    torch.testing.assert_close(model.score_all(torch.tensor([0, 1])), final[:2] @ final[2:].T)
    # the unseen item still has its own embedding / 3: no message reaches it
    torch.testing.assert_close(final[4], start[4] / 3)


def test_ngcf_layer_by_its_formula():
    train = small_graph()
    torch.manual_seed(0)
    model = NGCF(2, 3, dim=4, layers=(3,), message_dropout=0.0).eval()
    model.observe(train)
    start = torch.cat([model.user_emb.weight, model.item_emb.weight]).detach()
    dense = normalised_adjacency(train).to_dense()
    w1, w2 = model.sum_layers[0], model.bi_layers[0]
    side = dense @ start
    layer = torch.nn.functional.leaky_relu(w1(side + start) + w2(side * start), 0.2)
    final = torch.cat([start, torch.nn.functional.normalize(layer, dim=1)], dim=1).detach()
    torch.testing.assert_close(model.score_all(torch.tensor([0, 1])), final[:2] @ final[2:].T)


def test_l2_sees_initial_embeddings_for_lightgcn_and_final_for_ngcf():
    train = small_graph()  # 5 nodes
    light = LightGCN(2, 3, dim=4).train()
    light.observe(train)
    tables = {"u": light.user_emb.weight, "i": light.item_emb.weight}
    # 3 draws (< 5 nodes: the rows gathered) and 6 draws with repeats (>= 5 nodes: each
    # node's row weighted by its count); either way the batch's squared initial rows
    users, positives, negatives = torch.tensor([1]), torch.tensor([0]), torch.tensor([[2]])
    touched = light.pair_scores(users, positives, negatives)[2]
    assert touched[0].shape == (3, 4)
    expected = tables["u"][1].square().sum() + tables["i"][[0, 2]].square().sum()
    torch.testing.assert_close(sum(t.square().sum() for t in touched), expected)
    users, positives, negatives = (
        torch.tensor([0, 0]),
        torch.tensor([1, 1]),
        torch.tensor([[2], [0]]),
    )
    touched = light.pair_scores(users, positives, negatives)[2]
    penalty = sum(t.square().sum() for t in touched)
    expected = 2 * tables["u"][0].square().sum() + tables["i"][[1, 1, 2, 0]].square().sum()
    torch.testing.assert_close(penalty, expected)
    (gradient,) = torch.autograd.grad(penalty, tables["i"])
    counts = torch.tensor([1.0, 2.0, 1.0]).unsqueeze(1)  # items 0, 1, 2 in the batch
    torch.testing.assert_close(gradient, 2 * counts * tables["i"])
    users, positives, negatives = (
        torch.tensor([0, 1]),
        torch.tensor([1, 0]),
        torch.tensor([[2], [2]]),
    )
    ngcf = NGCF(2, 3, dim=4, layers=(4,), message_dropout=0.0).eval()
    ngcf.observe(train)
    final_users, final_items = ngcf.propagated()
    (touched,) = ngcf.pair_scores(users, positives, negatives)[2]
    assert touched.shape == (6, 8)  # E_0 and one layer, concatenated, for 2 x 3 nodes
    torch.testing.assert_close(touched[:2], final_users[users])
    torch.testing.assert_close(touched[2:4], final_items[positives])
    torch.testing.assert_close(touched[4:], final_items[negatives.reshape(-1)])


def test_csr_rows_by_the_dense_matrix():
    rng = np.random.default_rng(1)
    known = make_interactions(
        rng.integers(0, 12, 60), rng.integers(0, 9, 60), n_users=12, n_items=9
    )
    matrix = normalised_adjacency(known)
    rows = torch.tensor([20, 3, 0, 11, 13])  # any order; item 8 (node 20) may be empty
    torch.testing.assert_close(csr_rows(matrix, rows).to_dense(), matrix.to_dense()[rows])


@pytest.mark.parametrize("name", ["ngcf", "lightgcn"])
def test_batch_rows_as_the_whole_graph_gives_them(name):
    # a batch under half the graph's nodes: the last layer computed for its nodes alone,
    # with the same rows and gradients as the whole graph's
    rng = np.random.default_rng(2)
    known = make_interactions(
        rng.integers(0, 15, 80), rng.integers(0, 10, 80), n_users=15, n_items=10
    )
    torch.manual_seed(0)
    if name == "ngcf":
        model = NGCF(15, 10, dim=4, layers=(5, 3), message_dropout=0.0).train()
    else:
        model = LightGCN(15, 10, dim=4, n_layers=2).train()
    model.observe(known)
    users, positives = torch.tensor([3, 3, 7, 0]), torch.tensor([1, 9, 1, 4])
    negatives = torch.tensor([[2, 5], [0, 1], [8, 8], [3, 6]])  # 11 of 25 nodes
    nodes = torch.cat([users, positives + 15, negatives.reshape(-1) + 15])
    assert model.position is not None
    at = model.position[nodes]
    start = model._start()
    whole = model._final(start).index_select(0, at)
    parts = model._final_rows(start, at)
    torch.testing.assert_close(parts, whole)
    weights = list(model.parameters())
    by_parts = torch.autograd.grad(parts.square().sum(), weights)
    by_whole = torch.autograd.grad(whole.square().sum(), weights)
    for a, b in zip(by_parts, by_whole):
        torch.testing.assert_close(a, b)


def test_evaluation_propagates_once_per_weights():
    model = LightGCN(2, 3, dim=4).eval()
    model.observe(small_graph())
    first = model.propagated()
    assert model.propagated()[0] is first[0]  # reused
    with torch.no_grad():
        model.user_emb.weight.add_(1.0)  # new weights: propagated again
    second = model.propagated()
    assert second[0] is not first[0]
    # a fused Adam step (which leaves no trace on the weights' versions) runs in training
    # mode, and going back to it forgets what was cached
    model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.1, fused=True)
    model.propagated()[0].sum().backward()
    optimiser.step()
    model.eval()
    assert not torch.equal(model.propagated()[0], second[0])
    model.load_state_dict(LightGCN(2, 3, dim=4).state_dict())
    assert not torch.equal(model.propagated()[0], second[0])


def test_user_draws_are_uniform_over_users_with_true_positives_and_unseen_negatives():
    # user 0 has 30 items, users 1-3 one each: a uniform draw ignores history length
    users = np.r_[np.zeros(30, int), 1, 2, 3]
    items = np.r_[np.arange(30), 30, 31, 32]
    train = make_interactions(users, items, n_users=5, n_items=40)  # user 4: no items
    regime = make_regime("user-bpr", train, TrainConfig(batch_size=1000), torch.device("cpu"))
    drawn_users, drawn_pos, drawn_neg = [], [], []
    generators = Generators.from_seed(0)
    for _ in range(200):
        plan = regime.epoch(generators)
        u, p, n = plan.batch(0)
        drawn_users.append(u.numpy())
        drawn_pos.append(p.numpy())
        drawn_neg.append(n.numpy())
    u, p, n = (np.concatenate(x) for x in (drawn_users, drawn_pos, drawn_neg))
    assert len(u) == 200 * len(train)  # as many draws per epoch as interactions
    share = np.bincount(u, minlength=5) / len(u)
    np.testing.assert_allclose(share[:4], 0.25, atol=0.02)
    assert share[4] == 0
    seen = SeenSet.from_interactions(train)
    assert seen.contains(u, p).all() and not seen.contains(u[:, None], n).any()


def test_gf_cf_scores_by_the_formula():
    rng = np.random.default_rng(0)
    matrix = (rng.random((30, 12)) < 0.3).astype(np.float32)
    matrix[np.arange(30), rng.integers(0, 11, 30)] = 1  # every user has an item
    matrix[:, 11] = 0  # an item nobody has
    users, items = np.nonzero(matrix)
    train = make_interactions(users, items, n_users=30, n_items=12)
    model = GFCF(30, 12, factors=4, alpha=0.3)
    model.fit(train.csr())
    d_u = matrix.sum(1) ** -0.5
    d_i = np.where(matrix.sum(0) > 0, matrix.sum(0), 1) ** -0.5 * (matrix.sum(0) > 0)
    normalised = d_u[:, None] * matrix * d_i[None, :]
    top = np.linalg.svd(normalised)[2][:4].T  # (items, 4)
    inverse = np.where(d_i > 0, 1 / np.where(d_i > 0, d_i, 1), 0)
    expected = matrix @ normalised.T @ normalised + 0.3 * (matrix * d_i) @ top @ top.T * inverse
    got = model.score_all(torch.arange(30)).numpy()
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_a_bundle_serves_the_embeddings_propagated_as_evaluated(tmp_path):
    """The bundle keeps the propagation over the graph the model last observed (its
    training part), not one over every interaction the bundle stores; the same model
    observing other data propagates afresh."""
    from ncf.inference.bundle import load_parts, save_bundle

    train = small_graph()
    everything = make_interactions([0, 0, 0, 1, 1], [0, 1, 0, 0, 2], n_users=2, n_items=3)
    torch.manual_seed(0)
    model = LightGCN(2, 3, dim=4, n_layers=2).eval()
    model.observe(train)
    as_evaluated = model.score_all(torch.arange(2))
    save_bundle(tmp_path / "b", model, everything)
    assert (tmp_path / "b" / "serving.safetensors").exists()
    loaded, _, _ = load_parts(tmp_path / "b")
    torch.testing.assert_close(loaded.score_all(torch.arange(2)), as_evaluated)
    model.observe(everything)
    over_everything = model.score_all(torch.arange(2))
    assert not torch.allclose(over_everything, as_evaluated)
    loaded.observe(make_interactions([0, 0, 0, 1, 1], [0, 1, 0, 0, 2], n_users=2, n_items=3))
    torch.testing.assert_close(loaded.score_all(torch.arange(2)), over_everything)
