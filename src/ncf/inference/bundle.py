"""A trained model as a self-contained folder, loadable without the training data.

Layout::

    bundle/config.json            model name and arguments, ncf version, sizes
    bundle/weights.safetensors    the state dict (no pickle: loading runs no code)
    bundle/serving.safetensors    what serving would otherwise recompute, when the model
                                  has any (graph models: the propagated embeddings)
    bundle/users.parquet          raw user ids in index order
    bundle/items.parquet          raw item ids in index order (+ title, genres when known)
    bundle/interactions.parquet   known (user, item) index pairs in time order (excluded)

    >>> save_bundle("runs/x/bundle", model, known, items)
    >>> recommender = ncf.load("runs/x")        # a run folder or the bundle folder itself
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from ncf.data.interactions import Interactions, Vocabulary
from ncf.errors import DataError
from ncf.models import MODELS, Model

FORMAT = 1


def save_bundle(
    folder: str | Path,
    model: Model,
    known: Interactions,
    selected: dict[str, torch.Tensor] | None = None,
    split_fingerprint: str = "",
    rating_range: tuple[float, float] | None = None,
) -> Path:
    """Writes the bundle atomically (a temporary folder renamed into place).

    Args:
        folder: target folder (replaced if it exists).
        model: the trained model.
        known: interactions whose items are excluded from a user's recommendations (a
            run stores every interaction of its data: train, validation and test); also
            what models that score from them observe (EASE, the autoencoder). Carries
            the vocabularies, the ratings and item metadata.
        selected: when the final model was refit on train + validation, the weights of
            the validation-selected model trained on train only (``selected.safetensors``),
            used to pre-train other models without leaking the validation part.
        split_fingerprint: names the run's training and validation parts
            (`ncf.data.splits.fingerprint`), so that a model started from this one can
            check it learnt from the same split.
        rating_range: for a model judged by the ``rating`` protocol, the training ratings'
            range (low, high): its predictions of pairs are clipped to it when served.
    """
    from ncf.version import __version__

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a bundle is shared like any folder
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "weights.safetensors"))
        serving = model.serving_state()
        if serving:
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in serving.items()},
                str(tmp / "serving.safetensors"),
            )
        if selected is not None:
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in selected.items()},
                str(tmp / "selected.safetensors"),
            )
        args = {k: v for k, v in model.hparams.items() if k not in ("n_users", "n_items")}
        config = {
            "format": FORMAT,
            "ncf_version": __version__,
            "model": model.name,
            "args": args,
            "n_users": model.n_users,
            "n_items": model.n_items,
            **({"split_fingerprint": split_fingerprint} if split_fingerprint else {}),
            **({"rating_range": list(map(float, rating_range))} if rating_range else {}),
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        pd.DataFrame({"user": known.user_vocab.ids}).to_parquet(tmp / "users.parquet", index=False)
        items = pd.DataFrame({"item": known.item_vocab.ids})
        if known.items is not None:
            for column in known.items.columns:
                items[column] = known.items[column].to_numpy()
        items.to_parquet(tmp / "items.parquet", index=False)
        rows = known.chronological()  # row order = time order, for the sequence models
        pairs = pd.DataFrame({"user": known.user_ids[rows], "item": known.item_ids[rows]})
        if known.ratings is not None:  # what rating models score from (the autoencoder)
            pairs["rating"] = known.ratings[rows]
        pairs.to_parquet(tmp / "interactions.parquet", index=False)
        for path in tmp.iterdir():  # safetensors writes 0600; give the usual permissions
            os.chmod(path, 0o666 & ~umask)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder


def bundle_folder(path: str | Path) -> Path:
    path = Path(path)
    if (path / "bundle" / "config.json").exists():
        return path / "bundle"
    if (path / "config.json").exists():
        return path
    if (path / "config.toml").exists():
        raise DataError(
            "an unfinished run: it has no bundle yet (continue it with ncf train --resume)", path
        )
    raise DataError("not a bundle or a run folder with a bundle (no config.json)", path)


def read_config(path: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a bundle or of a run folder's bundle."""
    folder = bundle_folder(path)
    try:
        config = json.loads((folder / "config.json").read_text())
        config["model"], config["args"], config["n_users"], config["n_items"]  # noqa: B018
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(
            f"bad bundle config ({type(err).__name__}: {err})", folder / "config.json"
        ) from None
    return config


def load_parts(
    path: str | Path, selected: bool = False
) -> tuple[Model, Interactions, dict[str, Any]]:
    """Reads a bundle: the model (eval mode, CPU), the known interactions, the config.

    Args:
        path: a bundle folder or a run folder holding ``bundle/``.
        selected: load the train-only, validation-selected weights when the bundle has
            them (see `save_bundle`), else the final weights.
    """
    folder = bundle_folder(path)
    config = read_config(folder)
    name = config["model"]
    if name not in MODELS:
        raise DataError(f"unknown model {name!r} in bundle", folder / "config.json")
    model = MODELS[name](config["n_users"], config["n_items"], **config["args"])
    try:
        weights = (
            "selected" if selected and (folder / "selected.safetensors").exists() else "weights"
        )
        state = load_file(str(folder / f"{weights}.safetensors"))
        serving_file = folder / "serving.safetensors"
        serving = load_file(str(serving_file)) if serving_file.exists() and not selected else {}
        users = pd.read_parquet(folder / "users.parquet")
        items = pd.read_parquet(folder / "items.parquet")
        pairs = pd.read_parquet(folder / "interactions.parquet")
    except Exception as err:  # truncated or corrupted files
        raise DataError(f"cannot read bundle ({type(err).__name__}: {err})", folder) from None
    try:  # the weights stay mapped from the file (copied on write): worker processes
        model.load_state_dict(state, assign=True)  # serving one bundle share their pages
    except RuntimeError as err:
        raise DataError(f"weights do not match the model config ({err})", folder) from None
    meta = items.drop(columns=["item"]) if len(items.columns) > 1 else None
    known = Interactions(
        user_ids=pairs["user"].to_numpy(np.int64),
        item_ids=pairs["item"].to_numpy(np.int64),
        user_vocab=Vocabulary(users["user"].to_numpy()),
        item_vocab=Vocabulary(items["item"].to_numpy()),
        ratings=pairs["rating"].to_numpy(np.float32) if "rating" in pairs else None,
        items=meta,
    )
    model.observe(known)
    model.eval()
    model.load_serving_state(serving)
    return model, known, config
