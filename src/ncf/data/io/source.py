"""What every reader returns: `Source`, interactions as read from disk, and the part
names (`TRAIN`, `VALID`, `TEST`) of a split the files fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ncf.data.interactions import Interactions

TRAIN, VALID, TEST = 0, 1, 2


@dataclass(frozen=True)
class Source:
    """Interactions as read from disk.

    Attributes:
        data: every interaction read (all parts of a given split together).
        name: where it came from, for labels.
        part: (n,) int8 per row, TRAIN / VALID / TEST, when the files fix the split.
        test_negatives: (n_test, N) item indices, aligned with the TEST rows in row order.
        format: the layout it was read as (``ncf data info`` shows it), set by `read_path`.
        ordered: whether each user's rows come in time order where there are no
            timestamps: True for sequence files and ``.npy`` rows, False for the
            train.txt / test.txt lists (their lines are sets) and for tables without a
            time column (their row order is declared with ``ordered = true``,
            `ncf.data.preprocess.PrepareConfig`); the sequence models need timestamps
            or this.
    """

    data: Interactions
    name: str
    part: np.ndarray | None = None
    test_negatives: np.ndarray | None = None
    format: str = ""
    ordered: bool = True


def data_label(spec: object) -> str:
    """A data spec as titles and the service show it: a registry name as is, a path by
    its last two parts (``gowalla/with-valid``, ``ml-100k/u.data``), never the whole of
    it."""
    parts = Path(str(spec)).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else str(spec)
