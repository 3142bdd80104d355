"""Hogwild (Recht et al., 2011): several processes update one model without locks.

The model's parameters live in shared memory; ``n`` forked worker processes (`Workers`)
split every epoch's batches and step the shared parameters with their own gradients and
their own optimiser state (momentum, Adam's moments), as in PyTorch's Hogwild example:
a shared momentum buffer, added to by every worker, would multiply the step. The
workers live as long as the training run; a run resumed from a checkpoint starts their
optimiser state afresh. Updates of different workers may overwrite each other now and
then; with sparse updates (each batch touches a few embedding rows) that costs little
accuracy and the epoch runs on every core. Not bit-for-bit reproducible; CPU only
(forked processes cannot share CUDA).

    >>> model.share_memory()               # once, before the first epoch
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

from ncf.errors import UsageError
from ncf.random import Generators
from ncf.training.optim import Optimisation
from ncf.training.regimes import Batch, Regime


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
