"""The training loop: learning, early stopping, resume, schedules."""

from __future__ import annotations

import math
import os
import shutil
import signal
from dataclasses import replace

import numpy as np
import pytest
import torch

from ncf.data.splits import make_split
from ncf.data.synthetic import make_synthetic
from ncf.errors import Interrupted, UsageError
from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.models import GMF, MLP, NeuMF, Popularity, load_pretrained
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer


@pytest.fixture(scope="module")
def split():
    return make_split(
        make_synthetic(n_users=400, n_items=300, seed=1), "loo", np.random.default_rng(0)
    )


def evaluator(split, part="valid"):
    exclude = [split.train] if part == "valid" else [split.train, split.valid]
    return Evaluator.build(getattr(split, part), Protocol("full"), exclude, ks=(10,))


def train(split, config, model, init_seed=0, checkpoint=None, resume=None):
    """Trains ``model(n_users, n_items)`` (weights drawn with ``init_seed``); the sampling
    streams are always seed 0, so a resumed run differs only in what the checkpoint fixes."""
    torch.manual_seed(init_seed)
    model = model(split.train.n_users, split.train.n_items)
    trainer = Trainer(
        model,
        split.train,
        config,
        evaluator(split),
        Generators.from_seed(0),
        checkpoint=checkpoint,
        progress=False,
    )
    if resume is not None:
        trainer.resume(resume)
    trainer.fit()
    return model, trainer


def train_gmf(split, config):
    return train(split, config, lambda n_users, n_items: GMF(n_users, n_items, dim=16))


def test_a_trained_model_beats_popularity_on_planted_structure(split):
    model, trainer = train_gmf(split, TrainConfig(epochs=8, batch_size=1024, lr=0.01))
    popularity = Popularity(split.train.n_users, split.train.n_items)
    popularity.fit(split.train.csr())
    test = evaluator(split, "test")
    assert test(model)["ndcg@10"] > 1.3 * test(popularity)["ndcg@10"]
    losses = [row["loss"] for row in trainer.history]
    assert losses[-1] < losses[0]


def test_early_stopping_restores_the_best_epoch(split):
    model, trainer = train_gmf(split, TrainConfig(epochs=40, batch_size=512, lr=0.05, patience=2))
    scores = [row["valid_ndcg@10"] for row in trainer.history]
    assert trainer.epoch < 40  # stopped early
    assert trainer.best_epoch == int(np.argmax(scores)) + 1
    assert evaluator(split)(model)["ndcg@10"] == pytest.approx(max(scores))


def train_neumf(split, config, init_seed=0, checkpoint=None, resume=None):
    """A NeuMF with dropout, so that the global RNG's state matters too."""

    def neumf(n_users, n_items):
        return NeuMF(n_users, n_items, dim=8, layers=[16, 8], dropout=0.3)

    return train(split, config, neumf, init_seed, checkpoint, resume)


def assert_same_weights(a, b):
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), key


RESUME_CONFIG = TrainConfig(epochs=3, batch_size=512, lr=0.01, schedule="cosine", patience=10)


@pytest.fixture(scope="module")
def uninterrupted(split):
    return train_neumf(split, RESUME_CONFIG)


def fail_at_batch(monkeypatch, batch, action):
    """Makes `action()` happen right after the ``batch``-th optimisation step (0-based)."""
    calls = {"n": 0}
    step = Trainer._step

    def counting(self, *args):
        loss = step(self, *args)
        if calls["n"] == batch:
            action()
        calls["n"] += 1
        return loss

    monkeypatch.setattr(Trainer, "_step", counting)


def record_resumes(monkeypatch):
    """The `Trainer.resumed_at` of every resume from now on."""
    notes, resume = [], Trainer.resume

    def recording(self, path):
        resume(self, path)
        notes.append(self.resumed_at())

    monkeypatch.setattr(Trainer, "resume", recording)
    return notes


@pytest.mark.parametrize(("signum", "draw"), [(signal.SIGINT, 1), (signal.SIGTERM, 2)])
def test_a_signal_at_a_random_batch_checkpoints_and_resumes_exactly(
    split, tmp_path, monkeypatch, uninterrupted, signum, draw
):
    model, trainer = uninterrupted
    per_epoch = -(-len(split.train) // (RESUME_CONFIG.batch_size // 5))
    batch = int(np.random.default_rng(draw).integers(0, 3 * per_epoch - 1))
    if (batch + 1) % per_epoch == 0:
        batch -= 1  # keep the stop inside an epoch: the mid-epoch state is what is tested
    fail_at_batch(monkeypatch, batch, lambda: os.kill(os.getpid(), signum))
    checkpoint = tmp_path / "ck.pt"
    with pytest.raises(Interrupted, match="--resume") as caught:
        train_neumf(split, RESUME_CONFIG, checkpoint=checkpoint)
    assert caught.value.signum == signum
    assert signal.getsignal(signum) is not None  # handlers are put back
    state = torch.load(checkpoint, weights_only=True)
    assert state["epoch"] == batch // per_epoch
    assert state["partial"]["batch"] == batch % per_epoch + 1
    monkeypatch.undo()
    notes = record_resumes(monkeypatch)
    resumed, again = train_neumf(
        split, RESUME_CONFIG, init_seed=7, checkpoint=checkpoint, resume=checkpoint
    )
    position = batch % per_epoch + 2  # 1-based, the one after the last step taken
    assert notes == [f"in epoch {batch // per_epoch + 1} of 3, at batch {position}"]
    assert_same_weights(model, resumed)
    assert [r["loss"] for r in again.history] == [r["loss"] for r in trainer.history]
    assert [r["valid_ndcg@10"] for r in again.history] == [
        r["valid_ndcg@10"] for r in trainer.history
    ]


def test_a_crash_at_a_random_batch_resumes_from_the_last_epoch_exactly(
    split, tmp_path, monkeypatch, uninterrupted
):
    model, trainer = uninterrupted
    per_epoch = -(-len(split.train) // (RESUME_CONFIG.batch_size // 5))
    batch = int(np.random.default_rng(3).integers(per_epoch, 3 * per_epoch))

    def crash():
        raise MemoryError("simulated crash")

    fail_at_batch(monkeypatch, batch, crash)
    checkpoint = tmp_path / "ck.pt"
    with pytest.raises(MemoryError):
        train_neumf(split, RESUME_CONFIG, checkpoint=checkpoint)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == batch // per_epoch
    monkeypatch.undo()
    notes = record_resumes(monkeypatch)
    resumed, again = train_neumf(
        split, RESUME_CONFIG, init_seed=7, checkpoint=checkpoint, resume=checkpoint
    )
    assert notes == [f"after epoch {batch // per_epoch} of 3"]
    assert_same_weights(model, resumed)
    assert [r["loss"] for r in again.history] == [r["loss"] for r in trainer.history]


def test_the_same_seed_gives_bit_identical_weights_and_history(split, uninterrupted):
    model, trainer = uninterrupted
    again, second = train_neumf(split, RESUME_CONFIG)
    assert_same_weights(model, again)
    assert [r["loss"] for r in second.history] == [r["loss"] for r in trainer.history]


def test_history_logs_the_learning_rate_each_epoch_trained_with(split):
    """Regression: the rate was read after ``scheduler.step()``, one epoch late."""
    _, trainer = train_gmf(
        split,
        TrainConfig(
            epochs=4, batch_size=2048, lr=0.01, schedule="step", step_size=2, gamma=0.1, patience=10
        ),
    )
    assert [round(row["lr"], 6) for row in trainer.history] == [0.01, 0.01, 0.001, 0.001]
    _, trainer = train_gmf(
        split, TrainConfig(epochs=4, batch_size=2048, lr=0.01, schedule="cosine", patience=10)
    )
    rates = [row["lr"] for row in trainer.history]
    assert rates[0] == 0.01 and rates[1] == pytest.approx(0.01 * (1 + math.cos(math.pi / 4)) / 2)


def test_epoch_zero_scores_the_untrained_model_without_selecting_it(split):
    config = TrainConfig(epochs=3, batch_size=1024, lr=0.01, patience=10, eval_at_start=True)
    _, trainer = train_gmf(split, config)
    epochs = [row["epoch"] for row in trainer.history]
    assert epochs == [0, 1, 2, 3] and "loss" not in trainer.history[0]
    untrained = trainer.history[0]["valid_ndcg@10"]
    assert all(row["valid_ndcg@10"] > untrained for row in trainer.history[1:])
    assert trainer.best_epoch >= 1


def test_config_validation_names_the_bad_value():
    with pytest.raises(
        UsageError, match="optimizer must be one of adam, adamw, sgd, rmsprop, adagrad; got 'adamx'"
    ):
        TrainConfig(optimizer="adamx")
    with pytest.raises(UsageError, match="lr must be a finite number > 0"):
        TrainConfig(lr=0)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adagrad", "adamw"])
def test_every_optimizer_trains(split, optimizer):
    lr = {"sgd": 0.5, "rmsprop": 0.003, "adagrad": 0.05, "adamw": 0.01}[optimizer]
    _, trainer = train_gmf(
        split,
        TrainConfig(
            epochs=3, batch_size=1024, lr=lr, optimizer=optimizer, weight_decay=1e-6, patience=10
        ),
    )
    assert trainer.history[-1]["loss"] < trainer.history[0]["loss"]


def test_neumf_pretraining_combines_gmf_and_mlp_outputs():
    torch.manual_seed(0)
    gmf, mlp = GMF(20, 15, dim=4), MLP(20, 15, layers=[8, 4])
    for param in [*gmf.parameters(), *mlp.parameters()]:
        torch.nn.init.normal_(param, std=0.5)
    neumf = load_pretrained(NeuMF(20, 15, dim=4, layers=[8, 4]), gmf, mlp, alpha=0.5)
    users, items = torch.arange(20), torch.arange(20) % 15
    expected = 0.5 * gmf(users, items) + 0.5 * mlp(users, items)
    torch.testing.assert_close(neumf(users, items), expected)
    with pytest.raises(ValueError, match="MLP layers"):
        load_pretrained(NeuMF(20, 15, dim=4, layers=[16, 4]), gmf, mlp)


def test_a_diverged_loss_stops_training_with_a_message(split):
    config = TrainConfig(epochs=2, batch_size=1024, lr=1e30, optimizer="sgd", momentum=0.0)
    with pytest.raises(UsageError, match="training diverged: the loss is nan in epoch 1"):
        train_gmf(split, config)


def test_the_monitored_metric_is_checked_before_training():
    from ncf.experiment.config import RunConfig

    with pytest.raises(UsageError, match="monitor must be a metric"):
        TrainConfig(monitor="foo@10")
    with pytest.raises(UsageError, match="add its cut-off to ks"):
        RunConfig(train=TrainConfig(monitor="ndcg@20"), ks=(10,))
    assert RunConfig(train=TrainConfig(monitor="ndcg@20"), ks=(10, 20)).train.monitor == "ndcg@20"


@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++")), reason="torch.compile needs a C++ compiler"
)
def test_a_compiled_loss_trains_as_the_eager_one(split):
    config = TrainConfig(epochs=2, batch_size=1024, lr=0.01, patience=5)
    eager, eager_run = train_gmf(split, config)
    compiled, compiled_run = train_gmf(split, replace(config, compile=True))
    assert eager_run._loss == eager_run.regime.loss != compiled_run._loss
    for a, b in zip(eager_run.history, compiled_run.history):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-3)
        assert b["valid_ndcg@10"] == pytest.approx(a["valid_ndcg@10"], abs=2e-3)
