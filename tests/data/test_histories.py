"""Users' histories in time order, left-padded sequences and history windows, against
lists written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ncf.data.histories import PAD, Histories
from ncf.errors import DataError
from tests.conftest import make_interactions


def rows():
    # user 0: items 5, 6, 7, 8 at times 1..4 (rows shuffled; items 7 and 8 tie on time,
    # so the row order decides); user 1: items 2, 3; user 2: nothing; user 3: item 9
    return make_interactions(
        [0, 1, 0, 0, 3, 1, 0],
        [6, 3, 7, 5, 9, 2, 8],
        n_users=4,
        n_items=10,
        times=[2, 20, 3, 1, 5, 10, 3],
    )


def test_histories_sort_each_user_by_time_then_row_order():
    histories = Histories.of(rows())
    assert histories.offsets.tolist() == [0, 4, 6, 6, 7]
    assert histories.items.tolist() == [5, 6, 7, 8, 2, 3, 9]
    # without timestamps the row order is the time order
    untimed = Histories.of(make_interactions([1, 0, 1, 0], [4, 2, 1, 3]))
    assert untimed.items.tolist() == [2, 3, 4, 1]


def test_last_items_are_left_padded_and_can_skip_the_latest():
    histories = Histories.of(rows())
    assert histories.last(3).tolist() == [
        [6, 7, 8],
        [PAD, 2, 3],
        [PAD, PAD, PAD],
        [PAD, PAD, 9],
    ]
    assert histories.last(2, users=np.array([1, 0]), skip=1).tolist() == [[PAD, 2], [6, 7]]


def test_shifted_sequences_pair_each_input_with_the_next_item():
    users, inputs, targets = Histories.of(rows()).shifted(3)
    assert users.tolist() == [0, 1]  # users 2 and 3 have fewer than two items
    assert inputs.tolist() == [[5, 6, 7], [PAD, PAD, 2]]
    assert targets.tolist() == [[6, 7, 8], [PAD, PAD, 3]]


def test_windows_hold_the_h_items_before_every_later_target():
    users, targets, before = Histories.of(rows()).windows(2)
    assert users.tolist() == [0, 0]
    assert targets.tolist() == [7, 8]
    assert before.tolist() == [[5, 6], [6, 7]]
    users, targets, before = Histories.of(rows()).windows(1)
    assert list(zip(users.tolist(), targets.tolist(), before[:, 0].tolist())) == [
        (0, 6, 5),
        (0, 7, 6),
        (0, 8, 7),
        (1, 3, 2),
    ]
    with pytest.raises(DataError, match="at least 1"):
        Histories.of(rows()).windows(0)
