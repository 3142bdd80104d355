"""MLP towers: the stack of layers, its dropout rates, and a tower whose first Linear
reads ``cat(user_vec, item_vec)`` run without building the concatenation (on every item
of the catalogue, or on a batch's items), as MLP and NeuMF use it."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ncf.models.base import gather_rows


def tower(
    sizes: list[int], dropout: float | Sequence[float] = 0.0, batch_norm: bool = False
) -> nn.Sequential:
    """Linear -> (BatchNorm) -> ReLU -> (Dropout) per step of ``sizes`` (Xavier init);
    ``dropout``: one rate for every layer, or one per layer (S12: 0.5 then 0.3)."""
    rates = layer_rates(dropout, len(sizes) - 1)
    layers: list[nn.Module] = []
    for n_in, n_out, rate in zip(sizes[:-1], sizes[1:], rates):
        linear = nn.Linear(n_in, n_out)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.ReLU())
        if rate > 0:
            layers.append(nn.Dropout(rate))
    return nn.Sequential(*layers)


def layer_rates(dropout: float | Sequence[float], n_layers: int) -> list[float]:
    """One dropout rate per layer from a rate or a list of ``n_layers`` rates in [0, 1)."""
    rates = (
        [float(r) for r in dropout]
        if isinstance(dropout, Sequence)
        else [float(dropout)] * n_layers
    )
    if len(rates) != n_layers or not all(0 <= r < 1 for r in rates):
        raise ValueError(
            f"dropout must be a rate in [0, 1) or {n_layers} of them (one per layer), "
            f"got {list(rates) if isinstance(dropout, Sequence) else dropout}"
        )
    return rates


def run_tower_on_grid(
    seq: nn.Sequential, user_part: torch.Tensor, item_part: torch.Tensor
) -> torch.Tensor:
    """Applies a tower whose first Linear reads ``cat(user_vec, item_vec)`` to every
    (user, item) pair without building the concatenation.

    The first layer splits as ``W_u u + W_i i + b``: both halves are projected once,
    then broadcast to (B, n_items, h).

    Args:
        user_part: (B, d_u) user vectors; item_part: (n_items, d_i) item vectors.

    Returns:
        (B, n_items, h_last) tower outputs.
    """
    first = seq[0]
    assert isinstance(first, nn.Linear)
    d_u = user_part.shape[1]
    proj_u = user_part @ first.weight[:, :d_u].T  # (B, h)
    proj_i = item_part @ first.weight[:, d_u:].T  # (I, h)
    return _rest_of_tower(seq, proj_u[:, None, :] + proj_i[None] + first.bias)


def tower_on_batch(
    seq: nn.Sequential,
    user_table: nn.Embedding,
    item_table: nn.Embedding,
    users: torch.Tensor,
    items: torch.Tensor,
) -> torch.Tensor:
    """A tower whose first Linear reads ``cat(user_vec, item_vec)``, on each of ``users``
    (B,) with each of its ``items`` (B, n): (B, n, h_last).

    The first layer splits as ``W_u u + (W_i i + b)``. Each side is projected where it is
    cheaper: the whole table once when the batch looks up more rows than the table has
    (then the projected rows are gathered), else the rows looked up. Either way each user
    is projected once, not once per item, and the bias added on the item side's fewer
    rows; the result is the same."""
    first = seq[0]
    assert isinstance(first, nn.Linear)
    d_u = user_table.embedding_dim
    proj_u = _projected(user_table, users, first.weight[:, :d_u])  # (B, h)
    proj_i = _projected(item_table, items, first.weight[:, d_u:], first.bias)  # (B, n, h)
    return _rest_of_tower(seq, proj_u[:, None, :] + proj_i)


def _projected(
    table: nn.Embedding,
    index: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    if index.numel() > table.num_embeddings:
        return gather_rows(F.linear(table.weight, weight, bias), index)
    return F.linear(table(index), weight, bias)


def _rest_of_tower(seq: nn.Sequential, hidden: torch.Tensor) -> torch.Tensor:
    """The layers after the first Linear, on (B, n, h) first-layer outputs."""
    shape = hidden.shape
    flat = hidden.reshape(-1, shape[-1])
    for layer in list(seq)[1:]:
        flat = layer(flat)
    return flat.view(shape[0], shape[1], -1)
