"""A split saved by ``ncf data split``: parquet parts with raw ids, the test negatives, the
item table and ``split.json`` (`save_split`, read back by `read_split_source` as a
`Source` whose parts are given); or the NGCF / LightGCN user-item lists (`save_lists`).

    >>> save_split(split, "splits/ml-1m-time", seed=0)
    >>> read_split_source(Path("splits/ml-1m-time")).part
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ncf.data.interactions import from_raw
from ncf.data.io.common import id_column, numeric_column, read_parquet, require_columns
from ncf.data.io.given import write_lists
from ncf.data.io.source import TEST, TRAIN, VALID, Source
from ncf.data.splits import Split
from ncf.errors import DataError


def save_split(
    split: Split, folder: str | Path, seed: int | None = None, dropped: dict[str, int] | None = None
) -> Path:
    """Writes ``train/valid/test.parquet`` (raw ids), test negatives and ``split.json``.

    ``dropped`` (rows dropped per reason, preparation included) is recorded in
    ``split.json``; by default the split's own drops."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "valid", "test"):
        getattr(split, name).to_frame().to_parquet(folder / f"{name}.parquet", index=False)
    if split.test_negatives is not None:
        raw = split.train.item_vocab.raw(split.test_negatives)
        pd.DataFrame(raw, columns=[f"neg{j}" for j in range(raw.shape[1])]).to_parquet(
            folder / "test_negatives.parquet", index=False
        )
    if split.train.items is not None:
        items = split.train.items.copy()
        items.insert(0, "item", split.train.item_vocab.ids)
        items.to_parquet(folder / "items.parquet", index=False)
    meta = {
        "spec": split.spec,
        "seed": seed,
        "counts": split.counts(),
        "dropped": split.dropped if dropped is None else dropped,
    }
    (folder / "split.json").write_text(json.dumps(meta, indent=2))
    return folder


def save_lists(split: Split, folder: str | Path) -> Path:
    """Writes the split as ``train.txt`` / ``valid.txt`` / ``test.txt`` user-item lists
    of 0-based indices (the NGCF / LightGCN format; ``valid.txt`` only when the split has
    validation rows), with ``user_list.txt`` / ``item_list.txt`` mapping each raw id
    (``org_id``) to its index (``remap_id``), as the authors' data folders do."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "valid", "test"):
        part = getattr(split, name)
        if name != "valid" or len(part):
            write_lists(folder / f"{name}.txt", part.user_ids, part.item_ids)
    for kind, vocab in (("user", split.train.user_vocab), ("item", split.train.item_vocab)):
        frame = pd.DataFrame({"org_id": vocab.ids, "remap_id": np.arange(len(vocab.ids))})
        frame.to_csv(folder / f"{kind}_list.txt", sep=" ", index=False)
    return folder


def read_split_source(folder: Path) -> Source:
    """A saved split as a `Source` whose parts are given (``--split given``)."""
    frames = []
    for part, name in ((TRAIN, "train"), (VALID, "valid"), (TEST, "test")):
        path = folder / f"{name}.parquet"
        if not path.exists():
            raise DataError(f"missing {name}.parquet", folder)
        frame = read_parquet(path, allow_empty=name == "valid")
        require_columns(frame, ["user", "item"], path)
        frame["user"] = id_column(frame, "user", "user", path, 1)
        frame["item"] = id_column(frame, "item", "item", path, 1)
        frame["part"] = part
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    for column in ("user", "item"):  # numbers in one part, text in another: all text
        if frame[column].dtype == object and frame[column].map(type).nunique() > 1:
            frame[column] = frame[column].astype(str)
    items_frame = None
    if (folder / "items.parquet").exists():
        items_frame = read_parquet(folder / "items.parquet")
        require_columns(items_frame, ["item"], folder / "items.parquet")
        items_frame = items_frame.set_index("item")
    data = from_raw(
        frame["user"].to_numpy(),
        frame["item"].to_numpy(),
        ratings=numeric_column(frame, "rating", folder, 1) if "rating" in frame else None,
        times=numeric_column(frame, "time", folder, 1, integer=True) if "time" in frame else None,
        items_frame=items_frame,
    )
    negatives = None
    if (folder / "test_negatives.parquet").exists():
        path = folder / "test_negatives.parquet"
        raw = read_parquet(path).to_numpy()
        if len(raw) != (frame["part"] == TEST).sum():
            raise DataError(
                f"{len(raw)} rows, but test.parquet has {(frame['part'] == TEST).sum()}", path
            )
        negatives = data.item_vocab.index(raw.ravel(), missing="mask").reshape(raw.shape)
        if (negatives < 0).any():
            row = int(np.flatnonzero((negatives < 0).any(axis=1))[0])
            raise DataError("a negative item that is in no part of the split", path, row + 1)
    return Source(
        data, name=str(folder), part=frame["part"].to_numpy(np.int8), test_negatives=negatives
    )
