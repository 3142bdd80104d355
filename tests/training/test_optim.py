"""Optimiser groups, schedules stepped per batch, the optimiser switch, sparse tables
and Hogwild."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from ncf.errors import Interrupted, UsageError
from ncf.evaluation.protocols import RatingEvaluator
from ncf.models import BPRMF, MF, MFBias
from ncf.random import Generators
from ncf.training.config import TrainConfig
from ncf.training.loop import Trainer
from ncf.training.optim import Optimisation, parameter_groups
from tests.conftest import rated_checkerboard

BOARD = rated_checkerboard(40, 40)  # 1,600 ratings


def trainer(config, model=None, evaluate=None, checkpoint=None, seed=0):
    """A Trainer on the board; ``model``: a model, or a factory called under ``seed``."""
    torch.manual_seed(seed)
    model = model() if callable(model) and not isinstance(model, torch.nn.Module) else model
    model = model or MFBias(40, 40, dim=4)
    return Trainer(
        model,
        BOARD,
        config,
        evaluate,
        Generators.from_seed(0),
        checkpoint=checkpoint,
        progress=False,
    )


def rates(config, epochs=None):
    """The per-batch learning rates of a run of ``config`` (100 batches per epoch)."""
    t = trainer(config)
    t.fit()
    return np.array([lr for _, lr in t.lr_trace])


CYCLIC = {"epochs": 4, "batch_size": 16, "lr": 0.01, "max_lr": 0.05, "cycle_epochs": 1.0}


def test_triangular_rises_to_the_peak_mid_cycle_and_falls_back():
    lr = rates(TrainConfig(schedule="triangular", **CYCLIC))
    assert len(lr) == 400  # 1,600 rows / 16 = 100 batches, 4 epochs
    assert lr[0] == pytest.approx(0.01)
    assert lr[50] == pytest.approx(0.05) and lr[150] == pytest.approx(0.05)
    assert lr[25] == pytest.approx(0.03)  # a quarter cycle: half-way up
    assert lr[100] == pytest.approx(0.01) and lr.max() == pytest.approx(0.05)


def test_triangular2_halves_the_amplitude_every_cycle():
    lr = rates(TrainConfig(schedule="triangular2", **CYCLIC))
    peaks = [lr[50], lr[150], lr[250], lr[350]]
    assert peaks == pytest.approx([0.05, 0.03, 0.02, 0.015])


def test_exp_range_shrinks_the_amplitude_by_gamma_per_cycle():
    lr = rates(TrainConfig(schedule="exp_range", gamma=0.5, **CYCLIC))
    amplitude = np.array([lr[50], lr[150], lr[250]]) - 0.01
    assert amplitude[1] / amplitude[0] == pytest.approx(0.5)
    assert amplitude[2] / amplitude[1] == pytest.approx(0.5)


def test_cosine_restarts_starts_each_cycle_at_the_peak_and_anneals_to_lr():
    lr = rates(TrainConfig(schedule="cosine-restarts", cycle_mult=2, **CYCLIC))
    # cycles of 100 then 200 batches
    assert lr[0] == pytest.approx(0.05) and lr[100] == pytest.approx(0.05)
    assert lr[50] == pytest.approx(0.03)  # half-way down a 100-batch cosine
    assert lr[200] == pytest.approx(0.03) and lr[99] < 0.0101
    assert lr[300] == pytest.approx(0.05)


def test_per_epoch_schedules_leave_no_per_batch_trace():
    t = trainer(TrainConfig(epochs=2, batch_size=64, schedule="cosine"))
    t.fit()
    assert t.lr_trace == []


def test_bias_parameters_get_their_own_optimizer_and_rate():
    config = TrainConfig(lr=0.01, bias_optimizer="sgd", bias_lr=0.1)
    model = MFBias(40, 40, dim=4)
    groups = parameter_groups(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in groups["bias"]) == [
        "global_bias",
        "item_bias.weight",
        "user_bias.weight",
    ]
    optimisation = Optimisation(model, config, batches_per_epoch=10)
    assert isinstance(optimisation.optimizers["main"], torch.optim.Adam)
    assert isinstance(optimisation.optimizers["bias"], torch.optim.SGD)
    assert optimisation.optimizers["bias"].param_groups[0]["lr"] == 0.1
    # without bias settings everything is one group, one optimiser
    assert list(parameter_groups(model, TrainConfig())) == ["main"]


def test_the_bias_rate_moves_only_the_biases():
    """With lr tiny for the embeddings and bias_lr large, after training the biases moved
    far more than the embeddings did."""
    model = MFBias(40, 40, dim=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(epochs=2, batch_size=64, lr=1e-6, bias_lr=0.05, optimizer="sgd")
    trainer(config, model=model).fit()
    moved = {k: (v - before[k]).abs().max().item() for k, v in model.state_dict().items()}
    assert moved["item_bias.weight"] > 100 * moved["item_emb.weight"]


def test_switching_optimizer_at_an_epoch():
    config = TrainConfig(epochs=3, batch_size=64, switch_optimizer="sgd", switch_lr=0.05)
    t = trainer(config)
    seen = []
    step = t._step

    def spy(batch):
        seen.append((t.epoch, type(t.optimisation.optimizers["main"]).__name__))
        return step(batch)

    t._step = spy
    t.fit()
    kinds = dict(seen)
    assert kinds == {0: "Adam", 1: "SGD", 2: "SGD"}
    assert [round(r["lr"], 6) for r in t.history] == [0.001, 0.05, 0.05]


@pytest.mark.parametrize("config", [
    TrainConfig(epochs=3, batch_size=64, lr=0.01, schedule="triangular2", cycle_epochs=0.5,
                monitor="rmse"),
    TrainConfig(epochs=3, batch_size=64, switch_optimizer="sgd", switch_epoch=2,
                schedule="cosine", bias_lr=0.02, monitor="rmse"),
])  # fmt: skip
def test_a_signal_mid_epoch_resumes_exactly_with_batch_schedules_and_a_switch(
    tmp_path, monkeypatch, config
):
    evaluate = RatingEvaluator.build(BOARD, BOARD)

    def model():
        return MFBias(40, 40, dim=4, dropout=0.2)

    plain = trainer(config, model, evaluate)
    plain.fit()
    checkpoint = tmp_path / "ck.pt"
    stopped = trainer(config, model, evaluate, checkpoint)
    calls = {"n": 0}
    step = stopped._step

    def interrupt(batch):  # in the second epoch, after the switch
        loss = step(batch)
        calls["n"] += 1
        if calls["n"] == 25 + 13:
            os.kill(os.getpid(), signal.SIGINT)
        return loss

    stopped._step = interrupt
    with pytest.raises(Interrupted):
        stopped.fit()
    assert torch.load(checkpoint, weights_only=True)["partial"]["batch"] == 13
    resumed = trainer(config, model, evaluate, checkpoint, seed=5)
    resumed.resume(checkpoint)
    resumed.fit()
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in plain.history]
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in plain.history]
    assert resumed.lr_trace == plain.lr_trace


@pytest.mark.parametrize(
    ("optimizer", "lr", "kind"),
    [
        ("adam", 0.05, torch.optim.SparseAdam),
        ("sgd", 0.2, torch.optim.SGD),
        ("adagrad", 0.05, torch.optim.Adagrad),
    ],
)
def test_sparse_tables_train_with_sparse_gradients(optimizer, lr, kind):
    model = MFBias(40, 40, dim=8, sparse=True)
    config = TrainConfig(epochs=15, batch_size=64, lr=lr, optimizer=optimizer, weight_decay=0.1)
    t = trainer(config, model=model)
    assert isinstance(t.optimisation.optimizers["sparse"], kind)
    assert t.optimisation.optimizers["sparse"].defaults.get("weight_decay", 0.0) == 0.0
    assert t.optimisation.optimizers["main"].param_groups[0]["params"] == [model.global_bias]
    t.fit()
    assert model.user_emb.weight.grad is None or model.user_emb.weight.grad.is_sparse
    assert RatingEvaluator.build(BOARD, BOARD)(model)["rmse"] < 1.0  # the ratings' std is 2


def test_sparse_flag_on_every_sparse_capable_model_and_rmsprop_refused():
    for model in (MF(5, 5, sparse=True), MFBias(5, 5, sparse=True), BPRMF(5, 5, sparse=True)):
        assert model.user_emb.sparse and model.item_emb.sparse
        assert model.hparams["sparse"] is True
    with pytest.raises(UsageError, match="rmsprop"):
        trainer(TrainConfig(optimizer="rmsprop"), model=MF(40, 40, sparse=True))


@pytest.mark.parametrize(
    "settings", [{"lr": 0.01}, {"optimizer": "sgd", "lr": 0.2, "momentum": 0.9}]
)
def test_hogwild_workers_train_one_shared_model(settings):
    """Each worker keeps its own optimiser state: a momentum buffer shared by two workers
    would double the steps and diverge where one process trains fine."""
    evaluate = RatingEvaluator.build(BOARD, BOARD)
    config = dict(epochs=6, batch_size=32, patience=10, monitor="rmse", **settings)
    single = trainer(TrainConfig(**config), evaluate=evaluate)
    single.fit()
    shared = trainer(TrainConfig(hogwild_workers=2, **config), evaluate=evaluate)
    before = shared.model.user_emb.weight.detach().clone()
    shared.fit()
    assert not torch.equal(before, shared.model.user_emb.weight)  # the workers' updates landed
    assert shared.history[-1]["loss"] < 0.5 * shared.history[0]["loss"]
    assert shared.best_score < 0.5  # the ratings' std is 2
    if "momentum" not in settings:
        assert abs(shared.best_score - single.best_score) < 0.1


def test_hogwild_refuses_per_batch_schedules():
    with pytest.raises(UsageError, match="hogwild"):
        trainer(TrainConfig(hogwild_workers=2, schedule="triangular"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"schedule": "cyclic"}, "schedule must be one of"),
        ({"bias_optimizer": "lbfgs"}, "bias_optimizer must be one of"),
        ({"switch_optimizer": "sgd", "switch_epoch": 1}, "switch_epoch must be >= 2"),
        ({"max_lr": -1.0}, "max_lr"),
        ({"cycle_epochs": 0.0}, "cycle_epochs"),
        ({"hogwild_workers": -2}, "hogwild_workers"),
    ],
)
def test_bad_optimisation_settings_are_refused(values, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig(**values)
