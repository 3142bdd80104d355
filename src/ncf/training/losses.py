"""Training objectives as pure functions of scores.

>>> pointwise_loss(torch.tensor([2.0]), torch.tensor([[-1.0, 0.5]]))
>>> bpr_loss(torch.tensor([2.0]), torch.tensor([[-1.0]]))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pointwise_loss(
    pos_logits: torch.Tensor,
    neg_logits: torch.Tensor,
    reduction: str = "mean",
    neg_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binary cross-entropy with logits over positives (label 1) and negatives (0),
    averaged (``reduction="mean"``) or summed (``"sum"``) over the B (1 + K) terms.

    Args:
        pos_logits: (B,) logits of the positives.
        neg_logits: (B, K) logits of their negatives.
        neg_weights: (B, K) weights of the negatives' terms (partial credit), or None.
    """
    logits = torch.cat([pos_logits, neg_logits.reshape(-1)])
    labels = torch.cat([torch.ones_like(pos_logits), torch.zeros_like(neg_logits.reshape(-1))])
    weight = None
    if neg_weights is not None:
        weight = torch.cat([torch.ones_like(pos_logits), neg_weights.reshape(-1)])
    return F.binary_cross_entropy_with_logits(logits, labels, weight, reduction=reduction)


def bpr_loss(
    pos_scores: torch.Tensor,
    neg_scores: torch.Tensor,
    reduction: str = "mean",
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Bayesian personalised ranking: -log sigmoid(s_pos - s_neg), averaged (or summed)
    over the pairs.

    Args:
        pos_scores: (B,) scores of the positives.
        neg_scores: (B, K) scores of their negatives.
        weights: (B, K) weights of the pairs' terms (partial credit), or None.
    """
    losses = -F.logsigmoid(pos_scores[:, None] - neg_scores)
    if weights is not None:
        losses = losses * weights
    return losses.sum() if reduction == "sum" else losses.mean()


def l2_penalty(tensors: list[torch.Tensor], batch: int) -> torch.Tensor:
    """Sum of squares of ``tensors`` / 2 / batch (per-batch L2 as in BPR and LightGCN)."""
    # a norm's backward is one pass over each tensor, pow(2)'s three; half precision
    # is summed in float32
    squares = [
        torch.linalg.vector_norm(t, dtype=torch.promote_types(t.dtype, torch.float32)) ** 2
        for t in tensors
    ]
    return torch.stack(squares).sum() / 2 / max(batch, 1)
