"""What a new user trips over on the command line: usage errors, options, messages,
run folders, logs and files. A subprocess per command, as a user runs it."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import tomllib

import pandas as pd
import pytest

from tests.cli.test_cli import PYTHON, ncf

QUICK = ["--epochs", "3", "--batch-size", "1024", "--factors", "8", "--no-progress"]


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def gmf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gmf") / "run"
    result = ncf("train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    return out, result


# --------------------------------------------------------------------------- 1. usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--bogus"], "No such option: --bogus"),
        (["trian"], "No such command 'trian'"),
        (["recommend"], "Missing argument"),
        (["recommend", "runs/x", "--k", "ten"], "Invalid value for '--k'"),
        (["data", "split", "ml-100k"], "Missing option '--out'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message):
    assert message in one_error_line(ncf(*args))


BLOCK_CLICK = """
import sys
sys.modules["click"] = None  # `import click` fails, as in an install without it
try:
    import typer
    typer.Typer()
except ImportError:
    sys.exit(99)  # a typer release that needs the click package: nothing to check
from ncf.cli import main
main()
"""


@pytest.mark.parametrize(
    "args", [["train", "--bogus"], ["trian"], ["recommend"], ["similar", "x", "--k", "ten"]]
)
def test_usage_errors_without_the_click_package(args):
    """Regression: cli.py imported click, which only an extra happened to install."""
    result = subprocess.run(
        [PYTHON, "-c", BLOCK_CLICK, *args], capture_output=True, text=True, timeout=120
    )
    if result.returncode == 99:
        pytest.skip("this typer release depends on the click package")
    one_error_line(result)


def test_version_and_help():
    from ncf import __version__

    result = ncf("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ncf {__version__}"
    result = ncf("train", "--help", env={"COLUMNS": "300"})
    assert result.returncode == 0 and "Model name (default neumf)" in result.stdout
    result = ncf()
    assert result.returncode == 0 and "train" in result.stdout and "Usage" in result.stdout


# --------------------------------------------------------------------------- 2. columns


@pytest.fixture(scope="module")
def uid_csv(tmp_path_factory):
    """A table whose columns no reader guesses: uid, iid, stars."""
    path = tmp_path_factory.mktemp("csv") / "ratings.csv"
    users = [u for u in range(30) for _ in range(6)]
    items = [(u * 7 + j) % 40 for u in range(30) for j in range(6)]
    frame = pd.DataFrame({"who": users, "what": items, "stars": 4.0})
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "option",
    [
        ["--set", "columns=user:who,item:what"],
        ["--columns", "user:who,item:what,rating:stars"],
        ["--columns", "user:0,item:1"],
    ],
)
def test_columns_by_name_or_position(uid_csv, tmp_path, option):
    """Regression: `--set columns=user:uid,item:iid` failed with 'list has no split'."""
    out = tmp_path / "run"
    result = ncf(
        "train", "--model", "popularity", "--data", str(uid_csv), "--out", str(out), *option
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_users"] == 30 and metrics["n_items"] == 40


def test_data_info_takes_the_data_options_of_train(uid_csv):
    result = ncf("data", "info", str(uid_csv), "--columns", "user:who,item:what", "--min-user", "7")
    assert "no interactions left" in one_error_line(result)
    result = ncf(
        "data", "info", str(uid_csv), "--set", "columns=user:who,item:what", "--threshold", "4"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"rows kept\s+│\s+180", result.stdout)
    result = ncf("data", "info", str(uid_csv))
    assert "--columns user:COLUMN" in one_error_line(result)
    result = ncf("data", "info", str(uid_csv), "--set", "lr=0.1")
    assert "unknown data setting(s) ['lr']" in one_error_line(result)


# --------------------------------------------------------------------------- 3. run folders


def test_a_finished_run_is_not_overwritten(gmf_run, tmp_path):
    out, _ = gmf_run
    before = (out / "metrics.json").read_bytes()
    result = ncf("train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK)
    assert "holds a finished run; add --overwrite" in one_error_line(result)
    assert (out / "metrics.json").read_bytes() == before
    result = ncf(
        "train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK, "--resume"
    )
    assert "nothing to resume" in one_error_line(result)


def test_overwrite_replaces_and_default_names_are_numbered(tmp_path):
    args = ["train", "--model", "popularity", "--data", "synthetic"]
    for _ in range(2):
        assert ncf(*args, cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "popularity-synthetic",
        "popularity-synthetic-2",
    ]
    run = tmp_path / "runs" / "popularity-synthetic"
    (run / "notes.txt").write_text("mine")
    (run / "checkpoint-select.pt").write_text("stale")
    result = ncf(*args, "--out", str(run), "--overwrite", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "metrics.json").read_text())["seed"] == 5
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files go
    assert not (run / "checkpoint-select.pt").exists()
    # bad input fails before anything is replaced: the finished run stays
    finished = (run / "metrics.json").read_bytes()
    (tmp_path / "bad.csv").write_text("item,studio\n1,A\n1,B\n")
    result = ncf(
        *args, "--out", str(run), "--overwrite", "--set", f"item_table={tmp_path / 'bad.csv'}"
    )
    assert "item id 1 has a second row" in one_error_line(result)
    assert (run / "metrics.json").read_bytes() == finished


def test_resume_without_a_checkpoint_says_so(tmp_path):
    result = ncf("train", "--data", "synthetic", "--out", str(tmp_path / "new"), "--resume")
    assert "no checkpoint to resume from" in one_error_line(result)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "checkpoint-select.pt").write_bytes(b"")
    result = ncf("train", "--data", "synthetic", "--out", str(unfinished))
    assert "holds an unfinished run; add --resume" in one_error_line(result)


# --------------------------------------------------------------------------- 4. evaluate


def test_evaluate_scores_validation_with_the_train_only_model(gmf_run, tmp_path):
    """Regression: the refit model (trained on train + validation) was scored on
    validation and shown as a held-out figure."""
    out, _ = gmf_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["refit"]
    result = ncf("evaluate", str(out), "--json")
    printed = json.loads(result.stdout)
    for name, value in saved["valid"].items():
        assert printed["valid"][name] == pytest.approx(value, abs=1e-9), name
    assert printed["test"]["ndcg@10"] == pytest.approx(saved["test"]["ndcg@10"], abs=1e-9)


def test_evaluate_a_closed_form_run_refits_on_train_for_validation(tmp_path):
    out = tmp_path / "ease"
    args = ["--model", "ease", "--data", "synthetic", "--set", "l2=50", "--out", str(out)]
    assert ncf("train", *args).returncode == 0
    saved = json.loads((out / "metrics.json").read_text())
    printed = json.loads(ncf("evaluate", str(out), "--json").stdout)
    assert printed["valid"]["ndcg@10"] == pytest.approx(saved["valid"]["ndcg@10"], abs=1e-9)


def test_evaluate_prints_a_table_or_json_and_writes_per_user_metrics(gmf_run, tmp_path):
    out, _ = gmf_run
    table = ncf("evaluate", str(out))
    assert table.returncode == 0 and "ndcg@10" in table.stdout and "{" not in table.stdout
    path = tmp_path / "per-user.parquet"
    result = ncf("evaluate", str(out), "--json", "--per-user", str(path))
    printed = json.loads(result.stdout)
    frame = pd.read_parquet(path)
    saved = json.loads((out / "metrics.json").read_text())
    assert set(frame["part"]) == {"valid", "test"}
    test = frame[frame["part"] == "test"]
    assert len(test) == saved["n_test"]  # leave-one-out: one query per test user
    assert test["ndcg@10"].mean() == pytest.approx(printed["test"]["ndcg@10"])


# --------------------------------------------------------------------------- 5. edge values


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "epochs must be a positive integer, got 0"),
        (["--batch-size", "-5"], "batch_size must be a positive integer, got -5"),
        (["--lr", "0"], "lr must be a finite number > 0, got 0.0"),
        (["--threads", "-1"], "threads must be >= 1"),
        (["--seed", "-1"], "seed must be a whole number in [0, 2**32)"),
        (["--set", "gamma=0"], "gamma must be in (0, 1]"),
    ],
)
def test_bad_training_values(args, message):
    result = ncf("train", "--data", "synthetic", *args)
    assert message in one_error_line(result)


@pytest.mark.parametrize("k", ["0", "-1"])
def test_k_must_be_positive(gmf_run, k):
    out, _ = gmf_run
    assert "--k must be a positive" in one_error_line(
        ncf("recommend", str(out), "--user", "1", "--k", k)
    )
    assert "--k must be a positive" in one_error_line(
        ncf("similar", str(out), "--item", "1", "--k", k)
    )


# --------------------------------------------------------------------------- 10, 11: messages


def test_print_config_without_data_and_the_model_list():
    result = ncf("train", "--model", "neumf", "--print-config")
    assert result.returncode == 0, result.stderr
    config = tomllib.loads(result.stdout)
    assert config["model"] == "neumf" and config["data"] == ""
    assert config["model_args"]["layers"] and config["train"]["epochs"] >= 1
    result = ncf("models")
    from ncf.models import MODELS

    assert result.returncode == 0
    for name in MODELS:
        assert re.search(rf"│ {re.escape(name)}\b", result.stdout), name
    assert "closed form" in result.stdout and "BPR" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "/no/run"],
        ["recommend", "/no/run", "--user", "1"],
        ["similar", "/no/run", "--item", "1"],
        ["report", "/no/run"],
    ],
)
def test_a_missing_run_folder_says_no_such_folder(args):
    assert one_error_line(ncf(*args)) == "error: /no/run: no such folder"


def test_unknown_ids_name_their_kind_and_a_users_file_skips_them(gmf_run, tmp_path):
    out, _ = gmf_run
    assert "unknown user id 'nobody'" in one_error_line(
        ncf("recommend", str(out), "--user", "nobody")
    )
    assert "unknown item id 'nothing'" in one_error_line(
        ncf("similar", str(out), "--item", "nothing")
    )
    users = tmp_path / "users.txt"
    users.write_text("user\n1\nnobody\n2\n")  # a header line is not an id
    result = ncf("recommend", str(out), "--users", str(users), "--k", "3")
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unknown user id(s) of 3" in result.stderr and "'nobody'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout.count("\n") == 1 + 6  # header + 2 users x 3 items


def test_recommend_for_a_new_user_names_its_path(gmf_run, tmp_path):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--items", "1,2,3", "--k", "4")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "new user, 3 item(s): scored by least squares"
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["rank", "item"] and len(lines) == 1 + 4
    assert not {line.split()[1] for line in lines[1:]} & {"1", "2", "3"}
    empty = ncf("recommend", str(out), "--items", "", "--k", "2")
    assert "scored by popularity" in empty.stderr and len(empty.stdout.strip().splitlines()) == 3
    assert "unknown item id 'nothing'" in one_error_line(
        ncf("recommend", str(out), "--items", "1,nothing")
    )
    both = ncf("recommend", str(out), "--items", "1", "--user", "1")
    assert one_error_line(both) == "error: give exactly one of --user, --users and --items"


def test_a_warning_is_one_clean_line(tmp_path):
    result = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        "synthetic",
        "--split",
        "user-time-ratio",
        "--out",
        str(tmp_path / "r"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "warning: a per-user chronological split leaks the future across users; "
        "prefer 'time' for a leak-free chronological split"
    ]


# --------------------------------------------------------------------------- 8, 12, 13


def test_logs_in_a_pipe_have_one_line_per_epoch_and_no_blank_lines(gmf_run):
    out, result = gmf_run
    best_epoch = json.loads((out / "metrics.json").read_text())["best_epoch"]
    lines = result.stdout.splitlines()
    assert "" not in lines[: lines.index(next(x for x in lines if "┏" in x))]
    epochs = [x for x in lines if re.match(r"(select|refit) epoch \d+/\d+  loss \d\.\d{4}", x)]
    assert len(epochs) == 3 + best_epoch  # selection, then the refit for the chosen epochs
    assert re.search(r"select epoch 1/3  loss \S+  valid ndcg@10 \S+  \d+\.\d s$", epochs[0])


def test_a_run_whose_log_reader_goes_away_finishes(tmp_path):
    # `ncf train ... | head -1`: the reader closes the pipe after the first line
    out = tmp_path / "run"
    args = ["train", "--model", "gmf", "--data", "synthetic", "--out", str(out), *QUICK]
    with subprocess.Popen(
        [PYTHON, "-m", "ncf.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout.readline().startswith(b"gmf on synthetic")
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=600) == 0, stderr
    assert "Error" not in stderr and (out / "metrics.json").exists()
    # a listing whose reader stops early ends quietly too (megabytes: more than a pipe holds)
    users = tmp_path / "users.txt"
    users.write_text("\n".join(str(u) for u in range(1, 301)))
    for args in (["recommend", str(out), "--users", str(users), "--k", "500"], ["--help"]):
        with subprocess.Popen(
            [PYTHON, "-m", "ncf.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            process.stdout.readline()
            process.stdout.close()
            assert process.wait(timeout=600) == 0 and not process.stderr.read(), args


def test_drops_are_printed_and_recorded(shared_data, tmp_path):
    env = {"NCF_DATA_DIR": str(shared_data)}
    split = ["--split", "time:0.8,0.9"]
    result = ncf("data", "split", "ml-100k", *split, "--out", str(tmp_path / "s"), env=env)
    assert result.returncode == 0, result.stderr
    printed = dict(
        (m.group(2), int(m.group(1).replace(",", "")))
        for m in re.finditer(r"dropped ([\d,]+) rows: (.+)", result.stdout)
    )
    recorded = json.loads((tmp_path / "s" / "split.json").read_text())["dropped"]
    assert printed == recorded and recorded["test: user or item not in training"] > 0
    out = tmp_path / "r"
    result = ncf(
        "train", "--model", "popularity", "--data", "ml-100k", *split, "--out", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dropped"] == recorded
    for reason, n in recorded.items():
        assert f"dropped {n:,} rows: {reason}" in result.stdout


def test_run_files_permissions_resolved_config_and_plots(gmf_run, tmp_path):
    out, _ = gmf_run
    bundle = out / "bundle"
    assert stat.S_IMODE(bundle.stat().st_mode) & 0o755 == 0o755
    for path in bundle.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o644 == 0o644, path
    config = tomllib.loads((out / "config.toml").read_text())
    resolved = config["resolved"]
    assert resolved["split"] == "loo" and resolved["protocol"] == "full"
    assert resolved["device"] == "cpu" and resolved["threads"] >= 1
    assert (out / "plots" / "learning_curve.png").exists()
    result = ncf(
        "train", "--model", "popularity", "--data", "synthetic", "--out", str(tmp_path / "p")
    )
    assert result.returncode == 0
    assert list((tmp_path / "p" / "plots").glob("*.png"))


def test_threads_option_is_recorded(tmp_path):
    out = tmp_path / "t"
    result = ncf(
        "train", "--model", "popularity", "--data", "synthetic", "--threads", "1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "metrics.json").read_text())["threads"] == 1
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["threads"] == 1 and config["resolved"]["threads"] == 1
    many = ncf(
        "train",
        "--model",
        "popularity",
        "--data",
        "synthetic",
        "--threads",
        "512",
        "--out",
        str(tmp_path / "many"),
    )
    assert many.returncode == 0 and "warning: 512 threads on" in many.stderr  # oversubscribed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--factors", "0"], "dim must be a positive integer, got 0"),
        (["--set", "layers=0"], "layers must be a list of positive integers"),
        (["--lr", "nan"], "lr must be a finite number > 0"),
        (["--set", "monitor=ndcg@20"], "add its cut-off to ks"),
        (["--columns", "user:zz"], "--columns applies to table files"),
    ],
)
def test_bad_model_and_data_settings_fail_before_training(args, message, tmp_path):
    out = tmp_path / "never"
    result = ncf("train", "--model", "neumf", "--data", "synthetic", "--out", str(out), *args)
    assert message in one_error_line(result)
    assert not out.exists()  # bad input leaves no folder behind


def test_outputs_into_a_missing_folder_and_unfinished_runs_are_named(gmf_run, tmp_path):
    out, _ = gmf_run
    missing = tmp_path / "no" / "such"
    for args in (
        ["evaluate", str(out), "--per-user", str(missing / "x.parquet")],
        ["recommend", str(out), "--user", "1", "--output", str(missing / "t.csv")],
        ["report", str(out), "--out", str(missing / "r.html")],
    ):
        assert "no such folder" in one_error_line(ncf(*args))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.toml").write_text('model = "gmf"\n')
    assert "an unfinished run" in one_error_line(ncf("recommend", str(unfinished), "--user", "1"))


def test_listings_are_not_wrapped_in_a_pipe(gmf_run):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--user", "1", "--k", "4")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and all(
        line.split()[0] == "user" or line.split()[0] == "1" for line in lines
    )


def test_data_split_does_not_replace_a_saved_split(tmp_path):
    args = ["data", "split", "synthetic", "--out", str(tmp_path / "s")]
    assert ncf(*args).returncode == 0
    assert "holds a saved split; add --overwrite" in one_error_line(ncf(*args))
    assert ncf(*args, "--overwrite", "--seed", "3").returncode == 0
    assert json.loads((tmp_path / "s" / "split.json").read_text())["seed"] == 3


def installed(module: str) -> bool:
    """Whether the Python that runs `ncf` here has ``module`` (an extra)."""
    return subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


def test_recommend_every_user_to_a_file_with_deny_and_allow_lists(gmf_run, tmp_path):
    out, _ = gmf_run
    result = ncf(
        "recommend", str(out), "--users", "all", "--k", "5", "--output", str(tmp_path / "all.csv")
    )
    assert result.returncode == 0, result.stderr
    every = pd.read_csv(tmp_path / "all.csv")
    n_users = every["user"].nunique()
    assert len(every) == 5 * n_users and every["rank"].max() == 5
    assert f"wrote {len(every):,} rows ({n_users:,} users, top 5, exact)" in result.stdout
    assert list(every.columns[:4]) == ["user", "rank", "item", "score"]
    deny, allow = tmp_path / "deny.txt", tmp_path / "allow.txt"
    top_items = every["item"].value_counts().index[:3].tolist()
    deny.write_text("item\n" + "\n".join(map(str, top_items)) + "\nnot-an-item\n")
    allow.write_text("\n".join(map(str, range(20))) + "\n")
    result = ncf(
        "recommend",
        str(out),
        "--users",
        "all",
        "--k",
        "5",
        "--exclude-items",
        str(deny),
        "--candidates",
        str(allow),
        "--output",
        str(tmp_path / "some.parquet"),
    )
    assert result.returncode == 0, result.stderr
    assert "note: --exclude-items" in result.stderr and "1 of 4 ids unknown" in result.stderr
    some = pd.read_parquet(tmp_path / "some.parquet")
    assert not set(some["item"]) & set(top_items) and set(some["item"]) <= set(range(20))
    # one candidate: the users who have it get no list, and are counted
    only = tmp_path / "only.txt"
    only.write_text(f"{top_items[0]}\n")
    one = tmp_path / "one.csv"
    result = ncf(
        "recommend", str(out), "--users", "all", "--candidates", str(only), "--output", str(one)
    )
    assert result.returncode == 0, result.stderr
    listed = pd.read_csv(one)["user"].nunique()
    assert 0 < listed < n_users
    assert f"({listed:,} users, top 10" in result.stdout
    assert f"note: {n_users - listed:,} users got no recommendation" in result.stderr
    seen = ncf("recommend", str(out), "--user", "1", "--k", "50", "--include-seen")
    unseen = ncf("recommend", str(out), "--user", "1", "--k", "50")
    assert seen.stdout != unseen.stdout


def test_index_and_serve_need_their_extras(gmf_run):
    out, _ = gmf_run
    result = ncf("recommend", str(out), "--user", "1", "--index", "hnsw")
    if installed("faiss"):
        assert result.returncode == 0, result.stderr
        assert "exact top-k only" not in result.stderr  # gmf is a dot-product model
    else:
        assert "pip install 'ncf[ann]'" in one_error_line(result)
    if not installed("fastapi"):
        assert "pip install 'ncf[serve]'" in one_error_line(ncf("serve", str(out)))
    assert "no such folder" in one_error_line(ncf("serve", "no/such/run"))
    assert "--port must be between" in one_error_line(ncf("serve", str(out), "--port", "0"))


def test_data_synth_writes_a_log_that_trains(tmp_path):
    log, items = tmp_path / "log.parquet", tmp_path / "items.parquet"
    args = ["data", "synth", "--users", "300", "--items", "200", "--rows", "9000"]
    result = ncf(*args, "--out", str(log), "--item-table", str(items))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "9,000 rows, 300 users" in result.stdout
    assert "exists; add --overwrite" in one_error_line(ncf(*args, "--out", str(log)))
    assert ".parquet file name" in one_error_line(ncf(*args, "--out", str(tmp_path / "x.csv")))
    wrong = ["--out", str(tmp_path / "z.parquet"), "--item-table", str(tmp_path / "z.csv")]
    assert "z.csv: expected a .parquet file name" in one_error_line(ncf(*args, *wrong))
    too_many = ncf(
        "data",
        "synth",
        "--users",
        "10",
        "--items",
        "4",
        "--rows",
        "100",
        "--out",
        str(tmp_path / "y.parquet"),
    )
    assert "more than 10 users can hold" in one_error_line(too_many)
    info = ncf("data", "info", str(log))
    assert info.returncode == 0 and "9,000" in info.stdout


def test_tune_errors_are_one_line(tmp_path):
    out = ["--out", str(tmp_path / "t")]
    if not installed("optuna"):
        result = ncf("tune", "--model", "gmf", "--data", "synthetic", *out)
        assert "pip install 'ncf[tune]'" in one_error_line(result)
        return
    result = ncf("tune", "--model", "popularity", "--data", "synthetic", *out)
    assert "no settings to search; give --space" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "lr=1:0", *out)
    assert "needs LOW < HIGH" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--trials", "0", *out)
    assert "--trials and --jobs must be at least 1" in one_error_line(result)
    assert "--data is required" in one_error_line(ncf("tune", "--model", "gmf", *out))
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "split=loo", *out)
    assert "a study holds split fixed" in one_error_line(result)
    result = ncf("tune", "--model", "gmf", "--data", "synthetic", "--space", "lr=-1:1", *out)
    assert "--space lr=-1.0: lr must be a finite number > 0" in one_error_line(result)
