"""Models started from trained runs (``start_from``, the roles of `Model.starts_from`):
NeuMF from a GMF and an MLP run (``gmf``, ``mlp``), the hybrid from an embedding model
(``base``).

A run may only start from runs that learnt from its own split: the same users and items,
and the same training and validation parts (their fingerprint, kept in the bundle), else
the weights it starts from would have seen its validation or test part.

    >>> runs = runs_to_start_from(config, split, refit=False)    # {"base": Model}
    >>> model.start_from(runs)
"""

from __future__ import annotations

import numpy as np

from ncf.data.splits import Split, fingerprint
from ncf.errors import UsageError
from ncf.experiment.config import RunConfig
from ncf.models import MODELS, Model


def load_runs(runs: dict[str, str], selected: bool) -> dict[str, Model]:
    """The trained models of run folders, by role (``base``, ``gmf``)."""
    from ncf.inference.bundle import load_parts

    return {key: load_parts(path, selected=selected)[0] for key, path in runs.items()}


def runs_to_start_from(config: RunConfig, split: Split, refit: bool) -> dict[str, Model]:
    """The trained runs a model starts from (`Model.starts_from`: NeuMF's GMF and MLP, the
    hybrid's base model), checked to have learnt from this run's split: the same users,
    items, training and validation parts (else their weights would carry the validation
    or test part of this run into it).

    The selection phase starts from their train-only, validation-selected weights (the
    validation part stays unseen); the refit phase from their final weights, which were
    refit on train + validation like this model itself."""
    from ncf.inference.bundle import load_parts

    keys = list(config.start_from)
    allowed = MODELS[config.model].starts_from
    for key in keys:
        if key not in allowed:
            raise UsageError(
                f"start_from {key} starts a model from a trained run; {config.model} takes "
                + (", ".join(allowed) if allowed else "none")
            )
    if not keys:
        return {}
    ours = fingerprint(split.train, split.valid)
    runs = {}
    for key in keys:
        path = config.start_from[key]
        trained, known, saved = load_parts(path, selected=not refit)
        if "split_fingerprint" not in saved:
            raise UsageError(
                f"start_from {key} {path} does not record the split it learnt from (saved by "
                "an older ncf): train it again with this run's data, filters, split and seed"
            )
        same_users = np.array_equal(known.user_vocab.ids, split.train.user_vocab.ids)
        same_items = np.array_equal(known.item_vocab.ids, split.train.item_vocab.ids)
        if not (same_users and same_items and saved.get("split_fingerprint") == ours):
            raise UsageError(
                f"start_from {key} {path} was not trained on this run's split (data, filters, "
                "split and seed must be the same): train it with the same settings"
            )
        runs[key] = trained
    return runs
