"""Scoring a user the model was not trained on, from the items they have (fold-in).

The path depends on what the model offers, first match:

- ``sequence``: sequence models score the items in the order given (`score_histories`).
- ``row``: models that score a user from their row of the user-item matrix (EASE,
  item-kNN, GF-CF, Mult-VAE: ``score_rows``) score the new user's row as it is.
- ``least squares``: dot-product factor models (``item_factors``: iALS, MF, BPR-MF,
  GMF, LightGCN, NGCF) solve the user's vector with the item vectors fixed, by iALS's
  objective: (unobserved V^T V + V_S^T V_S + lambda I) u = V_S^T 1, where S are the
  user's items (``fold_in_weights``: the model's own for iALS, else 0.3 and 0.007).
- ``gradient``: other models with user tables (NeuMF, MLP, the rating nets) fit the new
  user's rows of their user tables (attributes named ``*user*``, started at the mean
  user) by Adam steps on binary cross-entropy, their items against all the others, every
  other weight fixed.
- ``popularity``: no items at all, or a model with none of these (the item autoencoder):
  the items with the most interactions.

    >>> answer = fold_in(model, np.array([3, 17, 42]), popularity)
    >>> answer.path, answer.scores.shape
    ('least squares', torch.Size([3706]))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ncf.models.base import Model, torch_csr
from ncf.models.ials import least_squares

PATHS = ("sequence", "row", "least squares", "gradient", "popularity")


@dataclass(frozen=True)
class FoldIn:
    """A new user's scores and the path that made them.

    Attributes:
        scores: (n_items,) float32 scores, higher is better.
        path: one of `PATHS`.
    """

    scores: torch.Tensor
    path: str


@torch.no_grad()
def fold_in(
    model: Model, items: np.ndarray, popularity: np.ndarray, gradient_steps: int = 100
) -> FoldIn:
    """Scores every item for a new user who has ``items`` (indices, oldest first).

    Args:
        model: a trained model.
        items: (n,) item indices; empty for a user with no items.
        popularity: (n_items,) interactions per item, for the ``popularity`` path.
        gradient_steps: Adam steps of the ``gradient`` path.
    """
    items = np.asarray(items, dtype=np.int64)
    device = model.device
    if not len(items):
        return FoldIn(torch.from_numpy(popularity.astype(np.float32)), "popularity")
    if hasattr(model, "score_histories"):
        length = int(model.history_len)  # type: ignore[attr-defined]
        recent = items[-length:]
        history = np.full((1, length), -1, dtype=np.int64)  # left-padded, as the model's own
        history[0, length - len(recent) :] = recent
        scores = model.score_histories(torch.from_numpy(history).to(device))  # type: ignore[attr-defined]
        return FoldIn(scores[0].float().cpu(), "sequence")
    if hasattr(model, "score_rows"):
        row = torch.zeros(1, model.n_items, device=device)
        row[0, torch.from_numpy(items).to(device)] = 1.0
        return FoldIn(model.score_rows(row)[0].float().cpu(), "row")  # type: ignore[attr-defined]
    factors = model.item_factors()
    if factors is not None:
        return FoldIn(_least_squares(model, items, *factors).cpu(), "least squares")
    if _user_tables(model):
        with torch.enable_grad():
            return FoldIn(_gradient(model, items, gradient_steps).cpu(), "gradient")
    return FoldIn(torch.from_numpy(popularity.astype(np.float32)), "popularity")


def _least_squares(
    model: Model, items: np.ndarray, vectors: torch.Tensor, offsets: torch.Tensor | None
) -> torch.Tensor:
    """The new user's scores u . v_i + b_i, u solved with the item vectors fixed."""
    vectors = vectors.float()
    chosen = np.unique(items)
    row = sp.csr_matrix(
        (np.ones(len(chosen), np.float32), chosen, [0, len(chosen)]), shape=(1, model.n_items)
    )
    user = least_squares(torch_csr(row).to(vectors.device), vectors, None, *model.fold_in_weights())
    scores = vectors @ user[0]
    return scores if offsets is None else scores + offsets.float()


def _user_tables(model: nn.Module) -> list[tuple[str, nn.Embedding]]:
    """The model's user-indexed embedding tables (attributes named ``*user*``)."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Embedding) and "user" in name.rsplit(".", 1)[-1]
    ]


def _gradient(model: Model, items: np.ndarray, steps: int) -> torch.Tensor:
    """Fits a new row of each user table (from the mean user) by Adam on BCE: the
    user's items labelled 1, every other item 0, the two halves weighted equally. The
    clone's user tables hold that one row only (user 0), so each step updates it alone."""
    clone = copy.deepcopy(model).eval().requires_grad_(False)
    rows = []
    for _, table in _user_tables(clone):
        table.weight = nn.Parameter(table.weight.detach().mean(0, keepdim=True))
        table.num_embeddings, table.sparse = 1, False
        rows.append(table.weight)
    user = torch.zeros(1, dtype=torch.long, device=model.device)
    positive = torch.zeros(model.n_items, dtype=torch.bool, device=model.device)
    positive[torch.from_numpy(items).to(model.device)] = True
    optimiser = torch.optim.Adam(rows, lr=0.05)
    for _ in range(steps):
        logits = clone.score_all(user)[0].float()
        loss = F.binary_cross_entropy_with_logits(logits[positive], torch.ones(int(positive.sum())))
        loss = loss + F.binary_cross_entropy_with_logits(
            logits[~positive], torch.zeros(int((~positive).sum()))
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return clone.score_all(user)[0].float()
