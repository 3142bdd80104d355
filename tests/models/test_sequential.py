"""SASRec's attention and scoring by their defining properties, and the next-item regime
that trains it, on sequences small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.data.histories import PAD
from ncf.data.sampling import SeenSet
from ncf.models import SASRec
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.regimes import make_regime
from tests.conftest import make_interactions


def model(n_items=12):
    torch.manual_seed(0)
    return SASRec(n_users=3, n_items=n_items, dim=8, max_len=6).eval()


def test_padding_before_a_sequence_does_not_change_its_state():
    m = model()
    short = m.features(torch.tensor([[3, 5, 7]]))
    padded = m.features(torch.tensor([[PAD, PAD, PAD, 3, 5, 7]]))
    torch.testing.assert_close(padded[:, -3:], short)


def test_a_position_does_not_see_the_items_after_it():
    m = model()
    a = m.features(torch.tensor([[3, 5, 7, 9]]))
    b = m.features(torch.tensor([[3, 5, 1, 2]]))
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 2:], b[:, 2:])


def test_users_are_scored_from_the_last_observed_items_and_a_new_user_from_a_list():
    m = model()
    # user 0: 1, 2, 3, 4 (row order = time order); user 1: 4, 3, 2, 1; user 2: none
    m.observe(make_interactions([0, 0, 1, 0, 1, 1, 0, 1], [1, 2, 4, 3, 3, 2, 4, 1], 3, 12))
    assert m.history[0].tolist() == [PAD, PAD, 1, 2, 3, 4]
    expected = m.score_histories(torch.tensor([[1, 2, 3, 4]]))  # a new user's list
    torch.testing.assert_close(m.score_all(torch.tensor([0])), expected)
    assert not torch.allclose(m.score_all(torch.tensor([1])), expected)
    # the states are computed once per weights and history, and afresh after observe
    assert m.states() is m.states()
    before = m.states()
    m.observe(make_interactions([0, 0], [7, 8], 3, 12))
    assert m.states() is not before and m.history[0, -2:].tolist() == [7, 8]


def test_next_item_batches_cover_every_user_once_with_next_items_and_unseen_negatives():
    # user 0: 0 1 2 3 4, user 1: 5 6, user 2: 7 (a single item: nothing to predict)
    train = make_interactions([0] * 5 + [1, 1, 2], [0, 1, 2, 3, 4, 5, 6, 7], 3, 20)
    config = TrainConfig(batch_size=1, n_negatives=3)
    regime = make_regime("next-item", train, config, torch.device("cpu"))
    regime.start(model(n_items=20))
    plan = regime.epoch(Generators.from_seed(0))
    assert plan.n_batches == 2
    batches = sorted((plan.batch(b) for b in range(2)), key=lambda b: b[0].shape[1])
    (inputs_1, positives_1, _), (inputs_0, positives_0, negatives_0) = batches
    # each batch is cut to its longest sequence
    assert inputs_1.tolist() == [[5]] and positives_1.tolist() == [[6]]
    assert inputs_0.tolist() == [[0, 1, 2, 3]] and positives_0.tolist() == [[1, 2, 3, 4]]
    assert negatives_0.shape == (1, 4, 3)
    seen = SeenSet.from_interactions(train)
    assert not seen.contains(np.zeros((4, 3), dtype=np.int64), negatives_0[0].numpy()).any()
    loss = regime.loss(model(n_items=20).train(), plan.batch(0))
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_a_new_users_list_is_recommended_from_like_a_known_users_history():
    from ncf.errors import UsageError
    from ncf.inference.recommender import Recommender
    from ncf.models import GMF

    m = model()
    known = make_interactions([0, 0, 0, 1], [1, 2, 3, 4], 3, 12)
    m.observe(known)
    rec = Recommender(m, known)
    fresh = rec.recommend_sequence([1, 2, 3], k=5)
    assert list(fresh.columns) == ["rank", "item", "score"] and len(fresh) == 5
    assert not set(fresh["item"]) & {1, 2, 3}  # the user's own items are left out
    own = rec.recommend([0], k=5)  # user 0 has the same items in the same order
    assert fresh["item"].tolist() == own["item"].tolist()
    np.testing.assert_allclose(fresh["score"], own["score"], rtol=1e-5)
    with pytest.raises(UsageError, match="does not score a list"):
        Recommender(GMF(3, 12), known).recommend_sequence([1])


def test_a_sequence_model_on_data_without_order_fails_clearly(tmp_path):
    from ncf.errors import UsageError
    from ncf.experiment.preparation import prepare_run
    from ncf.experiment.settings import resolve_config

    (tmp_path / "train.txt").write_text("0 1 2 3\n1 2 3 4\n")  # lines of item sets
    (tmp_path / "test.txt").write_text("0 4\n1 0\n")
    config = resolve_config({"model": "sasrec", "data": str(tmp_path)})
    with pytest.raises(UsageError, match="no timestamps and no time order"):
        prepare_run(config, Generators.from_seed(0))
    # the same lines as a sequence file are in time order
    (tmp_path / "seq.txt").write_text("0 1 2 3 4 5\n1 2 3 4 0 5\n2 5 4 3 2 1\n")
    config = resolve_config({"model": "sasrec", "data": str(tmp_path / "seq.txt")})
    assert len(prepare_run(config, Generators.from_seed(0)).split.test) == 3


def test_mpm_scores_a_new_users_short_list_and_takes_one_layer_sizes():
    from ncf.inference.recommender import Recommender
    from ncf.models import MPM

    torch.manual_seed(0)
    m = MPM(3, 12, dim=4, history=5, levels=2, mlp=8, head=8).eval()
    known = make_interactions([0, 0, 1], [1, 2, 4], 3, 12)
    m.observe(known)
    short = Recommender(m, known).recommend_sequence([1, 2], k=3)  # fewer than 5 items
    assert len(short) == 3 and not set(short["item"]) & {1, 2}


def test_sequence_models_train_with_their_own_objective_only_and_warn_on_random_splits():
    from ncf.errors import UsageError
    from ncf.experiment.preparation import prepare_run
    from ncf.experiment.settings import resolve_config

    for model, objective in (("sasrec", "pointwise"), ("mpm", "next-item"), ("gmf", "windows")):
        with pytest.raises(UsageError, match=f"cannot train with objective '{objective}'"):
            resolve_config({"model": model, "objective": objective})
    config = resolve_config({"model": "sasrec", "data": "synthetic", "split": "ratio:0.8,0.1,0.1"})
    with pytest.warns(UserWarning, match="holds out items at random"):
        prepare_run(config, Generators.from_seed(0))
