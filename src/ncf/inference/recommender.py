"""Using a trained model: top-k recommendations and similar items, by raw ids.

>>> rec = ncf.load("runs/neumf")
>>> rec.recommend(["196"], k=10)            # data frame: user, rank, item, score, title
>>> rec.similar("50", k=10)                 # cosine of item embeddings
>>> rec.recommend(["196"], candidates=["1", "50", "181"], exclude_items=["172"])
>>> ncf.load("runs/bpr", index="hnsw")       # known users' top-k through faiss
>>> rec.recommend_items(["50", "172"])      # a new user from their items (fold-in)
>>> rec.recommend_sequence(["50", "172"])   # the same, in time order (sequence models)
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ncf.data.interactions import Interactions
from ncf.errors import UsageError
from ncf.inference.bundle import load_parts
from ncf.inference.fold_in import fold_in
from ncf.inference.retrieval import AnnIndex, Exclusions, ann_top_k, exact_top_k, exclude
from ncf.models import Model


class Recommender:
    """A model with its vocabularies and each user's known items.

    Args:
        model: a trained model.
        known: interactions excluded from recommendations (with vocabularies, metadata).
        index: an approximate index over the model's item vectors (`build_index`), used
            for known users' top-k; None scores every item (exact).
        rating_range: for a model judged by the ``rating`` protocol, the training
            ratings' (low, high), which `score_pairs` clips to.

    Examples:
        >>> rec = ncf.load("runs/popularity-ml-100k")
        >>> rec.recommend(["196"], k=10)                  # user, rank, item, score, title ...
        >>> rec.recommend(["196"], k=10, exclude_items=["50"], candidates=None)
        >>> rec.similar("50", k=5)                        # item, score, title, genres
        >>> rec.predict(["196", "196"], ["50", "172"])    # user, item, score
        >>> rec.score_pairs(["196", "x"], ["50", "172"])  # user, item, score, error
        >>> frame = rec.recommend_items(["50", "172"], k=10)   # a new user (fold-in)
        >>> frame.attrs["path"]                           # how: "row", "least squares" ...
    """

    def __init__(
        self,
        model: Model,
        known: Interactions,
        index: AnnIndex | None = None,
        rating_range: tuple[float, float] | None = None,
    ):
        self.model = model.eval()
        self.known = known
        self.seen = known.csr().tocsr()
        self.index = index
        self.rating_range = rating_range

    @property
    def items(self) -> pd.DataFrame | None:
        return self.known.items

    @property
    def retrieval(self) -> str:
        """How known users' top-k are found: ``exact``, or the index kind."""
        return "exact" if self.index is None else self.index.kind

    def build_index(self, kind: str = "hnsw", **options: object) -> AnnIndex:
        """Indexes the model's item vectors with faiss (``ncf[ann]``) for the top-k of
        known users; options go to `AnnIndex.build`.

        Raises:
            UsageError: a model whose score is not an inner product of user and item
                vectors (only those can be indexed), or no faiss."""
        with torch.no_grad():
            factors = self.model.item_factors()
            first_user = torch.zeros(1, dtype=torch.long, device=self.model.device)
            probe = self.model.user_factors(first_user)
        if factors is None or probe is None:
            raise UsageError(
                f"model {self.model.name!r} does not score by an inner product of user and "
                "item vectors: it is served by exact top-k only"
            )
        vectors, offsets = factors
        self.index = AnnIndex.build(
            vectors.detach().float().cpu().numpy(),
            None if offsets is None else offsets.detach().float().cpu().numpy(),
            kind,
            **options,  # type: ignore[arg-type]
        )
        return self.index

    def item_rows(self, item_index: np.ndarray, scores: np.ndarray | None = None) -> pd.DataFrame:
        """Raw item ids (column ``item``), their ``score`` when given, and their metadata,
        one row per index."""
        frame = pd.DataFrame({"item": self.known.item_vocab.raw(item_index)})
        if scores is not None:
            frame["score"] = scores
        if self.items is not None:
            for column in self.items.columns:
                frame[column] = self.items[column].to_numpy()[item_index]
        return frame

    def exclusions(
        self,
        exclude_seen: bool = True,
        exclude_items: list | np.ndarray | None = None,
        candidates: list | np.ndarray | None = None,
    ) -> Exclusions:
        """What recommendations leave out, from raw item ids: each user's own items, a
        deny-list, everything outside an allow-list. Ids the model does not know are
        ignored (they could not be recommended anyway): an allow-list of unknown ids
        leaves nothing to recommend."""
        deny = None if exclude_items is None else self.known_items(exclude_items)
        allow = None if candidates is None else self.known_items(candidates)
        return Exclusions(self.seen if exclude_seen else None, deny, allow)

    def known_items(self, raw: list | np.ndarray) -> np.ndarray:
        """The indices of the raw item ids the model knows (unknown ones dropped)."""
        index = self.known.item_vocab.index(np.atleast_1d(np.asarray(raw)), missing="mask")
        return np.unique(index[index >= 0])

    @torch.no_grad()
    def blocks(
        self, user_index: np.ndarray, k: int = 10, exclusions: Exclusions | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yields (users, (B, k) item indices, (B, k) scores) per block of users, best
        first, in bounded memory whatever the catalogue (`ncf.inference.retrieval`); a slot
        with nothing left to recommend scores -inf."""
        _check_k(k)
        exclusions = Exclusions(self.seen) if exclusions is None else exclusions
        device = self.model.device

        def score(users: np.ndarray) -> torch.Tensor:
            return self.model.score_all(torch.from_numpy(users).to(device))

        if self.index is None or exclusions.allow is not None:  # a candidate set: exact
            yield from exact_top_k(score, user_index, k, self.model.n_items, exclusions)
            return

        def queries(users: np.ndarray) -> torch.Tensor:
            return self.model.user_factors(torch.from_numpy(users).to(device))  # type: ignore[return-value]

        def pairs(users: np.ndarray, items: np.ndarray) -> torch.Tensor:
            as_tensors = (torch.from_numpy(users).to(device), torch.from_numpy(items).to(device))
            return self.model(*as_tensors)

        yield from ann_top_k(
            self.index, queries, pairs, user_index, k, self.model.n_items, exclusions
        )

    def top_k(
        self, user_index: np.ndarray, k: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) user indices -> (n, k) item indices and scores, best first."""
        parts = list(self.blocks(user_index, k, Exclusions(self.seen if exclude_seen else None)))
        if not parts:
            k = min(k, self.model.n_items)
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])

    def recommend(
        self,
        users: list | np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        exclude_items: list | np.ndarray | None = None,
        candidates: list | np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Top-k per raw user id (one id or a list): columns user (each id as given:
        ``"42"`` comes back as ``"42"``, ``42`` as ``42``), rank (1-based), item, score
        and metadata. ``exclude_items`` is a deny-list and ``candidates`` an
        allow-list of raw item ids.

        Raises:
            DataError: a user id the model does not know."""
        frames = self.recommend_blocks(users, k, exclude_seen, exclude_items, candidates)
        return pd.concat(list(frames), ignore_index=True)

    @torch.no_grad()
    def predict(self, users: object, items: object) -> pd.DataFrame:
        """The model's score of each (user, item) pair, by raw ids: ``users`` and
        ``items`` of one length, or one of them a single id paired with every id of the
        other. Columns user, item, score; for a model trained on ratings the score is the
        predicted rating (unclipped), for the others the ranking score (a logit for
        pointwise models).

        Raises:
            DataError: a user or item id the model does not know.
            UsageError: lists of different lengths."""
        raw_users, raw_items = _pairs(users, items)
        user_index = self.known.user_vocab.index(raw_users, what="user")
        item_index = self.known.item_vocab.index(raw_items, what="item")
        scores = self._pair_scores(user_index, item_index)
        return pd.DataFrame({"user": raw_users, "item": raw_items, "score": scores})

    def score_pairs(self, users: object, items: object) -> pd.DataFrame:
        """Each (user, item) pair's score as served (``ncf predict``, ``POST /v1/score``):
        columns user, item, score, error. A model judged by the ``rating`` protocol gives
        the predicted rating clipped to the training ratings' range, as the protocol
        scores it; the others their ranking score. A pair with an id the model does not
        know has no score (NaN) and an error naming the id; the other pairs are scored."""
        raw_users, raw_items = _pairs(users, items)
        user_index = self.known.user_vocab.index(raw_users, missing="mask")
        item_index = self.known.item_vocab.index(raw_items, missing="mask")
        known = (user_index >= 0) & (item_index >= 0)
        scores = np.full(len(raw_users), np.nan)
        scores[known] = self._pair_scores(user_index[known], item_index[known])
        if self.rating_range is not None:
            scores = np.clip(scores, *self.rating_range)  # NaN stays NaN
        errors = np.full(len(raw_users), None, dtype=object)
        for what, raw, index in (("item", raw_items, item_index), ("user", raw_users, user_index)):
            unknown = np.flatnonzero(index < 0)  # only the failed pairs are named one by one
            errors[unknown] = [f"unknown {what} id {str(r)[:200]!r}" for r in raw[unknown]]
        return pd.DataFrame(
            {"user": raw_users, "item": raw_items, "score": scores, "error": errors}
        )

    @torch.no_grad()
    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        device, out = self.model.device, []
        for start in range(0, len(users), 1 << 16):
            chunk = slice(start, start + (1 << 16))
            scored = self.model(
                torch.from_numpy(users[chunk]).to(device), torch.from_numpy(items[chunk]).to(device)
            )
            out.append(scored.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def recommend_blocks(
        self,
        users: list | np.ndarray | None = None,
        k: int = 10,
        exclude_seen: bool = True,
        exclude_items: list | np.ndarray | None = None,
        candidates: list | np.ndarray | None = None,
    ) -> Iterator[pd.DataFrame]:
        """`recommend` a block of users at a time (``users`` None: every known user, by
        the data's own ids), to write a large answer without holding it all."""
        if users is None:
            index = np.arange(self.model.n_users)
            labels = self.known.user_vocab.raw(index)
        else:  # the caller's ids come back as given: "42" as "42", 42 as 42
            labels = np.atleast_1d(np.asarray(users))
            index = self.known.user_vocab.index(labels, what="user")
        exclusions = self.exclusions(exclude_seen, exclude_items, candidates)
        done = 0
        for block, items, scores in self.blocks(index, k, exclusions):
            yield self._frame(labels[done : done + len(block)], items, scores)
            done += len(block)
        if not done:
            yield self._frame(labels, np.empty((0, 0), np.int64), np.empty((0, 0), np.float32))

    def _frame(self, labels: np.ndarray, items: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        finite = np.isfinite(scores).ravel()
        frame = self.item_rows(items.ravel(), scores.ravel())
        frame.insert(0, "user", np.repeat(labels, items.shape[1]))
        frame.insert(1, "rank", np.tile(np.arange(1, items.shape[1] + 1), len(labels)))
        frame = frame[finite].reset_index(drop=True)
        frame.attrs.update(path="known user", retrieval=self.retrieval)
        return frame

    def recommend_items(
        self,
        items: list | np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        exclude_items: list | np.ndarray | None = None,
        candidates: list | np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Top-k for a new user from the raw ids of the items they have (oldest first,
        for the sequence models): columns rank (1-based), item, score and metadata.
        ``frame.attrs["path"]`` names how the user was scored (`ncf.inference.fold_in.PATHS`):
        sequence, row, least squares, gradient, or popularity for an empty list.

        Raises:
            DataError: an item id the model does not know."""
        raw = np.atleast_1d(np.asarray(items))
        index = self.known.item_vocab.index(raw, what="item") if len(raw) else raw.astype(np.int64)
        exclusions = self.exclusions(False, exclude_items, candidates)
        top, values, path = self.new_user_top_k(index, k, exclude_seen, exclusions)
        frame = self.item_rows(top, values)
        frame.insert(0, "rank", np.arange(1, len(top) + 1))
        frame = frame[np.isfinite(values)].reset_index(drop=True)
        frame.attrs.update(path=path, retrieval="exact")
        return frame

    def new_user_top_k(
        self,
        items: np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        exclusions: Exclusions | None = None,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """`recommend_items` by item indices: (k,) item indices and scores, best first
        (-inf where nothing is left), and the fold-in path."""
        _check_k(k)
        answer = fold_in(self.model, items, self.popularity)
        exclusions = Exclusions() if exclusions is None else exclusions
        scores = exclude(answer.scores.clone()[None], np.zeros(1, np.int64), exclusions)[0]
        if exclude_seen and len(items):
            scores[torch.from_numpy(items)] = -torch.inf
        values, top = scores.topk(min(k, len(scores)))
        return top.numpy(), values.numpy(), answer.path

    def recommend_sequence(
        self, items: list | np.ndarray, k: int = 10, exclude_seen: bool = True
    ) -> pd.DataFrame:
        """`recommend_items` for a sequence model: the items in time order, oldest first."""
        if not hasattr(self.model, "score_histories"):
            raise UsageError(
                f"model {self.model.name!r} does not score a list of items in order; "
                "the sequence models (sasrec, mpm) do (recommend_items folds in any model)"
            )
        if not len(np.atleast_1d(np.asarray(items))):
            raise UsageError("no items to score from")
        return self.recommend_items(items, k, exclude_seen)

    @cached_property
    def popularity(self) -> np.ndarray:
        """(n_items,) the known interactions of every item (counted once)."""
        return np.bincount(self.known.item_ids, minlength=self.model.n_items)

    def history(self, user: object) -> pd.DataFrame:
        """The known items of one raw user id."""
        row = self.seen[int(self.known.user_vocab.index(np.array([user]), what="user")[0])]
        return self.item_rows(row.indices.astype(np.int64))

    def similar(self, item: object, k: int = 10) -> pd.DataFrame:
        """Items closest to a raw item id; ``frame.attrs["path"]`` says by what
        (`similarities`)."""
        _check_k(k)
        index = int(self.known.item_vocab.index(np.array([item]), what="item")[0])
        scores, path = self.similarities(index)
        values, top = scores.topk(min(k, len(scores) - 1))
        frame = self.item_rows(top.numpy(), values.numpy())
        frame.attrs["path"] = path
        return frame

    @torch.no_grad()
    def similarities(self, index: int) -> tuple[torch.Tensor, str]:
        """(n_items,) similarity of every item to item ``index`` (-inf for itself) and
        by what, first that applies: ``neighbours``, the model's own item similarities
        (item-kNN); ``embeddings``, the cosine of its item vectors; ``co-occurrence``, the
        cosine of the items' columns of the known interactions (no item vectors)."""
        own = getattr(self.model, "item_similarities", None)
        if own is not None:
            scores, path = own(index).float().cpu().clone(), "neighbours"
        elif self._unit_vectors is not None:
            vectors = self._unit_vectors
            scores, path = vectors @ vectors[index], "embeddings"
        else:
            scores, path = torch.from_numpy(self._co_occurrence(index)), "co-occurrence"
        scores[index] = -torch.inf
        return scores, path

    @cached_property
    def _unit_vectors(self) -> torch.Tensor | None:
        """The item embeddings scaled to length 1 (computed once: the model is fixed)."""
        with torch.no_grad():
            embeddings = self.model.item_embeddings()
        return None if embeddings is None else F.normalize(embeddings.float().cpu(), dim=1)

    @cached_property
    def _columns(self) -> tuple[sp.csc_matrix, np.ndarray]:
        binary = (self.seen > 0).astype(np.float32).tocsc()
        return binary, np.sqrt(np.asarray(binary.sum(axis=0)).ravel())

    def _co_occurrence(self, item: int) -> np.ndarray:
        """(n_items,) cosine of every item's column of the known interactions with
        ``item``'s (0 for items nobody has)."""
        binary, norms = self._columns
        together = np.asarray((binary.T @ binary[:, item]).todense()).ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = together / (norms * norms[item])
        return np.nan_to_num(cosine, nan=0.0, posinf=0.0).astype(np.float32)


def _pairs(users: object, items: object) -> tuple[np.ndarray, np.ndarray]:
    """Raw ids as pairs: two lists of one length, or one id paired with each of a list."""
    raw_users = np.atleast_1d(np.asarray(users))
    raw_items = np.atleast_1d(np.asarray(items))
    if len(raw_users) == 1:
        raw_users = np.repeat(raw_users, len(raw_items))
    elif len(raw_items) == 1:
        raw_items = np.repeat(raw_items, len(raw_users))
    if len(raw_users) != len(raw_items):
        raise UsageError(
            f"pairs need as many users as items: {len(raw_users)} and {len(raw_items)}"
        )
    return raw_users, raw_items


def rating_range(config: dict) -> tuple[float, float] | None:
    """The (low, high) a bundle's ``config.json`` records for a rating model, else None."""
    given = config.get("rating_range")
    return (float(given[0]), float(given[1])) if given else None


def _check_k(k: int) -> None:
    if k < 1:
        raise UsageError(f"k must be a positive number of items, got {k}")


def load(path: str | Path, index: str | None = None) -> Recommender:
    """Loads a bundle (or the bundle of a run folder) as a `Recommender`; ``index``
    (``hnsw`` or ``ivf``) builds an approximate index for known users' top-k.

    Examples:
        >>> rec = ncf.load("runs/neumf-ncf")              # a run folder, or its bundle/
        >>> rec.recommend(["42"], k=10)
        >>> ncf.load("runs/ials-ncf", index="hnsw")       # faiss (the ``ann`` extra)
    """
    model, known, config = load_parts(path)
    rec = Recommender(model, known, rating_range=rating_range(config))
    if index is not None:
        rec.build_index(index)
    return rec
