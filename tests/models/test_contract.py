"""The shared contract, run over every registered model."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch

from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.inference.bundle import load_parts, save_bundle
from ncf.models import MODELS
from ncf.models.base import ClosedForm
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.fitting import fit_model
from tests.conftest import checkerboard, rated_checkerboard

NAMES = sorted(MODELS)
TRAIN_KEYS = {f.name for f in fields(TrainConfig)}


def build(name, train, seed=0):
    torch.manual_seed(seed)
    small = {
        "gmf": {"dim": 8},
        "mlp": {"layers": [16, 8]},
        "neumf": {"dim": 8, "layers": [16, 8]},
        "bpr-mf": {"dim": 8},
        "ease": {"l2": 1.0},
        "ials": {"dim": 8, "iterations": 4},
        "item-knn": {"neighbours": 10},
        "mf": {"dim": 8},
        "mf-bias": {"dim": 8},
        "concat-net": {"dim": 8},
        "embedding-net": {"dim": 8, "layers": [16, 16], "dropouts": [0.1, 0.1]},
        "autoencoder": {"layers": [8, 16], "dropout": 0.0},
        "mult-vae": {"layers": [16, 8], "dropout": 0.0, "anneal_steps": 100},
        "ngcf": {"dim": 8, "layers": [8, 8], "message_dropout": 0.0},
        "lightgcn": {"dim": 8, "n_layers": 2},
        "gf-cf": {"factors": 4},
        "bspm": {"factors": 4},
        "chebycf": {"factors": 4},
        "sasrec": {"dim": 8, "max_len": 16},
        "mpm": {"dim": 8, "history": 3, "levels": 2, "mlp": [16, 8], "head": [16, 8]},
        "hybrid": {"user_dim": 8, "item_dim": 8, "layers": [16]},
    }
    model = MODELS[name](train.n_users, train.n_items, **small.get(name, {}))
    if name == "hybrid":  # it starts from a trained embedding model
        model.start_from({"base": fit("ials", train, seed)})
    return model


def training_data(name, n_users=40, n_items=40):
    """The checkerboard: liked pairs, or every pair rated for models trained on ratings."""
    if MODELS[name].objective in ("rating", "item-rows"):
        return rated_checkerboard(n_users, n_items)
    return checkerboard(n_users, n_items)


def fit(name, train, seed=0, epochs=60):
    model = build(name, train, seed)
    own = {k: v for k, v in model.train_defaults.items() if k in TRAIN_KEYS}
    config = TrainConfig(
        **{
            **own,
            "epochs": epochs,
            "batch_size": 128,
            "lr": 0.02,
            "reg": 0.0,
            "n_negatives": 2,
        }
    )
    fit_model(model, train, config, generators=Generators.from_seed(seed), progress=False)
    model.observe(train)  # models that score from the interactions keep them
    return model.eval()


@pytest.mark.parametrize("name", NAMES)
def test_checkerboard_known_answer(name):
    """Users like items of their parity: the top 10 of every user must all be liked."""
    model = fit(name, training_data(name))
    train = checkerboard()
    result = Evaluator.build(train, Protocol("full"), None, ks=(10,))(model)
    if MODELS[name].personalised:
        assert result["precision@10"] == 1.0
    else:  # popularity ranks the most trained items first, whoever the user is
        scores = model.score_all(torch.tensor([0, 1])).numpy()
        assert np.array_equal(scores[0], scores[1])
        assert np.array_equal(scores[0], train.item_counts().astype(np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_score_all_agrees_with_forward(name):
    train = training_data(name, n_users=12, n_items=10)
    model = fit(name, train, epochs=1)
    users = torch.tensor([0, 3, 7])
    every = model.score_all(users)
    assert every.shape == (3, train.n_items)
    pairs_u = users.repeat_interleave(train.n_items)
    pairs_i = torch.arange(train.n_items).repeat(3)
    torch.testing.assert_close(model(pairs_u, pairs_i).view(3, -1), every, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["gmf", "mlp", "neumf", "bpr-mf"])
def test_pair_scores_are_forward_on_every_pair(name):
    """The models that look each user up once per batch row score as `forward` does, and
    train the same parameters, with the same L2 where they regularise."""
    from ncf.models.base import Model
    from ncf.training.losses import l2_penalty

    train = training_data(name, n_users=12, n_items=10)
    model = fit(name, train, epochs=1).train()
    users, positives = torch.tensor([0, 3, 7, 3]), torch.tensor([1, 2, 9, 4])
    negatives = torch.tensor([[0, 5, 6], [1, 1, 8], [2, 3, 4], [9, 0, 7]])
    fast = model.pair_scores(users, positives, negatives, regularise=False)
    plain = Model.pair_scores(model, users, positives, negatives, regularise=False)
    torch.testing.assert_close(fast[:2], plain[:2], rtol=1e-5, atol=1e-6)
    model.zero_grad()
    (fast[0].sum() - fast[1].sum()).backward()
    fast_grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    (plain[0].sum() - plain[1].sum()).backward()
    for key, param in model.named_parameters():
        torch.testing.assert_close(fast_grads[key], param.grad, rtol=1e-4, atol=1e-6)
    if name == "bpr-mf":
        fast_l2 = l2_penalty(model.pair_scores(users, positives, negatives)[2], 4)
        plain_l2 = l2_penalty(Model.pair_scores(model, users, positives, negatives)[2], 4)
        torch.testing.assert_close(fast_l2, plain_l2)


@pytest.mark.parametrize("name", [n for n in NAMES if not issubclass(MODELS[n], ClosedForm)])
def test_every_parameter_gets_a_gradient(name):
    train = training_data(name, n_users=12, n_items=10)
    model = build(name, train).train()
    model.observe(train)
    users, items = torch.arange(12), torch.arange(12) % 10
    model(users, items).sum().backward()
    for pname, param in model.named_parameters():
        if param.requires_grad:  # the hybrid's copied tables train only when unfrozen
            assert param.grad is not None and param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_model(name):
    train = training_data(name, n_users=12, n_items=10)
    a, b = fit(name, train, seed=3, epochs=2), fit(name, train, seed=3, epochs=2)
    for (key, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), key
    if not issubclass(MODELS[name], ClosedForm):
        c = fit(name, train, seed=4, epochs=2)
        assert any(
            not torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values())
        )


@pytest.mark.parametrize("name", NAMES)
def test_bundle_round_trip_gives_equal_scores(name, tmp_path):
    train = training_data(name, n_users=12, n_items=10)
    model = fit(name, train, epochs=2)
    save_bundle(tmp_path / "bundle", model, train)
    loaded, known, config = load_parts(tmp_path / "bundle")
    assert config["model"] == name and len(known) == len(train)
    users = torch.arange(12)
    torch.testing.assert_close(loaded.score_all(users), model.score_all(users))
    assert not list(tmp_path.glob("**/*.pt")) and not list(tmp_path.glob("**/*.pkl"))


@pytest.mark.parametrize("name", NAMES)
def test_user_factors_rank_as_score_all(name):
    """Where a model offers user and item factors, u . v + b is its score up to a
    constant per user (what an inner-product index retrieves by)."""
    train = training_data(name, n_users=12, n_items=10)
    model = fit(name, train, epochs=1)
    users = torch.tensor([0, 3, 7])
    factors, vectors = model.item_factors(), model.user_factors(users)
    assert (factors is None) == (vectors is None)
    if factors is None:
        return
    items, offsets = factors
    inner = vectors @ items.T + (0 if offsets is None else offsets)
    gap = model.score_all(users) - inner
    torch.testing.assert_close(gap, gap[:, :1].expand_as(gap), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_is_served_from_its_bundle(name, tmp_path):
    """Known users, a new user (by the fold-in path the model affords) and similar items
    from a loaded bundle: each answer full length, without the user's items, and naming
    its path."""
    from ncf.inference.fold_in import PATHS
    from ncf.inference.recommender import load

    train = training_data(name, n_users=12, n_items=10)
    model = fit(name, train, epochs=2)
    save_bundle(tmp_path / "bundle", model, train)
    rec = load(tmp_path / "bundle")
    top = rec.recommend([0, 5], k=3, exclude_seen=False)
    assert len(top) == 6 and top.attrs["path"] == "known user"
    np.testing.assert_allclose(
        top.score.to_numpy().reshape(2, 3),
        model.score_all(torch.tensor([0, 5])).topk(3).values.detach().numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
    new = rec.recommend_items([1, 3], k=4)
    assert len(new) == 4 and not {1, 3} & set(new.item) and new.attrs["path"] in PATHS
    assert rec.recommend_items([], k=2).attrs["path"] == "popularity"
    similar = rec.similar(2, k=3)
    assert len(similar) == 3 and 2 not in set(similar.item)
    assert similar.attrs["path"] in ("neighbours", "embeddings", "co-occurrence")
