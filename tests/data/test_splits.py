"""Splits: no leaks, the right rows held out, seeded, saved and read back."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data.interactions import from_raw
from ncf.data.io.saved import read_split_source, save_split
from ncf.data.io.source import Source
from ncf.data.splits import make_split
from ncf.data.synthetic import make_synthetic
from ncf.errors import DataError
from tests.conftest import make_interactions


def pairs(data):
    return set(zip(data.user_ids.tolist(), data.item_ids.tolist()))


@pytest.fixture(scope="module")
def source():
    return make_synthetic(n_users=300, n_items=200, seed=3)


def test_leave_last_out_holds_out_each_users_latest(source):
    split = make_split(source, "loo", np.random.default_rng(0))
    data = source.data
    order = data.chronological()
    users, items = data.user_ids[order], data.item_ids[order]
    last = np.r_[users[1:] != users[:-1], True]
    assert pairs(split.test) == set(zip(users[last].tolist(), items[last].tolist()))
    second = np.r_[last[1:], False]
    assert pairs(split.valid) == set(zip(users[second].tolist(), items[second].tolist()))
    assert len(split.train) + len(split.valid) + len(split.test) == len(data)
    assert not pairs(split.train) & pairs(split.test) and not pairs(split.train) & pairs(
        split.valid
    )


def test_leave_last_out_without_time_uses_row_order():
    data = make_interactions([0, 0, 0, 1, 1, 2], [5, 3, 4, 1, 2, 0])
    split = make_split(Source(data, "x"), "loo", np.random.default_rng(0))
    assert pairs(split.test) == {(0, 4), (1, 2)}  # user 2 has one row: kept in training
    assert pairs(split.valid) == {(0, 3)}  # user 1 has one row left: kept in training
    assert pairs(split.train) == {(0, 5), (1, 1), (2, 0)}


def test_time_cut_off_has_no_future_in_training(source):
    split = make_split(source, "time:0.8,0.9", np.random.default_rng(0))
    assert split.train.times.max() < split.valid.times.min()
    assert split.valid.times.max() < split.test.times.min()


@pytest.mark.parametrize("spec", ["ratio:0.7,0.1,0.2", "user-ratio:0.8,0.1,0.1", "loo-random"])
def test_random_splits_are_seeded_and_disjoint(source, spec):
    a = make_split(source, spec, np.random.default_rng(7))
    b = make_split(source, spec, np.random.default_rng(7))
    c = make_split(source, spec, np.random.default_rng(8))
    assert pairs(a.test) == pairs(b.test) and pairs(a.test) != pairs(c.test)
    assert not pairs(a.train) & pairs(a.test) and not pairs(a.valid) & pairs(a.test)


def test_ratio_split_shares(source):
    split = make_split(source, "ratio:0.7,0.1,0.2", np.random.default_rng(0))
    total = len(source.data)
    assert abs(len(split.train) / total - 0.7) < 0.03
    assert (
        abs(
            (len(split.test) + split.dropped.get("test: user or item not in training", 0)) / total
            - 0.2
        )
        < 0.03
    )


def test_user_ratio_keeps_every_user_in_training(source):
    split = make_split(source, "user-ratio:0.5,0.2,0.3", np.random.default_rng(0))
    assert set(np.unique(split.train.user_ids)) == set(np.unique(source.data.user_ids))
    with pytest.warns(UserWarning, match="leaks the future"):
        make_split(source, "user-time-ratio:0.8,0.1,0.1", np.random.default_rng(0))


def test_bad_split_specs(source):
    for bad in ("random", "ratio:0.5,0.5", "time:0.9,0.8"):
        with pytest.raises(DataError):
            make_split(source, bad, np.random.default_rng(0))
    with pytest.raises(DataError, match="needs files"):
        make_split(source, "given", np.random.default_rng(0))


def test_saved_split_reads_back_as_a_given_split(source, tmp_path):
    split = make_split(source, "loo", np.random.default_rng(0))
    save_split(split, tmp_path / "s", seed=0)
    again = make_split(read_split_source(tmp_path / "s"), "given", np.random.default_rng(1))

    def raw(part):
        users = part.user_vocab.raw(part.user_ids).tolist()
        return set(zip(users, part.item_vocab.raw(part.item_ids).tolist()))

    for name in ("train", "valid", "test"):
        assert raw(getattr(again, name)) == raw(getattr(split, name))
    assert again.train.items["title"].notna().all()


@pytest.mark.parametrize("spec", ["time:0.8,0.9", "ratio:0.8,0.1,0.1"])
def test_cut_splits_keep_only_training_users_and_items(shared_data, spec, tmp_path):
    from ncf.data.io.formats import read_path

    source = read_path(shared_data / "ml-100k")
    split = make_split(source, spec, np.random.default_rng(0))
    assert split.dropped  # ML-100K has items first rated after either cut
    assert (np.bincount(split.train.item_ids) > 0).all()
    assert split.train.n_items == len(np.unique(split.train.item_ids)) < source.data.n_items
    assert split.train.n_users == len(np.unique(split.train.user_ids))
    titles = split.train.items["title"]
    assert titles.notna().all() and titles.iloc[split.valid.item_ids[0]] is not None
    save_split(split, tmp_path / "s", seed=0)
    again = make_split(read_split_source(tmp_path / "s"), "given", np.random.default_rng(0))
    assert again.train.user_vocab == split.train.user_vocab
    assert again.train.item_vocab == split.train.item_vocab
    assert (again.test.item_ids == split.test.item_ids).all()


def test_ncf_given_split_validation_is_the_last_training_row(shared_data):
    from ncf.data.io.formats import read_path

    source = read_path(shared_data / "ml-1m" / "ncf")
    split = make_split(source, "given", np.random.default_rng(0))
    assert len(split.valid) == 6040 and len(split.test) == 6040
    assert len(split.train) == 994_169 - 6040
    train_rows = source.data.subset(source.part == 0)
    last = np.r_[train_rows.user_ids[1:] != train_rows.user_ids[:-1], True]
    assert pairs(split.valid) == set(
        zip(train_rows.user_ids[last].tolist(), train_rows.item_ids[last].tolist())
    )


def test_drop_unseen_leaves_out_held_out_rows_of_items_without_training_rows():
    from ncf.data.splits import drop_unseen

    # user 0 rates items 0, 1, 2 in that order, user 1 items 1, 0, 3: each user's first
    # is training, the second validation, the third (items 2 and 3, rated once) test
    data = make_interactions(
        [0, 0, 0, 1, 1, 1], [0, 1, 2, 1, 0, 3], times=[1, 2, 3, 1, 2, 3], ratings=[5] * 6
    )
    with pytest.warns(UserWarning, match="leaks the future"):
        split = make_split(
            Source(data, "t"), "user-time-ratio:0.34,0.33,0.33", np.random.default_rng(0)
        )
    assert sorted(split.test.item_ids.tolist()) == [2, 3]  # kept by the per-user split
    cleaned = drop_unseen(split)
    assert len(cleaned.test) == 0 and cleaned.dropped == {"test: user or item not in training": 2}
    assert len(cleaned.valid) == 2 and len(cleaned.train) == 2


def test_user_count_holds_out_that_many_rows_per_user():
    data = make_synthetic(n_users=50, n_items=80, seed=3).data
    split = make_split(Source(data, "s"), "user-count:1,10", np.random.default_rng(0))
    per_user = np.bincount(data.user_ids, minlength=data.n_users)
    test = np.bincount(split.test.user_ids, minlength=data.n_users)
    valid = np.bincount(split.valid.user_ids, minlength=data.n_users)
    train = np.bincount(split.train.user_ids, minlength=data.n_users)
    assert (test == np.minimum(10, per_user - 1)).all()
    assert (valid == np.minimum(1, per_user - 1 - test)).all()
    assert (train >= 1).all() and (train + valid + test == per_user).all()
    for bad in ("user-count:10", "user-count:a,b", "user-count:-1,3"):
        with pytest.raises(DataError, match="two whole counts >= 0 per user"):
            make_split(Source(data, "s"), bad, np.random.default_rng(0))


def test_a_split_saved_as_lists_reads_back_with_its_parts(tmp_path):
    """``ncf data split --format lists``: train / valid / test.txt of indices, and the
    id maps; read back as the given split, the same pairs in the same parts."""
    from ncf.data.io.given import read_lists
    from ncf.data.io.saved import save_lists

    users = np.repeat(np.arange(6), 5)
    items = (np.arange(30) * 7) % 11
    data = from_raw(users * 10 + 3, items + 100)  # raw ids are not indices
    split = make_split(Source(data, name="t"), "user-ratio:0.6,0.2,0.2", np.random.default_rng(0))
    save_lists(split, tmp_path)
    first_line = (tmp_path / "train.txt").read_text().splitlines()[0].split()
    assert first_line[0] == "0" and all(int(w) < 11 for w in first_line)
    maps = (tmp_path / "item_list.txt").read_text().splitlines()
    assert maps[0] == "org_id remap_id" and maps[1] == "100 0"
    again = make_split(read_lists(tmp_path), "given", np.random.default_rng(0))
    for name in ("train", "valid", "test"):
        a, b = getattr(split, name), getattr(again, name)
        assert sorted(zip(a.user_ids, a.item_ids)) == sorted(zip(b.user_ids, b.item_ids)), name


def test_a_saved_split_with_numbers_in_one_part_and_text_in_another(tmp_path):
    """Found by fuzzing: ids read as numbers from one part and as text from another are
    all taken as text, instead of failing to sort a mix."""
    import pandas as pd

    from ncf.data.io.formats import read_path

    (tmp_path / "split.json").write_text("{}")
    pd.DataFrame({"user": [1], "item": [0]}).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame({"user": ["1"], "item": ["a"]}).to_parquet(tmp_path / "valid.parquet")
    pd.DataFrame({"user": [1], "item": [0]}).to_parquet(tmp_path / "test.parquet")
    data = read_path(tmp_path).data
    assert data.item_vocab.ids.tolist() == ["0", "a"] and len(data) == 3
    assert data.user_ids.tolist() == [0, 0, 0]  # user 1 and "1" are one user
