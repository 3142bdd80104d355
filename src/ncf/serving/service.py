"""What the HTTP app answers with: a loaded bundle, its ids as text, its items as JSON.

Everything a request needs that does not depend on the request is made once at load:
the text form of every raw id (path parameters arrive as text), each item's JSON
document (id, title, genres, ...), and the popularity order of the catalogue.

    >>> service = Service.load("runs/neumf")
    >>> service.recommend_user("196", k=10)["items"][0]
    {'item': 50, 'title': 'Star Wars (1977)', 'genres': 'Action|Adventure|...', 'rank': 1, ...}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf.data.io.source import data_label
from ncf.inference.bundle import bundle_folder, load_parts
from ncf.inference.recommender import Recommender, rating_range


class UnknownId(LookupError):
    """A user or item id the model does not know (HTTP 404)."""

    def __init__(self, what: str, raw: object):
        self.id = str(raw)[:200]  # an error echoes at most 200 characters of what it was given
        super().__init__(f"unknown {what} id {self.id!r}")


class Service:
    """A `Recommender` with the documents and look-ups the endpoints use.

    Args:
        rec: the loaded model.
        config: the bundle's ``config.json``.
        metrics: the run's ``metrics.json`` (empty for a bare bundle).
        folder: the bundle's folder, and ``index_kind`` its faiss index: what a reload
            loads again.
    """

    def __init__(
        self,
        rec: Recommender,
        config: dict[str, Any],
        metrics: dict[str, Any],
        folder: Path | None = None,
        index_kind: str | None = None,
    ):
        self.rec = rec
        self.config = config
        self.metrics = metrics
        self.folder, self.index_kind = folder, index_kind  # what a reload reads again
        known = rec.known
        self.user_ids = [_json_id(u) for u in known.user_vocab.ids]
        self.item_ids = [_json_id(i) for i in known.item_vocab.ids]
        self.user_index = {str(u): n for n, u in enumerate(self.user_ids)}
        self.item_index = {str(i): n for n, i in enumerate(self.item_ids)}
        rows = rec.item_rows(np.arange(rec.model.n_items))
        self.items = _documents(rows)
        # searched texts: user ids; item titles (ids without titles), most popular first
        self.user_text = pd.Series([str(u) for u in self.user_ids])
        self.by_popularity = np.argsort(-rec.popularity, kind="stable")
        named = rows["title"] if "title" in rows else rows["item"]
        self.item_text = named.astype(str).str.lower().iloc[self.by_popularity]
        # each user's interactions (row positions) in time order, users one after another
        self.user_counts = np.bincount(known.user_ids, minlength=rec.model.n_users)
        order = known.chronological()
        self.by_user = order[np.argsort(known.user_ids[order], kind="stable")]
        self.user_starts = np.concatenate([[0], np.cumsum(self.user_counts)])

    @classmethod
    def load(cls, path: str | Path, index: str | None = None) -> Service:
        """Reads a bundle (or a run folder's) once; ``index`` builds a faiss index."""
        folder = bundle_folder(path)
        model, known, config = load_parts(folder)
        rec = Recommender(model, known, rating_range=rating_range(config))
        if index is not None:
            rec.build_index(index)
        metrics_file = folder.parent / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        return cls(rec, config, metrics, folder, index)

    @property
    def model_name(self) -> str:
        return str(self.config["model"])

    @property
    def version(self) -> str:
        return str(self.config.get("ncf_version", ""))

    @property
    def n_users(self) -> int:
        return self.rec.model.n_users

    @property
    def n_items(self) -> int:
        return self.rec.model.n_items

    def describe(self) -> dict[str, Any]:
        """The model, its arguments and data, and its metrics with their protocols."""
        metrics = self.metrics
        return {
            "model": self.model_name,
            "args": self.config["args"],
            "ncf_version": self.version,
            "users": self.n_users,
            "items": self.n_items,
            "retrieval": self.rec.retrieval,
            "data": data_label(metrics["data"]) if metrics.get("data") else None,
            "protocol": metrics.get("protocol"),
            "metrics": {part: metrics[part] for part in ("valid", "test") if part in metrics},
            "run": {k: v for k, v in metrics.items() if k not in ("valid", "test", "data")},
            "scores": "rating" if self.rec.rating_range else "ranking",
        }

    def score_pairs(self, pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
        """Each pair's score (`Recommender.score_pairs`), unknown ids reported per pair."""
        users = np.array([str(user) for user, _ in pairs], dtype=object)
        items = np.array([str(item) for _, item in pairs], dtype=object)
        frame = self.rec.score_pairs(users, items) if pairs else None
        rows = []
        if frame is not None:
            scores, errors = frame["score"].to_numpy(), frame["error"].to_numpy(object)
            for n, (user, item) in enumerate(pairs):  # answered in the request's order
                score, error = float(scores[n]), errors[n]
                rows.append(
                    {
                        "user": user,
                        "item": item,
                        "score": score if math.isfinite(score) else None,
                        "error": error if isinstance(error, str) else None,
                    }
                )
        return {"kind": "rating" if self.rec.rating_range else "ranking", "scores": rows}

    def user(self, raw: str) -> int:
        try:
            return self.user_index[raw]
        except KeyError:
            raise UnknownId("user", raw) from None

    def item_number(self, raw: object) -> int:
        try:
            return self.item_index[str(raw)]
        except KeyError:
            raise UnknownId("item", raw) from None

    def item(self, raw: str) -> dict[str, Any]:
        return self.items[self.item_number(raw)]

    def _scored(self, items: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
        return [
            {**self.items[item], "rank": rank, "score": float(score)}
            for rank, (item, score) in enumerate(zip(items.tolist(), scores.tolist()), 1)
            if math.isfinite(score)
        ]

    def recommend_user(self, raw: str, k: int, exclude_seen: bool = True) -> dict[str, Any]:
        user = self.user(raw)
        exclusions = self.rec.exclusions(exclude_seen)
        _, items, scores = next(self.rec.blocks(np.array([user]), k, exclusions))
        scored = self._scored(items[0], scores[0])
        if not exclude_seen:
            rows = self.by_user[self.user_starts[user] : self.user_starts[user + 1]]
            has = set(self.rec.known.item_ids[rows].tolist())
            for entry, item in zip(scored, items[0].tolist()):
                entry["seen"] = item in has
        return {
            "user": self.user_ids[user],
            "path": "known user",
            "retrieval": self.rec.retrieval,
            "items": scored,
        }

    def recommend_items(
        self,
        items: list,
        k: int,
        exclude_seen: bool = True,
        exclude_items: list | None = None,
        candidates: list | None = None,
    ) -> dict[str, Any]:
        chosen = [self.item_number(raw) for raw in dict.fromkeys(map(str, items))]
        exclusions = self.rec.exclusions(False, exclude_items, candidates)
        top, values, path = self.rec.new_user_top_k(
            np.array(chosen, dtype=np.int64), k, exclude_seen, exclusions
        )
        return {
            "user": None,
            "path": path,
            "retrieval": "exact",
            "items": self._scored(top, values),
        }

    def similar(self, raw: str, k: int) -> dict[str, Any]:
        number = self.item_number(raw)
        scores, path = self.rec.similarities(number)
        values, top = scores.topk(min(k, len(scores) - 1))
        return {
            "item": self.items[number],
            "path": path,
            "items": self._scored(top.numpy(), values.numpy()),
        }

    def history(self, raw: str, limit: int) -> dict[str, Any]:
        """The user's items, most recent first (the bundle keeps them in time order),
        with their ratings when the bundle has ratings."""
        user = self.user(raw)
        known = self.rec.known
        rows = self.by_user[self.user_starts[user] : self.user_starts[user + 1]][::-1][:limit]
        ratings = [None] * len(rows) if known.ratings is None else known.ratings[rows].tolist()
        return {
            "user": self.user_ids[user],
            "total": int(self.user_counts[user]),
            "items": [
                {**self.items[item], "rating": rating}
                for item, rating in zip(known.item_ids[rows].tolist(), ratings)
            ],
        }

    def search_users(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Users whose id starts with ``query``, shortest ids first ("19" before "190")."""
        found = self.user_text[self.user_text.str.startswith(query.strip())]
        found = found.iloc[np.lexsort((found.to_numpy(), found.str.len().to_numpy()))][:limit]
        return [{"user": self.user_ids[n], "items": int(self.user_counts[n])} for n in found.index]

    def search_items(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Items whose title contains ``query`` (any case; the id without titles), most
        popular first."""
        found = self.item_text[self.item_text.str.contains(query.strip().lower(), regex=False)]
        return [self.items[n] for n in found.index[:limit]]


def _json_id(value: object) -> int | str:
    return int(value) if isinstance(value, np.integer | int) else str(value)


def _documents(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready dict per item: raw id, then metadata (missing values left out)."""
    frame = frame.astype(object).where(frame.notna(), None)
    frame["item"] = [_json_id(i) for i in frame["item"]]
    records = frame.to_dict("records")
    return [{key: value for key, value in doc.items() if value is not None} for doc in records]
