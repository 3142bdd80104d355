"""Checkpoints: atomic writes, clear errors on damage, no code execution on load."""

from __future__ import annotations

import os

import pytest
import torch

from ncf.errors import DataError
from ncf.training.checkpoint import atomic_write, load_checkpoint, save_checkpoint


class Payload:
    """Unpickling this would run code: os.system."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_checkpoint_round_trips(tmp_path):
    state = {"epoch": 3, "weights": torch.arange(4.0), "history": [{"loss": 0.5}]}
    save_checkpoint(tmp_path / "ck.pt", state)
    again = load_checkpoint(tmp_path / "ck.pt")
    assert again["epoch"] == 3 and torch.equal(again["weights"], state["weights"])
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left


def test_truncated_and_corrupted_checkpoints_fail_clearly(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"weights": torch.randn(100, 8)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match=r"ck.pt: cannot read checkpoint"):
        load_checkpoint(path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(DataError, match=r"ck.pt: cannot read checkpoint"):
        load_checkpoint(path)
    with pytest.raises(DataError, match="no checkpoint to resume from"):
        load_checkpoint(tmp_path / "missing.pt")


def test_loading_never_runs_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"evil": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(DataError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned.txt").exists()


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"epoch": 1})

    def crash(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, crash)
    assert load_checkpoint(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_a_run_resumes_under_a_setting_added_since_at_its_default(tmp_path):
    from ncf.errors import UsageError
    from ncf.experiment.config import RunConfig
    from ncf.experiment.run_folder import check_same_config, config_text

    text = config_text(RunConfig())
    older = tmp_path / "config.toml"  # written before ncf had beta2
    older.write_text("\n".join(line for line in text.splitlines() if "beta2" not in line))
    check_same_config(older, text)
    changed = text.replace("beta2 = 0.999", "beta2 = 0.98")
    with pytest.raises(UsageError, match="beta2: 0.999 -> 0.98"):
        check_same_config(older, changed)
