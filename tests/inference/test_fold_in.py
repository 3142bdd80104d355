"""Fold-in of users the model was not trained on, judged on ML-100K: each test user's
training items are folded in as if the user were new, and their held-out item must rank
about as well as under the model's own vector for them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.experiment.preparation import prepare_run
from ncf.experiment.settings import resolve_config
from ncf.experiment.steps import build_model
from ncf.inference.fold_in import fold_in
from ncf.inference.recommender import Recommender
from ncf.random import Generators, seed_torch
from ncf.training.fitting import fit_model

USERS = 300  # users folded in per model


@pytest.fixture(scope="module")
def ml100k(shared_data):
    config = resolve_config({"model": "ease", "data": str(shared_data / "ml-100k"), "split": "loo"})
    return prepare_run(config, Generators.from_seed(0))


def trained(name: str, prepared, **settings):
    config = resolve_config({"model": name, "data": "ml-100k", **settings})
    seed_torch(0)
    model = build_model(config, prepared)
    train = prepared.split.train
    fit_model(model, train, config.train, progress=False)
    model.observe(train)
    return model.eval()


def hit_rates(model, prepared, k: int = 10) -> tuple[float, float, str]:
    """HR@k (full ranking, training items excluded) of the first USERS test users, under
    the model's own scores and folded in from their training items."""
    train, test = prepared.split.train, prepared.split.test
    seen = train.csr()
    users, targets = test.user_ids[:USERS], test.item_ids[:USERS]
    popularity = np.bincount(train.item_ids, minlength=train.n_items)
    with torch.no_grad():
        own = model.score_all(torch.from_numpy(users)).float()
    own_hits = folded_hits = 0
    path = ""
    for row, (user, target) in enumerate(zip(users, targets, strict=True)):
        items = seen[user].indices
        answer = fold_in(model, items, popularity)
        path = answer.path
        for scores, counts in ((own[row].clone(), "own"), (answer.scores.clone(), "folded")):
            scores[torch.from_numpy(items.astype(np.int64))] = -torch.inf
            hit = int(target in scores.topk(k).indices.tolist())
            if counts == "own":
                own_hits += hit
            else:
                folded_hits += hit
    return own_hits / len(users), folded_hits / len(users), path


@pytest.mark.parametrize(
    ("name", "settings", "path", "ratio"),
    [
        ("ease", {}, "row", 1.0),
        ("item-knn", {}, "row", 1.0),
        ("ials", {"dim": 64}, "least squares", 0.9),
        ("bpr-mf", {"epochs": 10}, "least squares", 0.8),
        ("neumf", {"epochs": 3}, "gradient", 0.8),
    ],
)
def test_folded_in_users_rank_their_held_out_item_like_known_users(
    ml100k, name, settings, path, ratio
):
    model = trained(name, ml100k, **settings)
    own, folded, used = hit_rates(model, ml100k)
    assert used == path
    assert own > 0.05, f"{name} did not learn (own HR@10 {own:.3f})"
    assert folded >= ratio * own - 1e-9, f"{name}: folded HR@10 {folded:.3f}, own {own:.3f}"


def test_recommend_items_names_its_path_and_falls_back_to_popularity(ml100k):
    known = ml100k.split.train
    rec = Recommender(trained("ials", ml100k, dim=32, iterations=4), known)
    raw = known.item_vocab.raw(np.array([0, 49, 180]))
    frame = rec.recommend_items(list(raw), k=5)
    assert frame.attrs["path"] == "least squares" and len(frame) == 5
    assert not set(frame["item"]) & set(raw)
    assert "title" in frame.columns
    empty = rec.recommend_items([], k=3)
    assert empty.attrs["path"] == "popularity"
    top = np.argsort(-np.bincount(known.item_ids, minlength=known.n_items), kind="stable")[:3]
    assert set(empty["item"]) == set(known.item_vocab.raw(top))
