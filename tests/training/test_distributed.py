"""Training on several processes (`ncf.runtime.distributed`): each takes its share of the
examples and of the queries, and together they train the model one process trains."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.models import Popularity
from ncf.random import Generators
from ncf.runtime.distributed import World
from ncf.training.config import TrainConfig
from ncf.training.regimes import make_regime
from tests.conftest import checkerboard


def test_shares_are_equally_long_and_cover_every_example():
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    shares = [World(rank, 3).share(order) for rank in range(3)]
    assert [len(s) for s in shares] == [4, 4, 4]  # 10 rows and 2 repeated
    joined = torch.cat(shares)
    assert sorted(set(joined.tolist())) == list(range(10))
    assert sorted(joined.tolist()) == sorted([*order.tolist(), *order[:2].tolist()])


def test_each_process_draws_negatives_from_its_own_stream():
    draws = []
    for rank in range(3):
        generators = World(rank, 3).streams(Generators.from_seed(0))
        draws.append(generators.train_negatives.integers(0, 10**9, 5))
    assert np.array_equal(draws[0], Generators.from_seed(0).train_negatives.integers(0, 10**9, 5))
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    again = World(1, 3).streams(Generators.from_seed(0)).train_negatives.integers(0, 10**9, 5)
    assert np.array_equal(again, draws[1])


@pytest.mark.parametrize("objective", ["pointwise", "rating", "item-rows", "user-rows"])
def test_the_processes_batches_partition_the_epoch(objective):
    from tests.conftest import rated_checkerboard

    train = rated_checkerboard(30, 20) if objective in ("rating", "item-rows") else checkerboard()
    config = TrainConfig(batch_size=64, n_negatives=3)
    whole = make_regime(objective, train, config, torch.device("cpu"))
    counts = []
    for rank in range(3):
        regime = make_regime(objective, train, config, torch.device("cpu"))
        regime.spread(World(rank, 3))
        plan = regime.epoch(Generators.from_seed(0))
        assert plan.n_batches == regime.batches_per_epoch()
        rows = [plan.batch(b)[0] for b in range(plan.n_batches)]
        share = sum(len(r) for r in rows)
        assert max(len(r) for r in rows) == min(regime.batch_rows(), share)
        counts.append((plan.n_batches, share))
    assert len(set(counts)) == 1  # the same steps in every process
    n_batches, rows_each = counts[0]
    assert rows_each == -(-whole.n_examples() // 3)
    # together, a step's batch is the batch of one process, up to rounding
    assert 0 <= 3 * regime.batch_rows() - whole.per_batch() < 3
    assert n_batches == -(-rows_each // regime.batch_rows())


def test_the_users_of_the_shares_are_the_epochs_users():
    train = checkerboard()
    config = TrainConfig(batch_size=40, n_negatives=1)
    expected = make_regime("pointwise", train, config, torch.device("cpu")).epoch(
        Generators.from_seed(0)
    )
    everyone = torch.cat([expected.batch(b)[0] for b in range(expected.n_batches)])
    shares = []
    for rank in range(2):
        regime = make_regime("pointwise", train, config, torch.device("cpu"))
        regime.spread(World(rank, 2))
        plan = regime.epoch(Generators.from_seed(0))
        shares.append(torch.cat([plan.batch(b)[0] for b in range(plan.n_batches)]))
    # every other row of the same order (its length is even: no repeats)
    assert len(everyone) % 2 == 0
    assert torch.equal(shares[0], everyone[0::2]) and torch.equal(shares[1], everyone[1::2])


def test_gathered_shares_of_the_queries_give_the_metrics_of_all():
    train = checkerboard()
    model = Popularity(train.n_users, train.n_items)
    model.fit(train.csr())
    queries = checkerboard(40, 40)
    evaluator = Evaluator.build(queries, Protocol.parse("full"), ks=(5, 10))
    whole = evaluator(model)
    parts = [evaluator.share(rank, 3).per_query(model) for rank in range(3)]
    joined = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    gathered = Evaluator.summarise(joined)
    assert gathered.keys() == whole.keys()
    for name, value in whole.items():
        assert gathered[name] == pytest.approx(value, abs=1e-12)
    assert sum(len(evaluator.share(rank, 3)) for rank in range(3)) == len(evaluator)


# ---------------------------------------------------------------- processes, real data

EPOCHS = "3"


def train(out, data, *extra):
    command = [sys.executable, "-m", "ncf.cli", "train", "--model", "gmf", "--data", str(data)]
    command += ["--epochs", EPOCHS, "--no-progress", "--out", str(out), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


def metrics(out) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def ncf_split(shared_data):
    return shared_data / "ml-1m" / "ncf"


@pytest.fixture(scope="module")
def one_process(ncf_split, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    finish(train(out, ncf_split))
    return metrics(out)


@pytest.fixture(scope="module")
def two_processes(ncf_split, tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    return out, finish(train(out, ncf_split, "--nproc", "2"))


def test_two_processes_train_to_the_quality_of_one(one_process, two_processes):
    tmp_path, printed = two_processes
    two = metrics(tmp_path)
    assert two["processes"] == 2 and one_process["processes"] == 1
    assert two["test"]["hr@10"] == pytest.approx(one_process["test"]["hr@10"], abs=0.01)
    assert two["test"]["hr@10"] > 0.6  # GMF's 3 epochs on the NCF split
    assert printed.count("test (sampled:99)") == 1  # the first process reports for all
    assert "2 processes" in printed
    # the run folder is one run's: one history, checkpoints, bundle
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 1, 2, 3]


def stop_two_processes_in_epoch_two(out, data) -> None:
    """Starts a two-process run and stops it with SIGTERM in its second epoch."""
    process = train(out, data, "--nproc", "2")
    deadline = time.monotonic() + 300
    while not (out / "checkpoint-select.pt").exists():  # an epoch is done
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # into the second epoch
    process.send_signal(signal.SIGTERM)  # the launcher passes it on to both processes
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.count("checkpoint saved") == 1  # by the first process
    assert not (out / "metrics.json").exists()


def test_a_checkpoint_of_two_processes_resumes_in_two_exactly(ncf_split, two_processes, tmp_path):
    """Every process's stream of negatives is saved: the resumed run is the unstopped one."""
    stop_two_processes_in_epoch_two(tmp_path, ncf_split)
    printed = finish(train(tmp_path, ncf_split, "--nproc", "2", "--resume"))
    assert "resuming the select phase in epoch 2 of 3, at batch" in printed
    resumed, whole = metrics(tmp_path), metrics(two_processes[0])
    assert resumed["test"] == whole["test"] and resumed["valid"] == whole["valid"]
    losses = [pd.read_csv(out / "history.csv")["loss"] for out in (tmp_path, two_processes[0])]
    assert list(losses[0]) == list(losses[1])


def test_a_checkpoint_of_two_processes_resumes_in_one(ncf_split, one_process, tmp_path):
    stop_two_processes_in_epoch_two(tmp_path, ncf_split)
    printed = finish(train(tmp_path, ncf_split, "--resume"))
    resumed = metrics(tmp_path)
    assert resumed["processes"] == 1
    assert resumed["epochs_run"] == int(EPOCHS)
    assert resumed["test"]["hr@10"] == pytest.approx(one_process["test"]["hr@10"], abs=0.01)
    assert "select epoch 1/" not in printed  # epoch 1 came from the checkpoint


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine takes --device cuda")
def test_nproc_on_cuda_without_a_gpu_is_refused_before_starting(tmp_path):
    command = [sys.executable, "-m", "ncf.cli", "train", "--data", "synthetic", "--nproc", "2"]
    done = subprocess.run(
        [*command, "--device", "cuda", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --device cuda, but no CUDA device is available"
    assert not (tmp_path / "run").exists()
