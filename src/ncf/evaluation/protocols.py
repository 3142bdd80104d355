"""Evaluation protocols: full ranking and sampled candidates, labelled and batched.

- ``full``: every item is scored for each user, in chunks of users; the user's known
  items (training, and validation items when testing) are excluded; all the user's
  held-out items are relevant. Metrics are averaged over users.
- ``sampled:N``: each held-out (user, item) row is ranked among itself and N negatives,
  given by the data (the NCF files) or drawn once per seed, never an item of the user
  in any split, no duplicates. Metrics are averaged over held-out rows.
- ``rating``: each held-out (user, item, rating) row is predicted, the prediction clipped
  to the training ratings' range; ``rmse``, ``mae`` and ``accuracy`` over rows
  (`RatingEvaluator`).

A model scores the test from the training and validation interactions (and is refit on
both first); ``full:train-history`` and ``sampled:N:train-history`` score it from the
training part alone, with the model fitted on it, validation items still excluded from
the ranking: the protocol of papers that report the test from the training history (the
DiffRec line of diffusion and graph-signal recommenders).

Results do not depend on the batch size: every query is computed on its own and the
means are taken at the end in float64.

    >>> evaluator = Evaluator.build(queries=split.test, exclude=[split.train, split.valid],
    ...                             protocol=Protocol.parse("sampled:99"), negatives=negs)
    >>> evaluator(model)                     # {"hr@10": 0.7, "ndcg@10": 0.43, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import torch

from ncf.data.interactions import Interactions
from ncf.errors import UsageError
from ncf.evaluation import metrics


@dataclass(frozen=True)
class Protocol:
    """``full``, ``sampled`` with ``n_negatives`` per held-out row, or ``rating``;
    ``train_history``: the test scored from the training part alone.

    Examples:
        >>> Protocol.parse("sampled:99"), Protocol.parse("full")
        (Protocol(kind='sampled', n_negatives=99), Protocol(kind='full', n_negatives=0))
    """

    kind: str = "full"
    n_negatives: int = 0
    train_history: bool = False

    @classmethod
    def parse(cls, text: str) -> Protocol:
        base = text.removesuffix(HISTORY_SUFFIX)
        history = base != text
        kind, _, n = base.partition(":")
        if kind == "full" and not n or kind == "rating" and not n and not history:
            return cls(kind, train_history=history)
        if kind == "sampled":
            try:
                count = int(n or 99)
            except ValueError:
                count = -1
            if count >= 1:
                return cls("sampled", count, history)
        raise UsageError(
            f"bad protocol {text!r}; expected 'full', 'sampled:N' (e.g. sampled:99) or "
            f"'rating'; 'full' and 'sampled:N' may end in {HISTORY_SUFFIX!r}"
        )

    @property
    def label(self) -> str:
        label = f"sampled:{self.n_negatives}" if self.kind == "sampled" else self.kind
        return label + HISTORY_SUFFIX if self.train_history else label


HISTORY_SUFFIX = ":train-history"  # the test scored from the training part alone


def _padded_lists(users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups items by user: (distinct users (Q,), items (Q, m) padded with -1)."""
    order = np.lexsort([items, users])
    users, items = users[order], items[order]
    distinct, starts, counts = np.unique(users, return_index=True, return_counts=True)
    padded = np.full((len(distinct), int(counts.max(initial=1))), -1, dtype=np.int64)
    row = np.repeat(np.arange(len(distinct)), counts)
    col = np.arange(len(users)) - np.repeat(starts, counts)
    padded[row, col] = items
    return distinct, padded


@dataclass
class Evaluator:
    """Precomputed queries for one protocol; call it with a model to get mean metrics.

    Attributes:
        protocol: the protocol.
        users: (Q,) query users.
        relevant: (Q, m) relevant items (full) or (Q, 1 + N) candidates with the held-out
            item first (sampled).
        exclude: (n_users, n_items) CSR of items never ranked (full protocol).
        ks: cut-offs.
        batch_size: users per chunk (full) or rows per chunk (sampled); 0 = from
            ``memory`` (full) or 1024 (sampled).
        memory: bytes a chunk's (users, n_items) scores may take (full protocol); 0 =
            a default for the device (`chunk_size`).
        known: the interactions models that score from them observe first (`Model.observe`):
            training for validation, training + validation for the test.
    """

    protocol: Protocol
    users: np.ndarray
    relevant: np.ndarray
    exclude: sp.csr_matrix | None
    ks: tuple[int, ...] = (10,)
    batch_size: int = 0
    known: Interactions | None = None
    memory: int = 0

    @classmethod
    def build(
        cls,
        queries: Interactions,
        protocol: Protocol,
        exclude: list[Interactions] | None = None,
        negatives: np.ndarray | None = None,
        ks: tuple[int, ...] = (10,),
        batch_size: int = 0,
        known: Interactions | None = None,
    ) -> Evaluator:
        """Builds the evaluator.

        Args:
            queries: the held-out interactions.
            protocol: full or sampled.
            exclude: interactions whose items are not ranked for their user (full only).
            negatives: (len(queries), N) negatives aligned with ``queries`` (sampled only).
            known: what models observe before scoring (see the class).
        """
        if protocol.kind == "sampled":
            if negatives is None or negatives.shape != (len(queries), protocol.n_negatives):
                shape = None if negatives is None else negatives.shape
                raise UsageError(
                    f"{protocol.label} needs ({len(queries)}, {protocol.n_negatives}) "
                    f"negatives, got {shape}"
                )
            candidates = np.concatenate([queries.item_ids[:, None], negatives], axis=1)
            return cls(protocol, queries.user_ids.copy(), candidates, None, ks, batch_size, known)
        users, relevant = _padded_lists(queries.user_ids, queries.item_ids)
        excluded = None
        if exclude:
            rows = np.concatenate([p.user_ids for p in exclude])
            cols = np.concatenate([p.item_ids for p in exclude])
            excluded = sp.csr_matrix(
                (np.ones(len(rows), dtype=bool), (rows, cols)),
                shape=(queries.n_users, queries.n_items),
            )
            excluded.sum_duplicates()
        return cls(protocol, users, relevant, excluded, ks, batch_size, known)

    def __len__(self) -> int:
        return len(self.users)

    def chunk_size(self, n_items: int, device: torch.device) -> int:
        """Queries scored at once: ``batch_size``, or for the full protocol as many users as
        fit their (users, n_items) scores in ``memory`` bytes (default: 16 MiB on the CPU,
        where chunks this small are reused rather than mapped afresh, 1 GiB on a GPU)."""
        if self.batch_size:
            return self.batch_size
        if self.protocol.kind == "sampled":
            return 1024
        memory = self.memory or (1 << 24 if device.type == "cpu" else 1 << 30)
        return max(1, memory // (4 * max(n_items, 1)))

    @torch.no_grad()
    def per_query(self, model: torch.nn.Module) -> dict[str, np.ndarray]:
        """Metrics per query (user for full, held-out row for sampled)."""
        observe(model, self.known)
        was_training = model.training
        model.eval()
        device = getattr(model, "device", torch.device("cpu"))
        per = self.chunk_size(getattr(model, "n_items", 0), device)
        full = self.protocol.kind == "full"
        if full and not self.batch_size:  # a model whose products run faster on wide chunks
            per = max(per, getattr(model, "min_chunk_users", 1))
        # full: users with the most relevant items first, so that a chunk's rows have
        # similar widths and its relevant lists are cut to the widest of them
        widths = (self.relevant >= 0).sum(1) if full else None
        order = np.argsort(-widths, kind="stable") if full else np.arange(len(self.users))
        ranks = np.full(self.relevant.shape if full else (len(self.users), 1), np.inf)
        n_candidates = np.zeros(len(self.users), dtype=np.int64)
        for start in range(0, len(self.users), per):
            rows = order[start : start + per]
            users = torch.from_numpy(self.users[rows]).to(device)
            if full:
                scores, n_candidates[rows] = self._full_scores(model, users, rows)
                width = max(int(widths[rows].max()), 1)
                relevant = torch.from_numpy(self.relevant[rows, :width]).to(device)
            else:
                scores, relevant, n_candidates[rows] = self._sampled_scores(model, users, rows)
            chunk = metrics.ranks_in_place(scores, relevant).cpu().numpy()
            ranks[rows, : chunk.shape[1]] = chunk
            del scores  # the next chunk's scores reuse its memory
        model.train(was_training)
        return metrics.compute(ranks, list(self.ks), n_candidates if len(self.users) else 0)

    def _sampled_scores(
        self, model: torch.nn.Module, users: torch.Tensor, rows: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(B, 1 + N) scores of the candidates of queries ``rows``, the held-out item's
        column (0), and the number of candidates."""
        candidates = torch.from_numpy(self.relevant[rows]).to(users.device)
        n_cand = candidates.shape[1]
        flat_users = users.repeat_interleave(n_cand)
        scores = model(flat_users, candidates.reshape(-1)).view(-1, n_cand).float()
        relevant = torch.zeros(len(users), 1, dtype=torch.long, device=users.device)
        return scores, relevant, np.full(len(users), n_cand)

    def _full_scores(
        self, model: torch.nn.Module, users: torch.Tensor, rows: np.ndarray
    ) -> tuple[torch.Tensor, np.ndarray]:
        """(B, n_items) scores of queries ``rows`` with the excluded items at -inf (set in
        place), and the number of items each user's ranking holds."""
        scores = model.score_all(users).float()  # (B, n_items), the model's fresh tensor
        if self.exclude is None:
            return scores, np.full(len(users), scores.shape[1])
        block = self.exclude[self.users[rows]]
        at = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(block.indptr))
        scores.index_put_(
            (
                torch.from_numpy(at).to(scores.device),
                torch.from_numpy(block.indices.astype(np.int64)).to(scores.device),
            ),
            torch.tensor(-torch.inf, device=scores.device),
        )
        return scores, scores.shape[1] - np.diff(block.indptr)

    def share(self, rank: int, size: int) -> Evaluator:
        """The evaluator of every ``size``-th query from ``rank`` (one process's share)."""
        return replace(self, users=self.users[rank::size], relevant=self.relevant[rank::size])

    @staticmethod
    def summarise(per_query: dict[str, np.ndarray]) -> dict[str, float]:
        """Mean metrics over queries."""
        return {
            name: float(np.mean(values)) if len(values) else 0.0
            for name, values in per_query.items()
        }

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        """Mean metrics over queries."""
        return self.summarise(self.per_query(model))


def observe(model: torch.nn.Module, known: Interactions | None) -> None:
    """Shows a model what it may score from (`Model.observe`) before it is evaluated."""
    if known is not None and hasattr(model, "observe"):
        model.observe(known)


def rating_step(ratings: np.ndarray) -> float:
    """The rating scale's step: 1 for whole stars, 0.5 for half stars, else the smallest
    gap between two distinct ratings."""
    if np.all(ratings == np.round(ratings)):
        return 1.0
    if np.all(ratings * 2 == np.round(ratings * 2)):
        return 0.5
    gaps = np.diff(np.unique(ratings))
    return float(gaps.min()) if len(gaps) else 1.0


@dataclass
class RatingEvaluator:
    """Held-out ratings, predicted by a model and scored by `metrics.rating_errors`.

    Attributes:
        protocol: ``rating``.
        users, items, ratings: (Q,) the held-out rows.
        low, high: the training ratings' range; predictions are clipped to it.
        step: the rating scale's step, for ``accuracy``.
        batch_size: rows per forward pass.
        known: what models observe before predicting (see `Evaluator`).
    """

    protocol: Protocol
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    low: float
    high: float
    step: float
    batch_size: int = 1 << 16
    known: Interactions | None = None

    @classmethod
    def build(
        cls, queries: Interactions, train: Interactions, known: Interactions | None = None
    ) -> RatingEvaluator:
        """Held-out ``queries``, clipped to the ``train`` ratings' range; ``known``: what
        models observe first (default ``train``)."""
        if queries.ratings is None or train.ratings is None:
            raise UsageError("protocol 'rating' needs data with ratings; this data has none")
        given = train.ratings
        low, high = (float(given.min()), float(given.max())) if len(given) else (0.0, 0.0)
        return cls(
            Protocol("rating"),
            queries.user_ids.copy(),
            queries.item_ids.copy(),
            queries.ratings.astype(np.float64),
            low,
            high,
            rating_step(given),
            known=train if known is None else known,
        )

    @property
    def relevant(self) -> np.ndarray:
        """(Q, 1) the held-out items (as the sampled protocol's first column)."""
        return self.items[:, None]

    def __len__(self) -> int:
        return len(self.users)

    @torch.no_grad()
    def predict(self, model: torch.nn.Module) -> np.ndarray:
        """(Q,) clipped predictions."""
        observe(model, self.known)
        was_training = model.training
        model.eval()
        device = getattr(model, "device", torch.device("cpu"))
        out = []
        for start in range(0, len(self.users), self.batch_size):
            users = torch.from_numpy(self.users[start : start + self.batch_size]).to(device)
            items = torch.from_numpy(self.items[start : start + self.batch_size]).to(device)
            out.append(model(users, items).float().cpu().numpy())
        model.train(was_training)
        predicted = np.concatenate(out) if out else np.zeros(0, np.float32)
        return np.clip(predicted.astype(np.float64), self.low, self.high)

    def per_query(self, model: torch.nn.Module) -> dict[str, np.ndarray]:
        """Errors per held-out row."""
        return metrics.rating_errors(self.predict(model), self.ratings, self.step)

    def share(self, rank: int, size: int) -> RatingEvaluator:
        """The evaluator of every ``size``-th held-out row from ``rank``."""
        rows = slice(rank, None, size)
        return replace(
            self, users=self.users[rows], items=self.items[rows], ratings=self.ratings[rows]
        )

    summarise = staticmethod(metrics.rating_summary)

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        return self.summarise(self.per_query(model))
