"""Several processes on this machine for ``ncf train --nproc N``: the resolved run config
is written to a temporary file and ``python -m ncf.cli train`` started in N processes
through torch's own launcher (`torch.distributed.run`, the module behind ``torchrun``).

    >>> launch_train(config, Path("runs/neumf"), 2, {"resume": False, ...})
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import tomli_w
import torch

from ncf.errors import UsageError
from ncf.experiment.run_folder import toml_ready
from ncf.runtime.device import pick_device, usable_cores


def launch_train(config: Any, out: Path, nproc: int, passed: dict[str, Any]) -> int:
    """``ncf train`` of the resolved ``config`` into ``out`` in ``nproc`` processes
    (`launch`), with the flags ``passed`` on; returns the exit code."""
    gpus = torch.cuda.device_count()
    if pick_device(config.device).type == "cuda":
        if nproc > gpus:
            raise UsageError(f"--nproc {nproc} on CUDA takes a GPU each; this machine has {gpus}")
    elif nproc > (cores := usable_cores()):
        warnings.warn(
            f"--nproc {nproc} on {cores} usable cores: the processes wait for each "
            "other at every step",
            stacklevel=2,
        )
    args = ["train", "--out", str(out)]
    flags = ("resume", "overwrite", "keep_checkpoints")
    args += [f"--{key.replace('_', '-')}" for key in flags if passed[key]]
    args += [] if passed["progress"] else ["--no-progress"]
    if passed["mlflow"] is not None:
        args += ["--mlflow", passed["mlflow"], "--experiment", passed["experiment"]]
    with tempfile.TemporaryDirectory(prefix="ncf-launch-") as folder:
        settings = Path(folder) / "config.toml"
        settings.write_text(tomli_w.dumps(toml_ready(config.to_dict())))
        return launch(nproc, [*args, "--config", str(settings)])


def launch(nproc: int, module_args: list[str]) -> int:
    """Runs ``python -m ncf.cli MODULE_ARGS`` in ``nproc`` processes on this machine
    (torch's launcher, standalone: a free local port); returns the first failure's exit
    code, else 0."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    # the processes report (once) what the launcher would log again: a signal, a failure
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    # each process sets its threads (`ncf.runtime.device.default_threads`); else the launcher
    # sets 1 and warns
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, usable_cores() // nproc)))
    try:
        torchrun(["--standalone", f"--nproc-per-node={nproc}", "-m", "ncf.cli", *module_args])
    except ChildFailedError as err:  # each process has said why
        codes = [failure.exitcode for failure in err.failures.values()]
        return next((c for c in codes if c > 0), 1)
    except SignalException as err:  # passed on to the processes, which stop together
        return 128 + int(err.sigval)
    return 0
