"""Using a trained model: top-k recommendations and similar items, by raw ids.

>>> rec = ncf.load("runs/neumf")
>>> rec.recommend(["196"], k=10)            # data frame: user, rank, item, score, title
>>> rec.similar("50", k=10)                 # cosine of item embeddings
>>> rec.recommend_items(["50", "172"])      # a new user from their items (fold-in)
>>> rec.recommend_sequence(["50", "172"])   # the same, in time order (sequence models)
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ncf.bundle import load_parts
from ncf.data.interactions import Interactions
from ncf.errors import DataError, UsageError
from ncf.fold_in import fold_in
from ncf.models import Model


class Recommender:
    """A model with its vocabularies and each user's known items.

    Args:
        model: a trained model.
        known: interactions excluded from recommendations (with vocabularies, metadata).
        batch_size: users scored at once.
    """

    def __init__(self, model: Model, known: Interactions, batch_size: int = 1024):
        self.model = model.eval()
        self.known = known
        self.seen = known.csr().tocsr()
        self.batch_size = batch_size

    @property
    def items(self) -> pd.DataFrame | None:
        return self.known.items

    def item_rows(self, item_index: np.ndarray) -> pd.DataFrame:
        """Raw item ids (column ``item``) and their metadata, one row per index."""
        frame = pd.DataFrame({"item": self.known.item_vocab.raw(item_index)})
        if self.items is not None:
            for column in self.items.columns:
                frame[column] = self.items[column].to_numpy()[item_index]
        return frame

    @torch.no_grad()
    def top_k(
        self, user_index: np.ndarray, k: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) user indices -> (n, k) item indices and scores, best first."""
        _check_k(k)
        k = min(k, self.model.n_items)
        items_out, scores_out = [], []
        for start in range(0, len(user_index), self.batch_size):
            block = user_index[start : start + self.batch_size]
            scores = (
                self.model.score_all(torch.from_numpy(block).to(self.model.device)).float().cpu()
            )
            if exclude_seen:
                rows = self.seen[block]
                row_ids = np.repeat(np.arange(len(block)), np.diff(rows.indptr))
                scores[
                    torch.from_numpy(row_ids), torch.from_numpy(rows.indices.astype(np.int64))
                ] = -torch.inf
            values, index = scores.topk(k, dim=1)
            items_out.append(index.numpy())
            scores_out.append(values.numpy())
        if not items_out:
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.concatenate(items_out), np.concatenate(scores_out)

    def recommend(
        self, users: list | np.ndarray, k: int = 10, exclude_seen: bool = True
    ) -> pd.DataFrame:
        """Top-k per raw user id (one id or a list): columns user, rank (1-based), item,
        score and metadata."""
        index = self.known.user_vocab.index(np.atleast_1d(np.asarray(users)), what="user")
        items, scores = self.top_k(index, k, exclude_seen)
        finite = np.isfinite(scores).ravel()
        frame = self.item_rows(items.ravel())
        frame.insert(0, "user", np.repeat(self.known.user_vocab.raw(index), items.shape[1]))
        frame.insert(1, "rank", np.tile(np.arange(1, items.shape[1] + 1), len(index)))
        frame["score"] = scores.ravel()
        return frame[finite].reset_index(drop=True)

    def recommend_items(
        self, items: list | np.ndarray, k: int = 10, exclude_seen: bool = True
    ) -> pd.DataFrame:
        """Top-k for a new user from the raw ids of the items they have (oldest first,
        for the sequence models): columns rank (1-based), item, score and metadata.
        ``frame.attrs["path"]`` names how the user was scored (`ncf.fold_in.PATHS`):
        sequence, row, least squares, gradient, or popularity for an empty list.

        Raises:
            DataError: an item id the model does not know."""
        _check_k(k)
        raw = np.atleast_1d(np.asarray(items))
        index = self.known.item_vocab.index(raw, what="item") if len(raw) else raw.astype(np.int64)
        answer = fold_in(self.model, index, self.popularity)
        scores = answer.scores.clone()
        if exclude_seen and len(index):
            scores[torch.from_numpy(index)] = -torch.inf
        values, top = scores.topk(min(k, len(scores)))
        frame = self.item_rows(top.numpy())
        frame.insert(0, "rank", np.arange(1, len(top) + 1))
        frame["score"] = values.numpy()
        frame = frame[np.isfinite(values.numpy())].reset_index(drop=True)
        frame.attrs["path"] = answer.path
        return frame

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

    @torch.no_grad()
    def similar(self, item: object, k: int = 10) -> pd.DataFrame:
        """Items closest to a raw item id: by the model's own item similarities where it
        has them (item-kNN's neighbours), else by cosine of its item embeddings."""
        _check_k(k)
        index = int(self.known.item_vocab.index(np.array([item]), what="item")[0])
        own = getattr(self.model, "item_similarities", None)
        if own is not None:
            scores = own(index).float().cpu().clone()
        else:
            embeddings = self.model.item_embeddings()
            if embeddings is None:
                raise DataError(f"model {self.model.name!r} has no item embeddings")
            vectors = F.normalize(embeddings.float().cpu(), dim=1)
            scores = vectors @ vectors[index]
        scores[index] = -torch.inf
        values, top = scores.topk(min(k, len(scores) - 1))
        frame = self.item_rows(top.numpy())
        frame["score"] = values.numpy()
        return frame


def _check_k(k: int) -> None:
    if k < 1:
        raise UsageError(f"k must be a positive number of items, got {k}")


def load(path: str | Path) -> Recommender:
    """Loads a bundle (or the bundle of a run folder) as a `Recommender`."""
    model, known, _ = load_parts(path)
    return Recommender(model, known)
