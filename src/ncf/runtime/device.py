"""Where a run computes: the device, and how many CPU threads it may use.

Torch's default of one thread per core makes small models far slower when the CPU is
busy with anything else (a GMF epoch on ML-100K took 2.5-12 s instead of 0.23 s on a
loaded 2-core machine): threads spin waiting for each other. `default_threads` leaves
headroom; `use_threads` applies a count to torch, the BLAS under numpy / scipy, and
pyarrow, so training, evaluation and data loading all keep to it.

    >>> use_threads(default_threads())
"""

from __future__ import annotations

import os
import warnings

import torch

from ncf.errors import UsageError
from ncf.runtime.distributed import World

_LIMITS: list[object] = []  # threadpoolctl limiters kept alive for the process


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Half the usable cores (at least 1, at most 8): fast on an idle machine, and no
    collapse when another job shares the CPU; shared among the processes of a run on
    this machine (`ncf.runtime.distributed`)."""
    return max(1, min(8, usable_cores() // 2 // World.from_env().local_size))


def use_threads(n: int) -> int:
    """Limits torch, BLAS (numpy / scipy) and pyarrow to ``n`` threads (0: the default).

    Returns:
        the thread count applied.
    """
    n = n or default_threads()
    if n > usable_cores():
        warnings.warn(
            f"{n} threads on {usable_cores()} usable cores: oversubscribed threads slow "
            "training down; 0 picks a number for this machine",
            stacklevel=2,
        )
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # only settable before the first parallel work; fine to keep
        pass
    from threadpoolctl import threadpool_limits

    _LIMITS.clear()
    _LIMITS.append(threadpool_limits(limits=n))
    import pyarrow

    pyarrow.set_cpu_count(n)
    return n


def pick_device(name: str, deterministic: bool = False) -> torch.device:
    """The run's device; ``deterministic`` makes CUDA runs repeat bit for bit (at a cost in
    speed): deterministic kernels only, no cuBLAS workspace reuse across streams, no TF32."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if deterministic and name == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
    world = World.from_env()
    if name == "cuda" and world.size > 1:  # a process's own GPU
        return torch.device("cuda", world.local_rank)
    return torch.device(name)
