"""One line per epoch, for logs that are read in a file or a pipe as well as a terminal."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Callback = Callable[[dict[str, Any]], None]


def epoch_line(phase: str, epochs: int, monitor: str, echo: Callable[[str], None]) -> Callback:
    """A trainer callback that writes ``select epoch 3/20  loss 0.3012  valid ndcg@10 0.4123
    4.1 s`` for each history row (epoch 0, the untrained model, has no loss); a model
    fitted in closed form has one row, epoch 1 without a loss: ``select: fitted in closed
    form  valid ndcg@10 0.4123  0.8 s``."""

    def write(row: dict[str, Any]) -> None:
        loss = row.get("loss")
        closed_form = loss is None and row["epoch"] >= 1
        parts = [
            f"{phase}: fitted in closed form"
            if closed_form
            else f"{phase} epoch {row['epoch']}/{epochs}"
        ]
        if isinstance(loss, float) and not math.isnan(loss):
            parts.append(f"loss {loss:.4f}")
        valid = row.get(f"valid_{monitor}")
        if valid is not None:
            parts.append(f"valid {monitor} {valid:.4f}")
        parts.append(f"{row.get('seconds', 0.0):.1f} s")
        echo("  ".join(parts))

    return write
