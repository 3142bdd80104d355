"""Partial credit (Collie's metadata-aware losses): a sampled negative that shares item
metadata with its positive (the same genre) is a milder mistake than one that shares
nothing, so its loss counts less.

``--set partial_credit=genres`` weighs each negative's loss term by
``1 - sum of the weights of the keys it shares with the positive`` (at least 0), with a
weight of 0.4 per key unless given (``genres:0.5,year:0.2``). Two items share a key when
a value of one equals a value of the other (``|``-joined values: any genre in common).
The ``pointwise`` and ``pairwise`` regimes (and ``user-bpr``) take it.

    >>> credit = PartialCredit(train.items, "genres", device)
    >>> credit.weights(positives, negatives)        # (B, K) in [0, 1]
"""

from __future__ import annotations

import pandas as pd
import torch

from ncf.data.io.metadata import metadata_column, value_codes
from ncf.training.config import credit_weights


class PartialCredit:
    """Args:
    items: the training interactions' item metadata (indexed by item index).
    spec: the ``partial_credit`` setting.
    device: where the code tables live.
    """

    def __init__(self, items: pd.DataFrame | None, spec: str, device: torch.device):
        self.keys = [
            (torch.from_numpy(value_codes(metadata_column(items, key))).to(device), weight)
            for key, weight in credit_weights(spec).items()
        ]

    def weights(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """(B,) positives and their (B, K) negatives -> the (B, K) weights of the
        negatives' loss terms."""
        credit = torch.zeros(negatives.shape, device=negatives.device)
        for codes, weight in self.keys:
            mine = codes[positives][:, None, :, None]  # (B, 1, V, 1)
            theirs = codes[negatives][:, :, None, :]  # (B, K, 1, V)
            shared = ((mine == theirs) & (mine >= 0)).flatten(2).any(2)  # (B, K)
            credit += weight * shared
        return (1 - credit).clamp(min=0)
