"""Sequence files: one user per line, ``user item item ...`` in time order (space separated),
as SASRec, S3-Rec and most sequential-recommendation repositories ship them
(``Beauty.txt``). The row order is the time order: there are no timestamps, and
`Interactions.order` (the row order) is what ``--split loo`` holds out by.

    >>> source = read_sequences(Path("data/Beauty.txt"))
    >>> split = make_split(source, "loo", np.random.default_rng(0))   # last item: test
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ncf.data.interactions import from_raw
from ncf.data.io.common import read_user_lists
from ncf.data.io.source import Source
from ncf.errors import DataError

# a byte that is no part of a whole number or a blank, or a sign out of place
_NOT_INTEGER_TEXT = re.compile(rb"[^0-9 \t\r\n+-]|[0-9+-][+-]|[+-](?![0-9])")
_WHITESPACE = np.frombuffer(b" \t\r\n\v\f", dtype=np.uint8)


def tokens_per_line(text: bytes) -> np.ndarray:
    """(n_lines,) whitespace-separated tokens on each line of ``text`` that holds any."""
    buffer = np.frombuffer(text, dtype=np.uint8)
    if not len(buffer):
        return np.zeros(0, dtype=np.int64)
    blank = np.isin(buffer, _WHITESPACE)
    starts = np.flatnonzero(~blank & np.r_[True, blank[:-1]])
    line_of = np.cumsum(buffer == 10)[starts]
    counts = np.bincount(line_of)
    return counts[counts > 0]


def looks_like_sequences(head: bytes, complete: bool = True) -> bool:
    """Whether a file starting with ``head`` holds ``user item item ...`` lines.

    The rule: every token is a whole number (a sign allowed, so that a negative id fails
    with its line), separated by spaces or tabs, and the lines hold varying numbers of
    tokens or more than 4. A table of 2-4 numeric columns (``user item [rating [time]]``
    on every line) is not a sequence file, nor is anything with a comma, a decimal point
    or a letter.

    Args:
        head: the file's first bytes.
        complete: whether ``head`` is the whole file (else its last line may be cut and is
            not looked at).
    """
    if not complete and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    if not head.strip() or _NOT_INTEGER_TEXT.search(head):
        return False
    counts = tokens_per_line(head)
    return bool(counts.max() > 4 or counts.min() != counts.max())


def read_sequences(path: Path) -> Source:
    """A sequence file: lines ``user item item ...``, each user's items in time order.

    Rows are the (user, item) pairs in file order, without timestamps, so row order is time
    order. A user on several lines gets the items of all of them, in file order; a line
    with a user and no items adds nothing. Ids are whole numbers >= 0 (1-based in most
    published files: the vocabularies hold the ids present).

    Args:
        path: the file.

    Returns:
        A `Source` without a given split.
    """
    users, items = read_user_lists(path)
    if not len(users):
        raise DataError("no interactions: every line holds a user only", path)
    return Source(from_raw(users, items), name=str(path))
