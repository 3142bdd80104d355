"""Top-k retrieval over the catalogue: exact for every model, approximate (faiss) for
dot-product models.

Exact retrieval scores users in blocks small enough that a block's (users x items)
scores stay under `SCORE_BUDGET` floats whatever the catalogue size, blocks out the items
a user may not get (their own, a deny-list, everything outside an allow-list) and keeps
the best k.

The approximate path indexes the item vectors of a model whose score is an inner
product (``item_factors`` / ``user_factors``: MF, BPR-MF, GMF, iALS, LightGCN, NGCF)
with the item offset as one more dimension, ``[v_i, b_i] . [u, 1] = u . v_i + b_i``; it
fetches enough candidates to fill k after the exclusions and scores them exactly.

    >>> index = AnnIndex.build(vectors, offsets, kind="hnsw")
    >>> candidates = index.search(user_vectors, 50)     # (B, 50) item indices, -1 for none
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ncf.errors import UsageError

#: floats in one block of scores (64 MiB)
SCORE_BUDGET = 1 << 24
KINDS = ("hnsw", "ivf")


@dataclass(frozen=True)
class Exclusions:
    """What a user may not be recommended.

    Attributes:
        seen: (n_users, n_items) CSR whose row holds a user's own items, or None.
        deny: item indices nobody gets, or None.
        allow: the only item indices anybody gets (the candidate set), or None.
    """

    seen: sp.csr_matrix | None = None
    deny: np.ndarray | None = None
    allow: np.ndarray | None = None

    def blocked_columns(self, n_items: int) -> torch.Tensor | None:
        """Item indices blocked for everyone (the deny-list, the complement of the
        allow-list), or None when there are none."""
        if self.deny is None and self.allow is None:
            return None
        blocked = np.zeros(n_items, dtype=bool)
        if self.allow is not None:
            blocked[:] = True
            blocked[self.allow] = False
        if self.deny is not None:
            blocked[self.deny] = True
        return torch.from_numpy(np.flatnonzero(blocked))

    def available(self, n_items: int) -> int:
        """How many items a user with nothing seen could get."""
        blocked = self.blocked_columns(n_items)
        return n_items - (0 if blocked is None else len(blocked))


def block_size(n_items: int, budget: int = SCORE_BUDGET) -> int:
    """Users per block so that a block of scores holds at most ``budget`` floats."""
    return max(1, budget // max(n_items, 1))


def exclude(scores: torch.Tensor, users: np.ndarray, exclusions: Exclusions) -> torch.Tensor:
    """Sets the scores of a block's excluded items to -inf, in place."""
    blocked = exclusions.blocked_columns(scores.shape[1])
    if blocked is not None:
        scores[:, blocked.to(scores.device)] = -torch.inf
    if exclusions.seen is not None:
        rows = exclusions.seen[users]
        row_ids = np.repeat(np.arange(len(users)), np.diff(rows.indptr))
        scores[
            torch.from_numpy(row_ids).to(scores.device),
            torch.from_numpy(rows.indices.astype(np.int64)).to(scores.device),
        ] = -torch.inf
    return scores


def exact_top_k(
    score: Callable[[np.ndarray], torch.Tensor],
    users: np.ndarray,
    k: int,
    n_items: int,
    exclusions: Exclusions,
    budget: int = SCORE_BUDGET,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yields (users, (B, k) item indices, (B, k) scores) per block, best first; a slot
    with nothing left to recommend scores -inf.

    Args:
        score: (B,) user indices -> (B, n_items) scores.
        users: user indices, in the order answered.
        k: list length (at most ``n_items``).
        n_items: catalogue size.
        exclusions: what is blocked per user and for all.
        budget: the most floats of one block's scores.
    """
    k = min(k, n_items)
    step = block_size(n_items, budget)
    for start in range(0, len(users), step):
        block = users[start : start + step]
        scores = exclude(score(block).float(), block, exclusions)
        values, index = scores.topk(k, dim=1)
        yield block, index.cpu().numpy(), values.cpu().numpy()


class AnnIndex:
    """A faiss inner-product index over item vectors (HNSW or IVF).

    Args:
        index: the faiss index over ``[v_i, b_i]``.
        kind: ``hnsw`` or ``ivf``.
    """

    def __init__(self, index: object, kind: str, ef_search: int = 128):
        self.index = index
        self.kind = kind
        self.ef_search = ef_search

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        offsets: np.ndarray | None = None,
        kind: str = "hnsw",
        *,
        neighbours: int = 32,
        ef_search: int = 128,
        lists: int | None = None,
        probes: int | None = None,
        seed: int = 0,
    ) -> AnnIndex:
        """Indexes (n, d) item vectors and their (n,) offsets.

        Args:
            kind: ``hnsw`` (a graph; no training, the better recall) or ``ivf`` (k-means
                lists; quicker to build).
            neighbours: HNSW's links per node (M).
            ef_search: HNSW's candidate list while searching (raised to the fetch size).
            lists: IVF's number of lists (default about 4 sqrt(n)).
            probes: IVF's lists searched per query (default lists / 16, at least 32).
            seed: IVF's k-means seed.
        """
        faiss = import_faiss()
        if kind not in KINDS:
            raise UsageError(f"unknown index kind {kind!r}: expected one of {', '.join(KINDS)}")
        table = augmented(vectors, offsets)
        n, dim = table.shape
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, neighbours, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = max(40, 2 * neighbours)
        else:
            lists = lists or max(1, min(n // 39, int(4 * math.sqrt(n))))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(table)
            index.nprobe = min(lists, probes or max(32, lists // 16))
        index.add(table)
        return cls(index, kind, ef_search)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)  # type: ignore[attr-defined]

    def search(self, queries: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        """(B, d) user vectors -> (B, fetch) inner products ``u . v_i + b_i`` and item
        indices, best first (-1 where the index found fewer)."""
        table = np.hstack([queries, np.ones((len(queries), 1))]).astype(np.float32)
        fetch = min(fetch, self.size)
        if self.kind == "hnsw":  # the candidate list must hold what is fetched
            self.index.hnsw.efSearch = max(self.ef_search, fetch)  # type: ignore[attr-defined]
        products, found = self.index.search(np.ascontiguousarray(table), fetch)  # type: ignore[attr-defined]
        return products, found.astype(np.int64)


def augmented(vectors: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """(n, d + 1) float32 rows ``[v_i, b_i]`` (b = 0 without offsets; one offset for
    all, as GMF's output bias, is repeated)."""
    column = np.broadcast_to(0.0 if offsets is None else offsets, (len(vectors),))
    return np.ascontiguousarray(np.hstack([vectors, column[:, None]]), dtype=np.float32)


#: users searched together through an index: grouped by how many items they have, so
#: that each group fetches about what its users need
ANN_GROUP = 64


def ann_top_k(
    index: AnnIndex,
    queries: Callable[[np.ndarray], torch.Tensor],
    score_pairs: Callable[[np.ndarray, np.ndarray], torch.Tensor],
    users: np.ndarray,
    k: int,
    n_items: int,
    exclusions: Exclusions,
    block: int = 4096,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`exact_top_k` through the index: for each group of users, the index's best
    candidates, as many as k plus the group's largest exclusion; excluded ones dropped.
    A candidate's score is its inner product plus the user's constant (the model's
    score of one candidate less its inner product), so it equals the model's own.

    Args:
        queries: (B,) user indices -> (B, d) user vectors.
        score_pairs: (n,) users and (n,) items -> (n,) model scores.
        block: users answered per yield (in the order given).
    """
    k = min(k, n_items)
    blocked = exclusions.blocked_columns(n_items)
    n_blocked = 0 if blocked is None else len(blocked)
    for start in range(0, len(users), block):
        answer = users[start : start + block]
        counts = np.zeros(len(answer), dtype=np.int64)
        if exclusions.seen is not None:
            counts = np.diff(exclusions.seen[answer].indptr)
        items = np.full((len(answer), k), -1, dtype=np.int64)
        values = np.full((len(answer), k), -np.inf, dtype=np.float32)
        by_count = np.argsort(counts, kind="stable")
        for first in range(0, len(answer), ANN_GROUP):
            rows = by_count[first : first + ANN_GROUP]
            group = answer[rows]
            fetch = k + int(counts[rows].max()) + n_blocked
            products, found = index.search(queries(group).float().cpu().numpy(), fetch)
            own = score_pairs(group, np.maximum(found[:, 0], 0)).float().cpu().numpy()
            scores = torch.from_numpy(products + (own - products[:, 0])[:, None])
            scores[torch.from_numpy(found < 0)] = -torch.inf
            scores = _drop_excluded(scores, found, group, exclusions, blocked)
            best, order = scores.topk(min(k, found.shape[1]), dim=1)
            width = best.shape[1]
            items[rows, :width] = np.take_along_axis(found, order.numpy(), axis=1)
            values[rows, :width] = best.numpy()
        yield answer, items, values


def _drop_excluded(
    scores: torch.Tensor,
    found: np.ndarray,
    users: np.ndarray,
    exclusions: Exclusions,
    blocked: torch.Tensor | None,
) -> torch.Tensor:
    """-inf for the candidates that are excluded: blocked for all or seen by the user."""
    bad = np.zeros(found.shape, dtype=bool)
    if blocked is not None:
        bad |= np.isin(found, blocked.numpy())
    if exclusions.seen is not None:
        rows = exclusions.seen[users]
        n_items = rows.shape[1]
        own = np.repeat(np.arange(len(users)), np.diff(rows.indptr)) * n_items + rows.indices
        bad |= np.isin(np.arange(len(users))[:, None] * n_items + found, own)
    scores[torch.from_numpy(bad)] = -torch.inf
    return scores


def import_faiss():  # noqa: ANN201 - the faiss module
    try:
        import faiss
    except ImportError:
        raise UsageError(
            "approximate retrieval needs faiss: pip install 'ncf[ann]' (faiss-cpu)"
        ) from None
    return faiss
