"""Hogwild (Recht et al., 2011): several processes update one model without locks.

The model's parameters and the optimisers' state live in shared memory; ``n`` forked
worker processes (`Workers`) split every epoch's batches and step the shared parameters
with their own gradients. Updates
of different workers may overwrite each other now and then; with sparse updates (each
batch touches a few embedding rows) that costs little accuracy and the epoch runs on
every core. Not bit-for-bit reproducible; CPU only (forked processes cannot share CUDA).

    >>> share(model, optimisation)         # once, before the first epoch
    >>> workers = Workers(2, regime, step, optimisation, generators)
    >>> loss_sum, n_batches, notes = workers.run_epoch()
    >>> workers.close()
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import traceback
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ncf.errors import UsageError
from ncf.random import Generators
from ncf.training.optim import Optimisation
from ncf.training.regimes import Batch, Regime


def share(model: nn.Module, optimisation: Optimisation) -> None:
    """Moves the parameters and the optimisers' state into shared memory.

    An optimiser makes its state at its first step, which a forked worker would keep to
    itself; so a fresh optimiser's state is made here, by one step with zero gradients
    at rate 0, then set to zero: what a first step finds in a fresh optimiser too. State
    restored from a checkpoint is shared as it is."""
    model.share_memory()
    for optimizer in optimisation.optimizers.values():
        if not optimizer.state:
            _first_state(optimizer)
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, torch.Tensor):
                    value.share_memory_()


def _first_state(optimizer: torch.optim.Optimizer) -> None:
    rates = [group["lr"] for group in optimizer.param_groups]
    sparse = isinstance(optimizer, torch.optim.SparseAdam)
    for group in optimizer.param_groups:
        group["lr"] = 0.0
        for p in group["params"]:
            p.grad = _zero_grad(p, sparse)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        group["lr"] = rate
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                value.zero_()


def _zero_grad(p: torch.Tensor, sparse: bool) -> torch.Tensor:
    if not sparse:
        return torch.zeros_like(p)
    index = torch.zeros((1, 0), dtype=torch.long)
    return torch.sparse_coo_tensor(index, torch.zeros((0, *p.shape[1:])), p.shape)


class Workers:
    """``n`` forked processes that run the epochs' batches on one shared model.

    Every epoch, each worker receives the generators' state and the learning rates, lays
    out the epoch's batches itself (the regime's plan, the same in every worker) and
    steps through its share of them: worker ``w`` takes batches ``w``, ``w + n``, ...
    The first worker sends back the generators' state after the plan, so the trainer's
    generators move on as if it had laid out the epoch itself (a checkpoint then resumes
    with the next epoch's batches). The workers live until `close`.

    Args:
        n: how many workers.
        regime: the training regime (inherited by the forked workers).
        step: one optimisation step on one batch; returns the loss.
        optimisation: whose learning rates the workers follow.
        generators: the trainer's random streams.
    """

    def __init__(
        self,
        n: int,
        regime: Regime,
        step: Callable[[Batch], torch.Tensor],
        optimisation: Optimisation,
        generators: Generators,
    ):
        context = multiprocessing.get_context("fork")
        self.optimisation, self.generators = optimisation, generators
        self.losses = torch.zeros(n, dtype=torch.float64).share_memory_()
        self.pipes, self.processes = [], []
        for w in range(n):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(theirs, w, n, regime, step, optimisation, generators, self.losses),
                daemon=True,
            )
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)

    def run_epoch(self) -> tuple[float, int, dict[str, float]]:
        """One epoch across the workers: (loss sum, number of batches, the plan's notes)."""
        rates = [[g["lr"] for g in o.param_groups] for o in self.optimisation.optimizers.values()]
        order = (
            self.generators.torch.get_state(),
            self.generators.train_negatives.bit_generator.state,
            rates,
        )
        for pipe in self.pipes:
            pipe.send(order)
        replies = [self._reply(pipe) for pipe in self.pipes]
        n_batches, notes, torch_state, negatives_state = replies[0]
        self.generators.torch.set_state(torch_state)
        self.generators.train_negatives.bit_generator.state = negatives_state
        return float(self.losses.sum()), n_batches, notes

    def _reply(self, pipe: Any) -> Any:
        try:
            kind, value = pipe.recv()
        except EOFError:
            self.close()
            raise UsageError("a Hogwild worker died (killed, or out of memory)") from None
        if kind == "error":
            self.close()
            raise UsageError(f"a Hogwild worker failed:\n{value}")
        return value

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
            pipe.close()
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self.pipes, self.processes = [], []


def _serve(
    pipe: Any,
    worker: int,
    workers: int,
    regime: Regime,
    step: Callable[[Batch], torch.Tensor],
    optimisation: Optimisation,
    generators: Generators,
    losses: torch.Tensor,
) -> None:
    """A worker's life: one epoch per order received, until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer stops at an epoch's end
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    torch.set_num_threads(1)
    while (order := pipe.recv()) is not None:
        try:
            torch_state, negatives_state, rates = order
            generators.torch.set_state(torch_state)
            generators.train_negatives.bit_generator.state = negatives_state
            for optimizer, group_rates in zip(optimisation.optimizers.values(), rates, strict=True):
                for group, rate in zip(optimizer.param_groups, group_rates, strict=True):
                    group["lr"] = rate
            plan = regime.epoch(generators)
            optimisation.model.train()
            total = 0.0
            for b in range(worker, plan.n_batches, workers):
                total += float(step(plan.batch(b)).detach())
            losses[worker] = total
            after = (generators.torch.get_state(), generators.train_negatives.bit_generator.state)
            pipe.send(("done", (plan.n_batches, plan.notes, *after)))
        except Exception:  # reported by the trainer, which stops
            pipe.send(("error", traceback.format_exc()))
