"""Using a bundle: top-k excluding seen items, similar items, raw ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ncf.data.interactions import from_raw
from ncf.errors import DataError
from ncf.inference.bundle import save_bundle
from ncf.inference.recommender import load
from ncf.models import GMF, Popularity
from tests.conftest import make_interactions


@pytest.fixture()
def bundle(tmp_path):
    users = np.array(["u1", "u1", "u2", "u3", "u3", "u3"])
    items = np.array([100, 200, 300, 100, 200, 400])
    meta = pd.DataFrame(
        {"title": ["A", "B", "C", "D"], "genres": ["x", "y", "x", "z"]}, index=[100, 200, 300, 400]
    )
    known = from_raw(users, items, items_frame=meta)
    model = Popularity(known.n_users, known.n_items)
    model.fit(known.csr())
    return save_bundle(tmp_path / "bundle", model, known)


def test_recommend_excludes_seen_items_and_speaks_raw_ids(bundle):
    rec = load(bundle)
    top = rec.recommend(["u1", "u2"], k=3)
    u1 = top[top.user == "u1"]
    # only two unseen items (tied at one interaction each)
    assert set(u1.item) == {300, 400} and u1["rank"].tolist() == [1, 2]
    assert set(u1.title) == {"C", "D"}
    u2 = top[top.user == "u2"]
    assert set(u2.item.tolist()[:2]) == {100, 200}  # the two most popular
    assert u2.item.tolist()[2] == 400
    everything = rec.recommend(["u1"], k=2, exclude_seen=False)
    assert set(everything.item) == {100, 200}
    with pytest.raises(DataError, match="unknown user id 'nobody'"):
        rec.recommend(["nobody"])
    assert rec.history("u3").item.tolist() == [100, 200, 400]
    assert rec.recommend("u1", k=3).equals(rec.recommend(["u1"], k=3))  # one id, no list
    assert top.attrs == {"path": "known user", "retrieval": "exact"}


def test_users_come_back_as_the_caller_gave_them(tmp_path):
    known = from_raw(np.array([7, 7, 8, 9]), np.array([1, 2, 1, 3]))
    model = Popularity(known.n_users, known.n_items)
    model.fit(known.csr())
    rec = load(save_bundle(tmp_path / "numeric", model, known))
    assert rec.recommend(["7", "9"], k=1)["user"].tolist() == ["7", "9"]  # text as text
    assert rec.recommend([7, 9], k=1)["user"].tolist() == [7, 9]  # numbers as numbers
    assert rec.predict(["8"], [2])["user"].tolist() == ["8"]  # as predict always did
    every = pd.concat(list(rec.recommend_blocks(None, k=1)))
    assert every["user"].tolist() == [7, 8, 9]  # all users: the data's own ids


def test_a_runs_bundle_excludes_held_out_items_too(shared_data, tmp_path, monkeypatch):
    from ncf.experiment.pipeline import train_run
    from ncf.experiment.settings import resolve_config

    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    config = resolve_config({"model": "popularity", "data": "ml-100k"})
    result = train_run(config, tmp_path / "run", progress=False)
    split = result.prepared.split
    user = split.test.user_vocab.raw(split.test.user_ids[:1])[0]
    held_out = set(
        split.test.item_vocab.raw(
            split.test.item_ids[split.test.user_ids == split.test.user_ids[0]]
        )
    )
    top = load(tmp_path / "run").recommend(user, k=split.train.n_items)
    assert not held_out & set(top.item)  # the user has them: never recommended
    assert len(top) == split.train.n_items - len(load(tmp_path / "run").history(user))


def test_similar_items_by_cosine(tmp_path):
    known = from_raw(np.array([1, 1, 2]), np.array([7, 8, 9]))
    model = GMF(known.n_users, known.n_items, dim=2)
    with torch.no_grad():
        model.item_emb.weight.copy_(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
        model.out.weight.fill_(1.0)
    rec = load(save_bundle(tmp_path / "b", model, known))
    similar = rec.similar(7, k=2)
    assert similar.item.tolist() == [8, 9]
    assert similar.score.iloc[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1), rel=1e-5)


def test_a_model_without_item_vectors_answers_similar_by_co_occurrence(bundle):
    # columns: 100 and 200 are both had by u1 and u3, 400 by u3, 300 by u2 alone
    similar = load(bundle).similar(100, k=3)
    assert similar.attrs["path"] == "co-occurrence"
    assert similar.item.tolist() == [200, 400, 300]
    assert similar.score.tolist() == pytest.approx([1.0, 1 / np.sqrt(2), 0.0])


def test_deny_and_allow_lists(bundle):
    rec = load(bundle)
    # u2 has 300; popularity order of the rest: 100, 200 (two each), 400
    assert rec.recommend("u2", k=3, exclude_items=[100, 999]).item.tolist() == [200, 400]
    assert rec.recommend("u2", k=3, candidates=[400, 300, 999]).item.tolist() == [400]
    both = rec.recommend("u2", k=3, candidates=[100, 200], exclude_items=[200])
    assert both.item.tolist() == [100]
    new = rec.recommend_items([300], k=3, exclude_items=[100])
    assert new.item.tolist() == [200, 400] and new.attrs["path"] == "popularity"
    assert rec.recommend("u2", candidates=[999]).empty  # no known candidate: nothing


def test_corrupted_bundle_fails_clearly(bundle):
    (bundle / "weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="cannot read bundle"):
        load(bundle)


def test_truncated_bundle_files_fail_clearly(tmp_path):
    model = GMF(4, 3, dim=2)
    known = make_interactions([0, 1, 2, 3], [0, 1, 2, 0])
    for name in ("weights.safetensors", "interactions.parquet", "config.json"):
        folder = save_bundle(tmp_path / name, model, known)
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(DataError, match=rf"{name}|cannot read bundle"):
            load(folder)
