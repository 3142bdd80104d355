"""Several models on one split and one protocol, with paired significance tests
(`compare`): each model's test metrics, fit and evaluation seconds, and for every metric
the p-value of a paired test over the same test queries against the best model,
Holm-corrected across the models compared.

    >>> table = ncf.compare(["popularity", "ease", "bpr-mf"], "ml-100k", protocol="full")
    >>> table[["model", "ndcg@10", "p_ndcg@10", "significant"]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncf.errors import UsageError
from ncf.evaluation.metrics import higher_is_better, per_query_key
from ncf.experiment.fit import data_settings, fit_config, split_settings
from ncf.experiment.preparation import load_source
from ncf.experiment.run import Run
from ncf.experiment.settings import applicable

TESTS = ("wilcoxon", "t")
ALPHA = 0.05


def compare(
    models: Sequence[str],
    data: Any,
    *,
    columns: Mapping[str, str] | None = None,
    split: str | None = None,
    protocol: str | None = None,
    k: int | Sequence[int] | None = None,
    seed: int = 0,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
    test: str = "wilcoxon",
) -> pd.DataFrame:
    """Trains every model of ``models`` as `ncf.fit` does, on one split of ``data`` and
    one protocol, and compares them on the test part.

    Args:
        models: registered model names (``ncf.MODELS``), each once.
        data: as `ncf.fit` takes it (a DataFrame, a mapping of parts, a path or a
            registry name); read once for all models.
        columns, split, protocol, k, seed: as `ncf.fit`; the same for every model.
        settings: per-model settings, ``{"bpr-mf": {"epochs": 5}}``; ``"*"`` applies to
            every model that uses the setting (``epochs`` passes the closed-form models
            by; a model's own keys win).
        out: a folder; each model's run folder is written to ``out/MODEL``.
        progress: as `ncf.fit`.
        test: the paired test: ``wilcoxon`` (signed-rank) or ``t`` (paired t-test).

    Returns:
        One row per model, best first by the selection metric (the runs' ``monitor``),
            with ``model``, its test metrics, ``fit_s``, ``eval_s``, then
            ``p_<metric>`` (the Holm-corrected p-value of the paired test against the best
            model on that metric; NaN for the best, the reference) and ``significant``
            (the selection metric's p-value below 0.05; NA for the best). ``frame.attrs``
            holds the protocol, the split, the test, the selection metric and the best
            model.

    Raises:
        UsageError: fewer than two models, a model named twice, an unknown model or
            setting, settings for a model not compared, an unknown test.

    Examples:
        >>> table = ncf.compare(["popularity", "ease", "bpr-mf"], "ml-100k", protocol="full",
        ...                     settings={"bpr-mf": {"epochs": 10}, "*": {"seed": 1}})
        >>> table[["model", "ndcg@10", "p_ndcg@10", "significant"]]   # the best first
        >>> table.attrs["best"], table.attrs["test"]                   # ("ease", "wilcoxon")
    """
    names = list(models)
    if len(names) < 2 or len(set(names)) < len(names):
        raise UsageError(f"compare needs two or more distinct models; got {names}")
    if test not in TESTS:
        raise UsageError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    per_model = dict(settings or {})
    stray = set(per_model) - set(names) - {"*"}
    if stray:
        raise UsageError(f"settings for models not compared: {sorted(stray)}")
    source, common = data_settings(data, columns)
    if source is None:  # read once for every model; the runs name the data as given
        source = load_source(common["data"], common.get("columns", ""))
    common |= split_settings(split, protocol, k, seed)
    runs: dict[str, Run] = {}
    for name in names:
        shared = applicable(name, per_model.get("*", {}))  # epochs=3 passes the closed forms by
        values = {**common, **shared, **per_model.get(name, {}), "model": name}
        folder = None if out is None else Path(out) / name
        runs[name] = fit_config(values, source, folder, progress)
    return comparison_table(runs, test)


def comparison_table(runs: Mapping[str, Run], test: str = "wilcoxon") -> pd.DataFrame:
    """The comparison of finished runs on the same test queries (see `compare`)."""
    first = next(iter(runs.values()))
    labels = {
        (r.metrics["protocol"], r.metrics["split"], r.metrics["n_test"]) for r in runs.values()
    }
    if len(labels) > 1:
        raise UsageError(f"runs on different splits or protocols cannot be paired: {labels}")
    monitor = first.config.train.monitor
    metrics = list(first.metrics["test"])
    rows = [
        {
            "model": name,
            **run.metrics["test"],
            "fit_s": run.metrics["timing"]["fit_s"],
            "eval_s": run.metrics["timing"]["eval_s"],
        }
        for name, run in runs.items()
    ]
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(monitor, ascending=not higher_is_better(monitor), kind="stable")
    frame = frame.reset_index(drop=True)
    best = str(frame["model"].iloc[0])
    per_user = {name: run.per_user("test") for name, run in runs.items()}
    others = [str(m) for m in frame["model"].iloc[1:]]
    for metric in metrics:
        key = per_query_key(metric)
        raw = [paired_p_value(per_user[best][key], per_user[m][key], test) for m in others]
        adjusted = dict(zip(others, holm(np.asarray(raw)), strict=True))
        frame[f"p_{metric}"] = [adjusted.get(str(m), np.nan) for m in frame["model"]]
    # the best model is the reference: no test of it against itself (NA)
    significant = frame[f"p_{monitor}"].lt(ALPHA).astype("boolean")
    frame["significant"] = significant.mask(frame[f"p_{monitor}"].isna())
    frame.attrs |= {
        "protocol": first.metrics["protocol"],
        "split": first.metrics["split"],
        "test": test,
        "monitor": monitor,
        "best": best,
    }
    return frame


def paired_p_value(first: np.ndarray, second: np.ndarray, test: str = "wilcoxon") -> float:
    """The two-sided p-value of a paired test of two models' per-query values; 1 when they
    never differ (no evidence of a difference)."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if len(first) != len(second):
        raise UsageError(f"paired values of different lengths: {len(first)} and {len(second)}")
    if not np.any(first != second):
        return 1.0
    from scipy import stats  # a second at import; only comparisons need it

    if test == "wilcoxon":
        return float(stats.wilcoxon(first, second).pvalue)
    return float(stats.ttest_rel(first, second).pvalue)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down correction of m p-values (family-wise error rate): the i-th
    smallest is multiplied by m - i (i from 0), then made non-decreasing and capped at 1."""
    p = np.asarray(p_values, np.float64)
    if not len(p):
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty_like(p)
    out[order] = adjusted
    return out
