"""``ncf.compare``: paired tests against the best model, Holm-corrected, on hand-made
per-user metrics and on real runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ncf
from ncf.errors import UsageError
from ncf.experiment.compare import comparison_table, holm, paired_p_value


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 -> 3 x 0.01, 2 x 0.02, 1 x 0.04, made non-decreasing
    np.testing.assert_allclose(holm(np.array([0.04, 0.01, 0.02])), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(holm(np.array([0.5, 0.4])), [0.8, 0.8])  # capped, monotone
    np.testing.assert_allclose(holm(np.array([0.6, 0.7])), [1.0, 1.0])
    assert holm(np.array([])).shape == (0,)


def test_paired_p_values_are_scipys():
    best = np.array([1.0, 0.5, 0.33, 1.0, 0.0, 0.25, 1.0, 0.5])
    other = np.array([0.5, 0.5, 0.0, 0.33, 0.0, 0.0, 1.0, 0.25])
    assert paired_p_value(best, other) == pytest.approx(stats.wilcoxon(best, other).pvalue)
    assert paired_p_value(best, other, "t") == pytest.approx(stats.ttest_rel(best, other).pvalue)
    assert paired_p_value(best, best) == 1.0  # never different: no evidence


class FakeRun:
    """What `comparison_table` reads of a run: metrics, the monitor, per-user values."""

    def __init__(self, per_user: dict[str, np.ndarray]):
        self.per = per_user
        test = {name: float(np.mean(v)) for name, v in per_user.items()}
        self.metrics = {
            "protocol": "full",
            "split": "loo",
            "n_test": len(per_user["ndcg@10"]),
            "test": test,
            "timing": {"fit_s": 1.0, "eval_s": 0.5},
        }
        self.config = type("C", (), {"train": type("T", (), {"monitor": "ndcg@10"})()})()

    def per_user(self, part: str) -> dict[str, np.ndarray]:
        return self.per


def test_the_table_pairs_every_model_with_the_best():
    rng = np.random.default_rng(1)
    strong = rng.random(200)
    runs = {
        "weak": FakeRun({"ndcg@10": strong * 0.5, "hr@10": (strong > 0.7) * 1.0}),
        "strong": FakeRun({"ndcg@10": strong, "hr@10": (strong > 0.5) * 1.0}),
        "close": FakeRun(
            {"ndcg@10": strong - np.abs(rng.normal(0, 1e-3, 200)), "hr@10": strong > 0.5}
        ),
    }
    table = comparison_table(runs)
    assert table["model"].tolist() == ["strong", "close", "weak"]
    raw = [stats.wilcoxon(strong, runs[m].per["ndcg@10"]).pvalue for m in ("close", "weak")]
    np.testing.assert_allclose(table["p_ndcg@10"].iloc[1:], holm(np.array(raw)))
    assert np.isnan(table["p_ndcg@10"].iloc[0])
    assert table["significant"].isna().tolist() == [True, False, False]  # the best: reference
    assert table["significant"].tolist()[1:] == [bool(holm(np.array(raw))[0] < 0.05), True]
    assert table.attrs["best"] == "strong" and table.attrs["protocol"] == "full"


def test_compare_runs_every_model_on_one_split(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(80), 10),
            "item_id": np.concatenate([rng.choice(50, 10, replace=False) for _ in range(80)]),
            "timestamp": np.arange(800),
        }
    )
    table = ncf.compare(
        ["popularity", "ease"], frame, protocol="full", k=[10], seed=0, progress=False
    )
    assert len(table) == 2 and set(table["model"]) == {"popularity", "ease"}
    assert {"p_ndcg@10", "p_hr@10", "significant", "fit_s", "eval_s"} <= set(table.columns)
    assert table["p_ndcg@10"].isna().sum() == 1
    with pytest.raises(UsageError, match="two or more distinct models"):
        ncf.compare(["ease", "ease"], frame)
    with pytest.raises(UsageError, match="settings for models not compared"):
        ncf.compare(["ease", "popularity"], frame, settings={"gmf": {"epochs": 1}})


def test_the_command_line_prints_and_writes_the_table(tmp_path):
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(80), 10),
            "item_id": np.concatenate([rng.choice(50, 10, replace=False) for _ in range(80)]),
        }
    ).to_csv(tmp_path / "log.csv", index=False)
    command = [sys.executable, "-m", "ncf.cli", "compare", "--models", "popularity,ease"]
    command += ["--data", str(tmp_path / "log.csv"), "--protocol", "full", "--k", "5"]
    command += ["--set", "ease.l2=50", "--out", str(tmp_path / "table.csv")]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"}
    )
    assert result.returncode == 0, result.stderr
    assert "Holm-corrected" in result.stdout and "ndcg@5" in result.stdout
    table = pd.read_csv(tmp_path / "table.csv")
    assert table.shape[0] == 2 and "p_ndcg@5" in table.columns
    bad = [*command[:-2], "--set", "gmf.epochs=1"]
    result = subprocess.run(bad, capture_output=True, text=True)
    assert result.returncode == 2 and "'gmf' is not among --models" in result.stderr
