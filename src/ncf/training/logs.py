"""Run records: ``history.csv``, TensorBoard events and learning-curve plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


class TensorBoardLogger:
    """Writes each epoch's numbers as TensorBoard scalars under ``folder``."""

    def __init__(self, folder: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def __call__(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                group = "valid" if key.startswith("valid_") else "train"
                self.writer.add_scalar(f"{group}/{key.removeprefix('valid_')}", value, row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def write_history(history: list[dict[str, Any]], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(history)
    frame.to_csv(path, index=False)
    return frame


def plot_history(history: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Loss and validation metrics per epoch, in one PNG."""
    if history.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [c for c in history.columns if c.startswith("valid_")][:4]
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(10 if metrics else 5, 3.6))
    axes = axes if metrics else [axes]
    axes[0].plot(history["epoch"], history["loss"], marker="o")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="loss")
    for column in metrics:
        axes[1].plot(
            history["epoch"], history[column], marker="o", label=column.removeprefix("valid_")
        )
    if metrics:
        axes[1].set(xlabel="epoch", title="validation")
        axes[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
