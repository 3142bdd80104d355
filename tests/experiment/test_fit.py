"""``ncf.fit`` is ``ncf train`` from Python: the same rows as a DataFrame or a file give the
same metrics; bad input raises the command line's message; nothing is written unless
``out`` is given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ncf
from ncf.errors import DataError, UsageError


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """A small log with string ids: 60 users, 40 items, 12 rows each, with times."""
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(60), 12)
    items = np.concatenate([rng.choice(40, 12, replace=False) for _ in range(60)])
    return pd.DataFrame(
        {
            "uid": [f"u{u}" for u in users],
            "book_id": [f"b{i}" for i in items],
            "stars": rng.integers(1, 6, len(users)).astype(float),
            "ts": np.arange(len(users)),
        }
    )


COLUMNS = {"user": "uid", "item": "book_id", "rating": "stars", "time": "ts"}


def cli_metrics(csv: Path, out: Path, *args: str) -> dict:
    command = [sys.executable, "-m", "ncf.cli", "train", "--data", str(csv), "--out", str(out)]
    env = {**os.environ, "COLUMNS": "120"}
    result = subprocess.run([*command, *args], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("model,settings", [("gmf", {"epochs": 2, "dim": 8}), ("ease", {})])
def test_a_frame_and_the_same_rows_in_a_file_give_the_same_run(
    ratings, tmp_path, monkeypatch, model, settings
):
    csv = tmp_path / "ratings.csv"
    ratings.to_csv(csv, index=False)
    columns = ",".join(f"{role}:{name}" for role, name in COLUMNS.items())
    sets = [f"--set={key}={value}" for key, value in settings.items()]
    expected = cli_metrics(csv, tmp_path / "run", "--model", model, "--columns", columns, *sets)
    monkeypatch.chdir(tmp_path / "run")
    before = sorted(p.name for p in Path.cwd().iterdir())
    run = ncf.fit(ratings, model, columns=COLUMNS, seed=0, progress=False, **settings)
    assert sorted(p.name for p in Path.cwd().iterdir()) == before  # nothing written
    assert run.metrics["test"] == expected["test"]
    assert run.metrics["valid"] == expected["valid"]
    assert run.metrics["best_epoch"] == expected["best_epoch"]
    assert len(run.history) == len(pd.read_csv(tmp_path / "run" / "history.csv"))


def test_a_run_recommends_predicts_evaluates_and_saves(ratings, tmp_path):
    run = ncf.fit(ratings, "gmf", columns=COLUMNS, epochs=2, dim=8, progress=False)
    top = run.recommend("u3", k=5)
    assert list(top.columns[:4]) == ["user", "rank", "item", "score"]
    assert top["user"].tolist() == ["u3"] * 5 and top["item"].str.startswith("b").all()
    seen = set(ratings.loc[ratings.uid == "u3", "book_id"])
    assert not seen & set(top["item"])  # what the user has is excluded
    pairs = run.predict(["u3", "u4"], ["b1", "b2"])
    scores = run.model(
        *(
            torch_ids(run.prepared.split.train.user_vocab.index(np.array(["u3", "u4"]))),
            torch_ids(run.prepared.split.train.item_vocab.index(np.array(["b1", "b2"]))),
        )
    )
    np.testing.assert_allclose(pairs["score"], scores.detach().numpy(), rtol=1e-6)
    again = run.evaluate(part="valid")
    assert again == {"protocol": "full", "valid": run.metrics["valid"]}
    assert run.evaluate()["test"] == run.metrics["test"]
    assert set(run.evaluate(protocol="sampled:20", k=[5, 10])["test"]) >= {"hr@5", "hr@10"}
    run.save(tmp_path / "bundle")
    loaded = ncf.load(tmp_path / "bundle").recommend(["u3"], k=5)
    assert loaded["item"].tolist() == top["item"].tolist()
    assert "<table" in run._repr_html_()
    figure = run.plot()
    assert figure.axes and figure._repr_png_()[:4] == b"\x89PNG"  # shown in a notebook


def torch_ids(index: np.ndarray):
    import torch

    return torch.from_numpy(index)


def test_ids_come_back_as_given(tmp_path):
    frame = pd.DataFrame(
        {
            "user": pd.Categorical(np.repeat(["ann", "bob", "cy"], 6)),
            "item": 100 + (np.repeat([0, 3, 6], 6) + np.tile(np.arange(6), 3)) % 12,
        }
    )
    run = ncf.fit(frame, "popularity", split="user-count:1,1", progress=False)
    top = run.recommend(["bob"], k=2)
    assert top["user"].tolist() == ["bob", "bob"]
    assert top["item"].dtype.kind == "i"
    assert run.known.user_vocab.ids.tolist() == ["ann", "bob", "cy"]


def test_a_split_given_as_parts(ratings):
    ordered = ratings.sort_values("ts")
    last = ordered.groupby("uid").tail(1)
    rest = ordered.drop(last.index)
    run = ncf.fit({"train": rest, "test": last}, "popularity", columns=COLUMNS, progress=False)
    assert run.metrics["split"] == "given"
    assert run.metrics["n_test"] == 60


@pytest.mark.parametrize(
    "data,kwargs,error,message",
    [
        (pd.DataFrame({"user_id": [], "item_id": []}), {}, DataError, "no rows"),
        (pd.DataFrame({"who": [1, 2], "what": [3, 4]}), {}, DataError, "no user column"),
        (
            pd.DataFrame({"user_id": [1.0, np.nan], "item_id": [3, 4]}),
            {},
            DataError,
            "missing user id",
        ),
        (None, {"model": "gmf", "epochs": 0}, UsageError, "epochs must be a positive integer"),
        (None, {"epochs": 5}, UsageError, "'popularity' is fitted in closed form: 'epochs'"),
        (None, {"colour": "red"}, UsageError, "unknown setting 'colour'"),
        (None, {"model": "neumff"}, UsageError, "unknown model 'neumff'"),
        (None, {"columns": {"user": "nope"}}, DataError, "no column 'nope' for user"),
        (42, {}, UsageError, "data must be a DataFrame"),
    ],
)
def test_bad_input_raises_the_command_lines_message(ratings, data, kwargs, error, message):
    data = (
        ratings.rename(columns={"uid": "user_id", "book_id": "item_id"}) if data is None else data
    )
    with pytest.raises(error, match=message) as raised:
        ncf.fit(data, **{"model": "popularity", "progress": False, **kwargs})
    assert isinstance(raised.value, ValueError)


def test_an_arrow_table_and_interactions_give_the_frames_run(ratings):
    import pyarrow as pa

    frame = ratings.rename(columns={"uid": "user_id", "book_id": "item_id"})
    by_frame = ncf.fit(frame, "popularity", progress=False)
    by_arrow = ncf.fit(pa.Table.from_pandas(frame), "popularity", progress=False)
    by_data = ncf.fit(by_frame.known, "popularity", progress=False)
    assert by_arrow.metrics["test"] == by_frame.metrics["test"]
    assert by_data.metrics["data"] == "Interactions" and by_data.metrics["n_users"] == 60
