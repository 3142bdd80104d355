"""What a new user trips over, refused or said early: split specs, settings a model does
not use, bad values before any data is read, misspellings, tables without a time column,
finished runs' checkpoints, the quickstart's folder, plot titles and help texts."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

import ncf
from ncf.data.io.source import data_label
from ncf.data.splits import parse_split
from ncf.errors import DataError, UsageError
from ncf.experiment.pipeline import train_run
from ncf.experiment.run_folder import config_text, numbered_folder
from ncf.experiment.settings import resolve_config
from tests.cli.test_cli import ncf as run_ncf
from tests.cli.test_cli_usage import one_error_line

MISSING = "no/such/data.csv"  # the checks below must come before this is read


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("loo:0.5", r"split 'loo' takes no arguments, got 'loo:0.5'"),
        ("loo:abc", r"split 'loo' takes no arguments"),
        ("given:1", r"split 'given' takes no arguments"),
        ("user-ratio:abc", r"expected three shares summing to 1"),
        ("time:abc", r"expected time:V,T with 0 < V <= T < 1"),
        ("time:0.9,0.8", r"0 < V <= T < 1"),
        ("ratio:0.5,0.5,0.5", r"three shares summing to 1"),
        ("user-count:1.5,2", r"expected two whole counts >= 0 per user"),
        ("lo", r"unknown split 'lo'; did you mean 'loo'\?"),
    ],
)
def test_bad_split_specs_are_refused(spec, message):
    with pytest.raises(DataError, match=message):
        parse_split(spec)


def test_split_specs_parse_to_their_numbers():
    assert parse_split("loo") == ("loo", ())
    assert parse_split("time") == ("time", (0.8, 0.9))
    assert parse_split("user-count:1,10") == ("user-count", (1, 10))
    assert parse_split("ratio:0.7,0.1,0.2") == ("ratio", (0.7, 0.1, 0.2))


def test_a_bad_split_is_refused_before_the_data_is_read():
    line = one_error_line(run_ncf("train", "--data", MISSING, "--split", "loo:0.5"))
    assert "split 'loo' takes no arguments" in line


@pytest.mark.parametrize("setting", ["epochs", "lr", "optimizer", "n_negatives", "batch_size"])
def test_a_closed_form_model_refuses_training_settings(setting):
    value = {"epochs": 5, "lr": 0.1, "optimizer": "sgd", "n_negatives": 2, "batch_size": 7}
    with pytest.raises(UsageError, match=rf"fitted in closed form: '{setting}' does not apply"):
        resolve_config({"model": "ease", "data": MISSING, setting: value[setting]})


def test_a_closed_form_config_names_only_the_settings_it_uses():
    config = resolve_config({"model": "ease", "data": "x", "epochs": 20, "monitor": "hr@10"})
    text = config_text(config)
    assert 'monitor = "hr@10"' in text and "l2 = 1000.0" in text
    for unused in ("epochs", "lr =", "optimizer", "n_negatives", "batch_size"):
        assert unused not in text, unused
    assert "lr =" in config_text(resolve_config({"model": "gmf", "data": "x"}))
    printed = run_ncf("train", "--model", "ials", "--print-config").stdout
    assert "iterations = 12" in printed and "n_negatives" not in printed


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("dim=abc", r"model 'gmf': dim must be a positive integer, got 'abc'"),
        ("dim=-3", r"model 'gmf': dim must be a positive integer, got -3"),
        ("init_std=small", r"model 'gmf': init_std must be a number, got 'small'"),
        ("epohcs=3", r"unknown setting 'epohcs' for model 'gmf'; did you mean epochs\?$"),
        ("zzzz=3", r"unknown setting 'zzzz'.*--print-config` lists them all$"),
    ],
)
def test_bad_settings_are_refused_before_the_data_is_read(setting, message):
    line = one_error_line(run_ncf("train", "--model", "gmf", "--data", MISSING, "--set", setting))
    assert re.search(message, line), line
    assert "allowed:" not in line


def test_a_misspelt_model_gets_a_suggestion():
    line = one_error_line(run_ncf("train", "--model", "gfm", "--data", MISSING))
    assert "unknown model 'gfm'; did you mean gmf?" in line
    with pytest.raises(UsageError, match="unknown model 'NeuMF'; did you mean neumf"):
        resolve_config({"model": "NeuMF", "data": MISSING})


def test_model_arguments_keep_their_kinds():
    config = resolve_config({"model": "ease", "data": "x", "l2": 500})  # an int for a float
    assert config.model_args["l2"] == 500
    with pytest.raises(UsageError, match="sparse must be true or false"):
        resolve_config({"model": "bpr-mf", "data": "x", "sparse": "yes"})


def _no_time_frame() -> pd.DataFrame:
    users = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    items = [10, 11, 12, 10, 13, 11, 12, 13, 14, 10]
    return pd.DataFrame({"user": users, "item": items})


def test_a_table_without_time_warns_that_last_means_row_order():
    with pytest.warns(UserWarning, match=r"no time column: split 'loo' takes each user's last"):
        ncf.fit(_no_time_frame(), "popularity")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ncf.fit(_no_time_frame(), "popularity", ordered=True)  # declared: no warning
        ncf.fit(_no_time_frame(), "popularity", split="loo-random")


def test_sequence_models_need_a_table_declared_ordered():
    with pytest.raises(UsageError, match=r"no time order.*--set ordered=true"):
        ncf.fit(_no_time_frame(), "sasrec", epochs=1)
    run = ncf.fit(_no_time_frame(), "sasrec", ordered=True, epochs=1, dim=8, max_len=4)
    assert run.metrics["best_epoch"] == 1


def _tiny(**settings):
    values = {"model": "gmf", "data": "synthetic", "epochs": 2, "dim": 8, "batch_size": 1024}
    return resolve_config({**values, **settings})


def test_a_finished_run_keeps_no_checkpoint_unless_asked(tmp_path):
    train_run(_tiny(), tmp_path / "a", progress=False)
    assert (tmp_path / "a" / "metrics.json").exists()
    assert not list((tmp_path / "a").glob("checkpoint-*.pt"))
    train_run(_tiny(), tmp_path / "b", progress=False, keep_checkpoints=True)
    kept = sorted(p.name for p in (tmp_path / "b").glob("checkpoint-*.pt"))
    assert kept == ["checkpoint-refit.pt", "checkpoint-select.pt"]


def test_a_best_epoch_that_is_the_last_says_so():
    lines: list[str] = []
    result = train_run(_tiny(refit=False), None, progress=False, echo=lines.append)
    last = [line for line in lines if "the best epoch was the last" in line]
    assert result.metrics["best_epoch"] == result.metrics["epochs_run"] == 2
    assert last == ["select: the best epoch was the last (2): more epochs may help (--epochs)"]


def test_taken_folders_are_numbered(tmp_path):
    base = tmp_path / "quickstart"
    assert numbered_folder(base) == base
    base.mkdir()
    (base / "metrics.json").write_text("{}")
    assert numbered_folder(base) == tmp_path / "quickstart-2"
    assert numbered_folder(base, overwrite=True) == base


def test_titles_name_the_data_not_its_whole_path():
    assert data_label("/home/me/data/gowalla/with-valid") == "gowalla/with-valid"
    assert data_label("ml-100k") == "ml-100k"
    assert data_label("ratings.csv") == "ratings.csv"


def test_help_paragraphs_are_joined_not_cut(tmp_path):
    text = run_ncf("evaluate", "--help", env={"COLUMNS": "200"}).stdout
    assert "trained on the training part only; test with the final model." in text


def test_sasrec_ends_by_patience_within_the_authors_200_epochs():
    train = resolve_config({"model": "sasrec", "data": "x"}).train
    assert (train.epochs, train.eval_every, train.patience) == (200, 5, 5)


def test_settings_for_every_compared_model_pass_the_closed_forms_by():
    from ncf.experiment.settings import applicable

    shared = {"epochs": 3, "lr": 0.1, "seed": 1, "monitor": "hr@10"}
    assert applicable("ease", shared) == {"seed": 1, "monitor": "hr@10"}
    assert applicable("gmf", shared) == shared
