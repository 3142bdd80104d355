"""Ranking metrics as pure functions of the ranks of the relevant items, and the error
metrics of predicted ratings (`rating_errors`).

Every metric here takes ``ranks``: a (n_queries, m) float array of the 0-based positions
of each query's relevant items in its ranked candidate list, padded with ``inf`` where a
query has fewer than m relevant items. Ranks are *pessimistic*: an irrelevant item with
the same score as a relevant one is placed before it, so a tie never favours the
positive. `pessimistic_ranks` computes them from scores.

Each function returns a (n_queries,) float64 array; average it for the reported figure.

    >>> ranks = np.array([[0.0], [3.0], [12.0]])
    >>> hit_rate(ranks, 10)
    array([1., 1., 0.])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def pessimistic_ranks(
    scores: torch.Tensor, relevant: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Ranks of the relevant candidates, ties counted against them.

    Each relevant item's rank is counted, not sorted for: the candidates scoring at
    least as high as it (`count_at_least`, one cached read of its row), less the relevant
    ones among them, plus the relevant items placed before it (ties among relevant items
    are broken by their column order, which favours none of them). A NaN score (a
    diverged model) counts as the lowest, so it never places a relevant item first.

    Args:
        scores: (B, C) candidate scores; excluded candidates hold ``-inf``.
        relevant: (B, m) column indices of the relevant candidates, -1 for padding.
        valid: (B, m) bool mask of real entries in ``relevant`` (default: ``relevant >= 0``).

    Returns:
        (B, m) float64 ranks (0 = first), ``inf`` at padding; sorted ascending per row.
    """
    return ranks_in_place(scores.clone(), relevant, valid)


def ranks_in_place(
    scores: torch.Tensor, relevant: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """`pessimistic_ranks` that may overwrite ``scores`` (the evaluators' own tensors)."""
    if valid is None:
        valid = relevant >= 0
    lowest, highest = torch.finfo(scores.dtype).min, torch.finfo(scores.dtype).max
    # finite scores subtract without NaN; the order, ties included, is unchanged, and
    # -inf (excluded) ties with the lowest score as it did with -inf
    torch.nan_to_num_(scores, nan=lowest, posinf=highest, neginf=lowest)
    rel_scores = scores.gather(1, relevant.clamp(min=0))  # (B, m)
    at_least = count_at_least(scores, rel_scores, valid)
    # relevant items: padding at -inf sorts after every real one
    rel_scores = torch.where(valid, rel_scores, torch.full_like(rel_scores, -torch.inf))
    ascending = rel_scores.sort(dim=1).values
    m = rel_scores.shape[1]
    rel_at_least = m - torch.searchsorted(ascending, rel_scores, right=False)
    order = torch.sort(rel_scores, dim=1, descending=True, stable=True).indices
    placed_before = torch.empty_like(order)
    placed_before.scatter_(1, order, torch.arange(m, device=scores.device).expand_as(order))
    ranks = (at_least - rel_at_least + placed_before).double()
    ranks = torch.where(valid, ranks, torch.full_like(ranks, float("inf")))
    return ranks.sort(dim=1).values


#: comparisons made at once by `count_at_least` on the CPU: few enough for the cache
_COUNT_BLOCK = 1 << 20


def count_at_least(
    scores: torch.Tensor, thresholds: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """For each valid threshold of a row, the candidates of that row scoring at least it.

    Rows are taken in blocks of consecutive rows, each compared with all of its
    thresholds (padded to the block's widest row) in one broadcast whose few megabytes stay
    in cache: one read of a row serves all of its thresholds. Callers with rows of very
    different widths pass them ordered by width (the evaluator does), so blocks carry
    little padding. The comparison is written as floats into a buffer reused by every
    block and summed, which runs several times faster than summing a boolean tensor.

    Args:
        scores: (B, C) finite scores.
        thresholds: (B, m) finite thresholds; valid: (B, m) bool mask of the real ones.

    Returns:
        (B, m) int64 counts, 0 where not valid.
    """
    n_rows, n_candidates = scores.shape
    # valid thresholds first in each row (+inf, which no finite score reaches, after them)
    padded = torch.where(valid, thresholds, torch.full_like(thresholds, torch.inf))
    padded, columns = padded.sort(dim=1)
    widths = valid.sum(1).tolist()
    budget = _COUNT_BLOCK if scores.device.type == "cpu" else 1 << 26
    # a float32 sum of ones is exact below 2**24 candidates
    sum_type = torch.float32 if n_candidates < 1 << 24 else torch.float64
    buffer = torch.empty(0, dtype=torch.float32, device=scores.device)
    counted = torch.zeros_like(columns)
    start = 0
    while start < n_rows:
        per = budget // (max(n_candidates, 1) * max(widths[start], 1))
        stop = min(n_rows, start + max(1, per))
        width = max(widths[start:stop])
        if width:
            size = (stop - start) * width * n_candidates
            if buffer.numel() < size:
                buffer = torch.empty(size, dtype=torch.float32, device=scores.device)
            hits = buffer[:size].view(stop - start, width, n_candidates)
            torch.ge(scores[start:stop, None, :], padded[start:stop, :width, None], out=hits)
            counted[start:stop, :width] = hits.sum(2, dtype=sum_type).long()
        start = stop
    return torch.zeros_like(counted).scatter_(1, columns, counted)


def _hits(ranks: np.ndarray, k: int) -> np.ndarray:
    return ranks < k


def n_relevant(ranks: np.ndarray) -> np.ndarray:
    return np.isfinite(ranks).sum(1)


def hit_rate(ranks: np.ndarray, k: int) -> np.ndarray:
    """1 if any relevant item is in the top k."""
    return _hits(ranks, k).any(1).astype(np.float64)


def recall(ranks: np.ndarray, k: int) -> np.ndarray:
    """Relevant items in the top k / relevant items (0 for a query with none)."""
    n = n_relevant(ranks)
    return np.divide(_hits(ranks, k).sum(1), n, out=np.zeros(len(ranks)), where=n > 0)


def precision(ranks: np.ndarray, k: int) -> np.ndarray:
    """Relevant items in the top k / k."""
    return _hits(ranks, k).sum(1) / k


def ndcg(ranks: np.ndarray, k: int) -> np.ndarray:
    """DCG of the top k with binary gains over the ideal DCG."""
    gains = np.where(
        _hits(ranks, k), 1.0 / np.log2(np.where(np.isfinite(ranks), ranks, 0) + 2), 0.0
    )
    discounts = 1.0 / np.log2(np.arange(k) + 2)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_relevant(ranks), k)]
    return np.divide(gains.sum(1), ideal, out=np.zeros(len(ranks)), where=ideal > 0)


def average_precision(ranks: np.ndarray, k: int) -> np.ndarray:
    """Mean of precision@rank over the relevant items in the top k, over min(relevant, k)."""
    position = np.arange(1, ranks.shape[1] + 1)[None, :]  # j-th relevant item (1-based)
    terms = np.where(_hits(ranks, k), position / (np.where(np.isfinite(ranks), ranks, 0) + 1), 0.0)
    denom = np.minimum(n_relevant(ranks), k)
    return np.divide(terms.sum(1), denom, out=np.zeros(len(ranks)), where=denom > 0)


def reciprocal_rank(ranks: np.ndarray) -> np.ndarray:
    """1 / (rank of the first relevant item + 1), over the whole list (0 if none)."""
    first = ranks[:, 0] if ranks.shape[1] else np.full(len(ranks), np.inf)
    return np.where(np.isfinite(first), 1.0 / (first + 1), 0.0)


def auc(ranks: np.ndarray, n_candidates: np.ndarray | int) -> np.ndarray:
    """Share of (relevant, irrelevant) pairs ordered correctly; ties count as errors.

    Args:
        ranks: (Q, m) pessimistic ranks.
        n_candidates: (Q,) or scalar number of rankable candidates per query.
    """
    n_rel = n_relevant(ranks)
    n_irr = np.asarray(n_candidates) - n_rel
    # irrelevant items above the j-th relevant one (0-based j) = rank_j - j
    above = np.where(np.isfinite(ranks), ranks - np.arange(ranks.shape[1])[None, :], 0.0).sum(1)
    pairs = n_rel * n_irr
    return np.divide(pairs - above, pairs, out=np.zeros(len(ranks)), where=pairs > 0)


@dataclass(frozen=True)
class Metric:
    """One metric ``ncf`` reports.

    Attributes:
        name: its key without a cut-off (``ndcg``; reported as ``ndcg@10``).
        at_k: whether it is computed at cut-offs ``k``.
        higher_is_better: whether a larger value is better (not for errors).
        protocols: the protocol kinds that report it (``full``, ``sampled``, ``rating``).
        per_query: the per-query values it is the mean of, when they have another name
            (``rmse`` is the root of the mean ``squared_error``).
        what: one line saying what it measures.
    """

    name: str
    at_k: bool
    higher_is_better: bool
    protocols: tuple[str, ...]
    per_query: str = ""
    what: str = ""


_RANKING = ("full", "sampled")
#: every metric, in the order tables show them: what metrics.json, the config checks, the
#: command line's tables, the reports and `ncf.compare` all read
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("hr", True, True, _RANKING, what="a held-out item in the top k"),
        Metric("ndcg", True, True, _RANKING, what="discounted gain of the held-out items"),
        Metric("recall", True, True, _RANKING, what="share of held-out items in the top k"),
        Metric("precision", True, True, _RANKING, what="share of the top k held out"),
        Metric("map", True, True, _RANKING, what="mean average precision in the top k"),
        Metric("mrr", False, True, _RANKING, what="reciprocal rank of the first held-out"),
        Metric("auc", False, True, _RANKING, what="held-out items above a random candidate"),
        Metric("rmse", False, False, ("rating",), "squared_error", "root mean squared error"),
        Metric("mae", False, False, ("rating",), "absolute_error", "mean absolute error"),
        Metric("accuracy", False, True, ("rating",), "accuracy", "rounded rating correct"),
    )
}
_PER_QUERY = {
    "hr": hit_rate,
    "ndcg": ndcg,
    "recall": recall,
    "precision": precision,
    "map": average_precision,
}


def base_name(key: str) -> str:
    """``ndcg@10`` -> ``ndcg``."""
    return key.partition("@")[0]


def per_query_key(key: str) -> str:
    """The per-query values a reported metric is the mean of (``rmse`` ->
    ``squared_error``; ``ndcg@10`` -> itself)."""
    metric = METRICS.get(base_name(key))
    return metric.per_query if metric is not None and metric.per_query else key


def compute(
    ranks: np.ndarray, ks: list[int], n_candidates: np.ndarray | int
) -> dict[str, np.ndarray]:
    """Every metric at every k, per query: ``{"hr@10": (Q,), ..., "mrr": (Q,), "auc": (Q,)}``."""
    out: dict[str, np.ndarray] = {}
    for k in ks:
        for name, function in _PER_QUERY.items():
            out[f"{name}@{k}"] = function(ranks, k)
    out["mrr"] = reciprocal_rank(ranks)
    out["auc"] = auc(ranks, n_candidates)
    return out


# --------------------------------------------------------------------------- ratings

#: metrics of the ``rating`` protocol
RATING_METRICS = tuple(name for name, m in METRICS.items() if m.protocols == ("rating",))


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` (``ndcg@10``, ``rmse``) is better."""
    metric = METRICS.get(base_name(name))
    return metric.higher_is_better if metric is not None else True


def rating_errors(predicted: np.ndarray, actual: np.ndarray, step: float) -> dict[str, np.ndarray]:
    """Per held-out rating: ``squared_error``, ``absolute_error`` and ``accuracy`` (1 when
    the prediction rounded to the rating scale's ``step`` equals the rating).

    >>> rating_errors(np.array([3.4, 4.6]), np.array([3.0, 4.0]), step=1.0)["accuracy"]
    array([1., 0.])
    """
    error = np.asarray(predicted, np.float64) - actual
    rounded = np.round(predicted / step) * step
    return {
        "squared_error": error**2,
        "absolute_error": np.abs(error),
        "accuracy": np.isclose(rounded, actual).astype(np.float64),
    }


def rating_summary(per_rating: dict[str, np.ndarray]) -> dict[str, float]:
    """``rmse`` (root of the mean squared error), ``mae`` and ``accuracy`` from
    `rating_errors`; zeros when there is nothing to score."""
    if not len(per_rating["squared_error"]):
        return dict.fromkeys(RATING_METRICS, 0.0)
    return {
        "rmse": float(np.sqrt(np.mean(per_rating["squared_error"]))),
        "mae": float(np.mean(per_rating["absolute_error"])),
        "accuracy": float(np.mean(per_rating["accuracy"])),
    }


def monitored_metrics(ks: tuple[int, ...]) -> list[str]:
    """The metric names an evaluation with cut-offs ``ks`` reports (every protocol's)."""
    at_k = [f"{name}@{k}" for k in ks if k > 0 for name, m in METRICS.items() if m.at_k]
    return at_k + [name for name, m in METRICS.items() if not m.at_k]
