"""Training regimes: the batches of an epoch and the loss on one, per way of training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.errors import DataError
from ncf.evaluation.protocols import RatingEvaluator
from ncf.models import GMF, MFBias, MultVAE
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer
from ncf.training.regimes import Pairwise, Pointwise, Rating, UserRows
from tests.conftest import checkerboard, make_interactions, rated_checkerboard

CPU = torch.device("cpu")


def rows(plan):
    return [plan.batch(b) for b in range(plan.n_batches)]


def test_rating_batches_cover_every_row_once_per_epoch():
    data = make_interactions([0, 0, 1, 1, 2], [0, 1, 0, 2, 1], ratings=[5, 4, 3, 2, 1])
    regime = Rating(data, TrainConfig(batch_size=2), CPU)
    plan = regime.epoch(Generators.from_seed(0))
    batches = rows(plan)
    assert plan.n_batches == 3 and [len(b[0]) for b in batches] == [2, 2, 1]
    seen = sorted((int(u), int(i), float(r)) for b in batches for u, i, r in zip(*b, strict=True))
    assert seen == [(0, 0, 5.0), (0, 1, 4.0), (1, 0, 3.0), (1, 2, 2.0), (2, 1, 1.0)]
    whole = Rating(data, TrainConfig(batch_size=2, full_batch=True), CPU)
    assert whole.epoch(Generators.from_seed(0)).n_batches == 1


def test_rating_loss_is_the_mean_squared_error():
    data = make_interactions([0, 1], [0, 1], ratings=[4.0, 2.0])
    model = MFBias(2, 2, dim=2)
    with torch.no_grad():
        model.user_emb.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        model.item_emb.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
        model.global_bias.fill_(1.0)
    regime = Rating(data, TrainConfig(), CPU)
    batch = (torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([4.0, 2.0]))
    # predictions 1 + 2 = 3 and 1 + 3 = 4: errors -1 and 2, MSE (1 + 4) / 2
    assert regime.loss(model.eval(), batch).item() == pytest.approx(2.5)
    summed = Rating(data, TrainConfig(reduction="sum"), CPU)
    assert summed.loss(model.eval(), batch).item() == pytest.approx(5.0)


def test_rating_regime_starts_models_at_the_mean_and_refuses_implicit_data():
    data = make_interactions([0, 1, 1], [0, 1, 0], ratings=[5.0, 3.0, 4.0])
    model = GMF(2, 2, dim=4)
    Rating(data, TrainConfig(), CPU).start(model)
    assert model.out.bias.item() == pytest.approx(4.0)
    with pytest.raises(DataError, match="needs data with ratings"):
        Rating(checkerboard(4, 4), TrainConfig(), CPU)


@pytest.mark.parametrize(
    ("regime", "per_batch"), [(Pointwise, 1000 // (1 + 4)), (Pairwise, 1000 // 4)]
)
def test_sampled_regimes_batch_sizes(regime, per_batch):
    data = checkerboard(40, 40)
    plan = regime(data, TrainConfig(batch_size=1000, n_negatives=4), CPU).epoch(
        Generators.from_seed(0)
    )
    users, positives, negatives = plan.batch(0)
    assert len(users) == per_batch and negatives.shape == (per_batch, 4)
    assert plan.n_batches == -(-len(data) // per_batch)
    # exact sampler: no negative is an item the user liked (same parity)
    assert ((negatives % 2) != (users[:, None] % 2)).all()


def test_a_rating_model_is_selected_on_the_lowest_rmse():
    train = rated_checkerboard(20, 20)
    evaluator = RatingEvaluator.build(train, train)
    model = MFBias(20, 20, dim=4)
    config = TrainConfig(epochs=6, lr=0.05, batch_size=64, monitor="rmse", patience=6)
    trainer = Trainer(model, train, config, evaluator, Generators.from_seed(0), progress=False)
    history = trainer.fit()
    scores = [row["valid_rmse"] for row in history]
    assert trainer.best_epoch == int(np.argmin(scores)) + 1
    assert evaluator(model)["rmse"] == pytest.approx(min(scores))
    assert min(scores) < 1.0  # ratings 1 and 5: the mean alone is 2.0 off


def test_user_rows_batches_and_multinomial_likelihood():
    data = make_interactions([0, 0, 2, 3], [0, 2, 1, 1])  # user 1 has nothing
    regime = UserRows(data, TrainConfig(batch_size=2), CPU)
    plan = regime.epoch(Generators.from_seed(0))
    batches = rows(plan)
    assert plan.n_batches == 2 and [len(b[0]) for b in batches] == [2, 1]
    got = sorted(tuple(r.tolist()) for b in batches for r in b[0])
    assert got == [(0.0, 1.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 1.0)]

    class Fixed(torch.nn.Module):  # logits log(1, 2, 1): softmax (1/4, 1/2, 1/4)
        def row_logits(self, batch_rows):
            logits = torch.log(torch.tensor([1.0, 2.0, 1.0])).expand_as(batch_rows)
            return logits, 0.5

    batch = (torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),)
    # -(log 1/4 + log 1/4) = 2 log 4 and -log 1/2 = log 2: mean 2.5 log 2, plus the penalty
    loss = regime.loss(Fixed(), batch).item()  # type: ignore[arg-type]
    assert loss == pytest.approx(2.5 * np.log(2) + 0.5)
    summed = UserRows(data, TrainConfig(reduction="sum"), CPU)
    assert summed.loss(Fixed(), batch).item() == pytest.approx(5 * np.log(2) + 1.0)


def test_mult_vae_anneals_beta_with_its_updates():
    model = MultVAE(4, 6, layers=[8, 2], dropout=0.0, beta=0.2, anneal_steps=4)
    rows_ = torch.tensor([[1.0, 0, 0, 1, 0, 0]])
    weights = []
    with torch.no_grad():
        for _ in range(6):
            mean, log_var = model.encode(rows_)
            kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(1).mean()
            _, penalty = model.train().row_logits(rows_)
            weights.append(round(float(penalty) / float(kl), 6))
    assert weights == [0.05, 0.1, 0.15, 0.2, 0.2, 0.2]
    assert int(model.steps) == 6 and "steps" in model.state_dict()
    logits, penalty = model.eval().row_logits(rows_)
    assert penalty == 0.0 and int(model.steps) == 6  # evaluation counts no update


@pytest.mark.parametrize("regime_class", [Pointwise, Pairwise])
def test_negatives_drawn_on_the_device_are_unseen(regime_class):
    """The GPU path (`sample_negatives_torch`), run here on the CPU: every positive keeps
    its row, every negative is unseen, and the run's seed decides the draws."""
    from ncf.data.sampling import seen_keys

    train = checkerboard()
    config = TrainConfig(batch_size=64, n_negatives=3)

    def epoch():
        regime = regime_class(train, config, CPU)
        regime.on_device, regime.keys = True, seen_keys(train, CPU)
        return rows(regime.epoch(Generators.from_seed(5)))

    batches = epoch()
    users = torch.cat([b[0] for b in batches]).numpy()
    positives = torch.cat([b[1] for b in batches]).numpy()
    negatives = torch.cat([b[2] for b in batches]).numpy()
    assert sorted(zip(users, positives)) == sorted(zip(train.user_ids, train.item_ids))
    liked = (users[:, None] + negatives) % 2 == 0  # the checkerboard's rule
    assert negatives.shape == (len(train), 3) and not liked.any()
    assert np.array_equal(negatives, torch.cat([b[2] for b in epoch()]).numpy())
