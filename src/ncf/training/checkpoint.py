"""Resumable checkpoints: model, optimiser, scheduler, RNG and sampler state.

Written atomically (temporary file, then rename) and read with ``weights_only=True``,
so loading never runs code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ncf.errors import DataError

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Any) -> None:
    """Calls ``write(tmp_path)`` then renames the temporary file onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise DataError("no checkpoint to resume from", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or corrupted file, or a non-checkpoint
        raise DataError(f"cannot read checkpoint ({type(err).__name__}: {err})", path) from None
