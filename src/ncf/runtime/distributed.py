"""Training on several processes with torch.distributed: one process per CPU share or GPU.

``ncf train ... --nproc N`` starts N processes on this machine through torch's own
launcher (`ncf.cli.launch`) (`torch.distributed.run`, the module behind ``torchrun``); ``torchrun
--nnodes M --nproc-per-node N ... -m ncf.cli train ...`` does the same across machines.
Every process runs the whole run, the same way (same seed, same split) and:

- trains on its share of every epoch's examples, which the regime lays out
  (`ncf.training.regime_base.Regime.spread`), drawing its negatives from its own stream;
  `DistributedDataParallel` averages the gradients, so that a step is the step of the
  whole batch (``batch_size`` is the batch of all processes together);
- evaluates its share of the queries, and every process gets the metrics of all
  (`Gathered`), so that all select the same epoch and stop together;
- process 0 alone writes: the run folder, checkpoints, bundle and logs. A checkpoint
  resumes at any number of processes.

The backend is gloo on the CPU and NCCL on CUDA, with each process on the GPU of its
local rank.

    >>> world = join(torch.device("cpu"))  # under torchrun: the process group, else one
    >>> world.rank, world.size, world.main
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ncf.random import Generators

#: environment variables the launcher sets in every process
_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE = "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"


@dataclass(frozen=True)
class World:
    """The processes of a run; one process (rank 0 of 1) unless under a launcher.

    Attributes:
        rank: this process's number, 0 .. size - 1.
        size: how many processes.
        local_rank: its number among the processes of its machine (its GPU).
        local_size: how many processes its machine runs.
        device: where collectives exchange tensors (the GPU under NCCL).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> World:
        """The world the launcher describes in the environment (one process without)."""
        env = os.environ
        return cls(
            int(env.get(_RANK, 0)),
            int(env.get(_SIZE, 1)),
            int(env.get(_LOCAL_RANK, 0)),
            int(env.get(_LOCAL_SIZE, 1)),
        )

    # ------------------------------------------------------------------ collectives

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds in any process (every process must ask)."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes."""
        if self.size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return float(total.item()) / self.size

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (picklable), in rank order."""
        if self.size == 1:
            return [value]
        every: list[Any] = [None] * self.size
        dist.all_gather_object(every, value)
        return every

    def barrier(self) -> None:
        """Waits until every process gets here."""
        if self.size > 1:
            dist.barrier()

    # ------------------------------------------------------------------ training

    def share(self, order: torch.Tensor) -> torch.Tensor:
        """This process's share of an epoch's ``order`` of examples: every ``size``-th
        from ``rank``, after repeating the first few so that every share is as long
        (each takes the same number of steps)."""
        if self.size == 1:
            return order
        short = -len(order) % self.size
        if short:
            order = torch.cat([order, order[:short]])
        return order[self.rank :: self.size]

    def streams(self, generators: Generators) -> Generators:
        """The run's generators with this process's own stream of training negatives
        (rank 0's stream jumped ``rank`` times): the shared torch stream lays out the same
        order of examples everywhere, each process samples for its own share."""
        if self.size == 1 or self.rank == 0:
            return generators
        bits = generators.train_negatives.bit_generator.jumped(self.rank)
        return replace(generators, train_negatives=np.random.Generator(bits))

    def data_parallel(self, model: torch.nn.Module, loss: Any, scale: float = 1.0) -> Any:
        """``loss(model, batch)`` whose backward all-reduces the gradients (DDP), times
        ``scale`` (the number of processes when losses are sums, which DDP averages)."""
        if self.size == 1:
            return loss
        from torch.nn.parallel import DistributedDataParallel

        # every process computes the same buffers: no broadcast before each step (the
        # option's name since torch 2.12)
        newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
        buffers = {"forward_sync_buffers" if newer else "broadcast_buffers": False}
        wrapped = DistributedDataParallel(
            _Loss(model, loss, scale),
            device_ids=[self.device] if self.device.type == "cuda" else None,
            static_graph=True,  # the same parameters are used (or not) every step
            **buffers,
        )
        return lambda _model, batch: wrapped(batch)


class _Loss(torch.nn.Module):
    """A regime's loss as a module's forward, which DDP wraps."""

    def __init__(self, model: torch.nn.Module, loss: Any, scale: float):
        super().__init__()
        self.model, self.loss, self.scale = model, loss, scale

    def forward(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        value = self.loss(self.model, batch)
        return value * self.scale if self.scale != 1 else value


class Gathered:
    """An evaluator whose queries are split among the processes: each scores its share,
    and every process returns the metrics of all queries."""

    def __init__(self, evaluator: Any, world: World):
        self.whole, self.world = evaluator, world
        self.part = evaluator.share(world.rank, world.size)

    def __getattr__(self, name: str) -> Any:  # protocol, ks, known ... of the whole
        return getattr(self.whole, name)

    def per_query(self, model: torch.nn.Module) -> dict[str, np.ndarray]:
        parts = self.world.gather(self.part.per_query(model))
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        return self.whole.summarise(self.per_query(model))


_world = World()


def current() -> World:
    """The world `join` set up (one process before, or without a launcher)."""
    return _world


def join(device: torch.device) -> World:
    """Joins the launcher's process group (gloo on the CPU, NCCL on CUDA) once per process;
    the world of one process without a launcher."""
    global _world
    world = World.from_env()
    if world.size == 1 or dist.is_initialized():
        return _world
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend)
    _world = replace(world, device=device if device.type == "cuda" else torch.device("cpu"))
    return _world


def leave() -> None:
    """Leaves the process group, if this process joined one."""
    global _world
    if dist.is_initialized():
        dist.destroy_process_group()
    _world = World()
