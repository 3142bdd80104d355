"""A finished run in memory (`Run`, what `ncf.fit` returns): its metrics and history, its
model, and recommendations, scores and evaluations by raw ids.

    >>> run = ncf.fit(ratings, model="ease")
    >>> run.metrics["test"], run.history
    >>> run.recommend(["42"], k=10)            # user, rank, item, score, title ...
    >>> run.predict(["42"], ["1193"])          # the score (or rating) of each pair
    >>> run.evaluate(protocol="sampled:99", k=[10, 20])
    >>> run.save("bundles/ease"); ncf.load("bundles/ease").recommend(["42"])
"""

from __future__ import annotations

import copy
import html
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ncf.data.interactions import Interactions
from ncf.data.io.source import data_label
from ncf.data.splits import drop_unseen, fingerprint
from ncf.errors import UsageError
from ncf.evaluation.protocols import Protocol
from ncf.experiment.config import RunConfig
from ncf.experiment.pipeline import RunResult
from ncf.experiment.preparation import evaluators
from ncf.experiment.steps import build_model, fitted_on_train, rating_range
from ncf.inference.bundle import save_bundle
from ncf.inference.recommender import Recommender
from ncf.models import Model
from ncf.models.base import ClosedForm
from ncf.random import Generators

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PARTS = ("test", "valid")


class Run:
    """A trained, selected and tested model with its data.

    Attributes:
        metrics: what ``metrics.json`` holds: validation and test metrics labelled with
            their protocol, the best epoch, sizes, timings.
        history: one row per epoch (phase, epoch, loss, validation metrics, seconds).
        config: the resolved `RunConfig` (``ncf train --config`` reruns it once saved).
        model: the final torch module (refit on train + validation unless ``refit`` is
            off), in evaluation mode.
        out: the run folder written (``out=``), or None.

    Examples:
        >>> run = ncf.fit("ml-100k", model="popularity")
        >>> run.metrics["protocol"], run.metrics["test"]["hr@10"]     # ("full", 0.0859)
        >>> run.recommend(["196"], k=3).columns.tolist()
        ['user', 'rank', 'item', 'score', 'title', 'genres']
        >>> run.predict(["196"], ["50"])                   # user, item, score
        >>> run.evaluate(protocol="sampled:99", k=[10])    # {"protocol": ..., "test": {...}}
        >>> run.save("bundles/popularity")                 # then ncf.load(...) or ncf serve
    """

    def __init__(self, result: RunResult, config: RunConfig):
        self.metrics: dict[str, Any] = result.metrics
        self.config = config
        self.model: Model = result.model.eval()
        self.out = result.out
        self.prepared = result.prepared
        outcome = result.outcome
        self.history = pd.DataFrame(outcome.history if outcome is not None else [])
        self._selected = outcome.selected if outcome is not None else None
        self._test_per_query = result.test_per_query
        # what serving keeps as evaluated (graph models' propagated embeddings)
        self._serving = self.model.serving_state()

    # ------------------------------------------------------------------ recommendations

    @property
    def known(self) -> Interactions:
        """Every interaction of the data (train, validation and test): what a bundle keeps
        and what recommendations exclude."""
        return self.prepared.known.concat(self.prepared.split.test)

    @cached_property
    def recommender(self) -> Recommender:
        """The `Recommender` of this run, scoring exactly as its saved bundle does."""
        model = copy.deepcopy(self.model)
        known = self.known
        model.observe(known)
        model.load_serving_state(self._serving)
        return Recommender(model.eval(), known)

    def recommend(self, users: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-k per raw user id (one id or a list): columns user, rank (1-based), item,
        score, then the item metadata (title, genres ...)."""
        return self.recommender.recommend(np.atleast_1d(np.asarray(users)), k, exclude_seen)

    def recommend_items(self, items: Any, k: int = 10) -> pd.DataFrame:
        """Top-k for a new user from the raw ids of the items they have (fold-in, oldest
        first for the sequence models): columns rank, item, score and metadata."""
        return self.recommender.recommend_items(np.atleast_1d(np.asarray(items)), k)

    def similar(self, item: Any, k: int = 10) -> pd.DataFrame:
        """The k items most like ``item`` (cosine of item vectors, or co-occurrence)."""
        return self.recommender.similar(item, k)

    def predict(self, users: Any, items: Any) -> pd.DataFrame:
        """The score of each (user, item) pair by raw ids (the predicted rating for models
        trained on ratings): columns user, item, score. See `Recommender.predict`."""
        return self.recommender.predict(users, items)

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self, protocol: str | None = None, k: int | list[int] | None = None, part: str = "test"
    ) -> dict[str, Any]:
        """The metrics of ``part`` under another protocol or cut-offs, labelled as in
        ``metrics.json``: ``{"protocol": "sampled:99", "test": {"hr@10": ...}}``.

        The test part is scored with the final model; the validation part with the model
        selected on it, trained on the training part only (a model refit on train +
        validation saw it). Sampled negatives are drawn from the run's seed, so the run's
        own protocol gives the run's own numbers."""
        _check_part(part)
        chosen = Protocol.parse(protocol) if protocol else self.prepared.protocol
        ks = tuple(self.config.ks if k is None else ([k] if isinstance(k, int) else k))
        split = self.prepared.split
        if chosen.kind == "rating" and self.prepared.protocol.kind != "rating":
            split = drop_unseen(split)
        valid, test = evaluators(split, chosen, ks, Generators.from_seed(self.config.seed))
        if part == "test":
            return {"protocol": chosen.label, "test": test(self.model)}
        return {"protocol": chosen.label, "valid": valid(self.validation_model())}

    def per_user(self, part: str = "test") -> dict[str, np.ndarray]:
        """Each test (or validation) query's metrics under the run's protocol, in the
        evaluator's query order: the same users, in the same order, for every model run on
        the same data, split, protocol and seed (what `ncf.compare`'s paired tests pair);
        the test's are those the run computed its test metrics from."""
        _check_part(part)
        if part == "test":
            if self._test_per_query is None:
                self._test_per_query = self.prepared.test.per_query(self.model)
            return self._test_per_query
        return self.prepared.valid.per_query(self.validation_model())

    def validation_model(self) -> Model:
        """The model selected on validation, trained on the training part only."""
        if not self.config.refit:
            return self.model
        if self._selected is None:  # closed form: fitted again on the training part
            return fitted_on_train(self.config, self.prepared).to(self.model.device).eval()
        model = build_model(self.config, self.prepared).to(self.model.device)
        model.load_state_dict(self._selected)
        return model.eval()

    # ------------------------------------------------------------------ output

    def plot(self) -> Figure:
        """The learning curves (loss and validation metrics per epoch, best epoch marked)
        as a matplotlib Figure; for a model fitted in closed form, validation against
        test per metric."""
        from ncf.training.logs import learning_curve_figure, metrics_figure

        figure = learning_curve_figure(self.history, self.metrics) if len(self.history) else None
        return figure if figure is not None else metrics_figure(self.metrics)

    def save(self, path: str | Path) -> Path:
        """Writes the model's bundle (what ``ncf.load``, ``ncf recommend`` and ``ncf
        serve`` read); ``ncf.load(path)`` then recommends exactly what this run does."""
        split = self.prepared.split
        model = copy.deepcopy(self.model).cpu()
        return save_bundle(
            Path(path),
            model,
            self.known,
            self._selected,
            fingerprint(split.train, split.valid),
            rating_range(self.prepared),
        )

    def summary(self) -> pd.DataFrame:
        """Validation and test metrics side by side, one row per metric."""
        valid, test = self.metrics.get("valid") or {}, self.metrics["test"]
        return pd.DataFrame(
            {"valid": [valid.get(name, np.nan) for name in test], "test": list(test.values())},
            index=pd.Index(list(test), name=f"metric ({self.metrics['protocol']})"),
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in list(self.metrics["test"].items())[:2])
        return f"Run(model={self.config.model!r}, data={self.config.data!r}, test: {shown})"

    def _repr_html_(self) -> str:
        metrics = self.metrics
        timing = metrics["timing"]
        if isinstance(self.model, ClosedForm):
            fitted = f"fitted in closed form in {timing['fit_s']:.1f} s"
        else:
            fitted = (
                f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']} on validation; "
                f"trained in {timing['fit_s']:.1f} s"
            )
        data = html.escape(data_label(metrics["data"]))
        head = (
            f"<b>{html.escape(metrics['model'])}</b> on {data}: "
            f"{metrics['n_users']:,} users, {metrics['n_items']:,} items, "
            f"{metrics['n_train']:,} / {metrics['n_valid']:,} / {metrics['n_test']:,} rows "
            f"(train / valid / test, split {html.escape(str(metrics['split']))}); {fitted}"
        )
        table = self.summary().to_html(float_format=lambda v: f"{v:.4f}", na_rep="-")
        return f"<div><p>{head}</p>{table}</div>"


def _check_part(part: str) -> None:
    if part not in PARTS:
        raise UsageError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
