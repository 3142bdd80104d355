"""The data side of a run: load, filter and split the data, and build the validation and
test evaluators (`prepare_run`).

    >>> prepared = prepare_run(config, Generators.from_seed(0))
    >>> prepared.split.counts(), prepared.protocol.label
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.io.common import parse_columns
from ncf.data.io.features import ItemVectors, read_item_features
from ncf.data.io.formats import read_path
from ncf.data.io.metadata import is_column_name, metadata_column, multi_hot, with_item_table
from ncf.data.io.registry import DATASETS, resolve
from ncf.data.io.source import TEST, Source
from ncf.data.preprocess import DropLog, PrepareConfig, count_duplicates, prepare
from ncf.data.sampling import SeenSet, sample_distinct_negatives
from ncf.data.splits import Split, default_split, drop_unseen, make_split
from ncf.data.synthetic import make_synthetic
from ncf.errors import UsageError
from ncf.evaluation.protocols import Evaluator, Protocol, RatingEvaluator
from ncf.experiment.config import RunConfig
from ncf.models import MODELS
from ncf.models.base import ItemFeatures
from ncf.random import Generators

# splits that hold out interactions regardless of their time
RANDOM_SPLITS = ("ratio", "user-ratio", "loo-random")


def load_source(spec: str, columns: str = "") -> Source:
    """A data spec (registry name, file, folder, ``synthetic``) -> `Source`."""
    if columns and (spec == "synthetic" or spec in DATASETS):
        raise UsageError(f"--columns applies to table files; {spec!r} has known columns")
    if spec == "synthetic":
        return make_synthetic()
    if spec in DATASETS:
        return read_path(resolve(spec))
    if not Path(spec).exists() and "/" not in spec and "." not in spec:
        raise UsageError(
            f"unknown dataset {spec!r} and no such file or folder; "
            f"known datasets: synthetic, {', '.join(DATASETS)}"
        )
    return read_path(spec, parse_columns(columns) if columns else None)


def item_vectors(spec: str, data_items: Vocabulary, train: Interactions) -> ItemVectors:
    """``item_features``: a file of vectors, or a metadata column made multi-hot."""
    if not is_column_name(spec):
        return read_item_features(spec, data_items, train.item_vocab)
    hot = multi_hot(metadata_column(train.items, spec))
    missing = int((hot.sum(axis=1) == 0).sum())  # items without a value
    return ItemVectors(hot.to_numpy(np.float32, copy=True), missing, Path(spec))


def prepare_source(source: Source, config: PrepareConfig) -> tuple[Source, DropLog]:
    """Applies filters; a source with a given split only accepts the default settings,
    since dropping rows would break the files' split and negatives."""
    if source.part is not None:
        if replace(config, dedupe=True, subsample_seed=0) != PrepareConfig():
            raise UsageError(
                f"{source.name} fixes its split: filters and implicit_threshold "
                "cannot be applied to it; filter before splitting"
            )
        log = DropLog(read=len(source.data))
        duplicates = count_duplicates(source.data)
        if duplicates:
            log.notes["duplicate (user, item) rows, kept: the files fix the split"] = duplicates
        if source.test_negatives is not None:
            test_items = source.data.item_ids[source.part == TEST]
            clash = int((source.test_negatives == test_items[:, None]).any(axis=1).sum())
            if clash:  # kept as published; the tie counts against the model
                log.notes["test rows whose negatives include the test item, kept"] = clash
        return source, log
    data, log = prepare(source.data, config)
    return replace(source, data=data), log


@dataclass
class Prepared:
    """The data side of a run: split, evaluators, and ``known`` (train + validation: the
    refit data, and what a model scores the test from)."""

    source: Source
    split: Split
    protocol: Protocol
    valid: Evaluator | RatingEvaluator
    test: Evaluator | RatingEvaluator
    log: DropLog
    known: Interactions
    item_vectors: ItemVectors | None = None

    @property
    def dropped(self) -> dict[str, int]:
        """Rows dropped on the way, per reason: by the filters, then by the split."""
        return {**self.log.dropped, **self.split.dropped}


def prepare_run(
    config: RunConfig, generators: Generators, source: Source | None = None
) -> Prepared:
    """Loads (``source`` when given, else ``config.data``), filters and splits the data and
    builds the validation and test evaluators."""
    raw = source if source is not None else load_source(config.data, config.columns)
    model = MODELS.get(config.model)
    unordered = raw.data.times is None and not (raw.ordered or config.prepare.ordered)
    if model is not None and model.needs_order and unordered:
        declare = (
            "" if raw.part is not None else ", or --set ordered=true for a table in time order"
        )
        raise UsageError(
            f"model {config.model!r} scores users by the order of their items, and "
            f"{raw.name} has no timestamps and no time order: "
            f"give data with a time column or a sequence file{declare}"
        )
    unknown = 0
    if config.item_table:
        data, unknown = with_item_table(raw.data, config.item_table)
        raw = replace(raw, data=data)
    source, log = prepare_source(raw, config.prepare)
    if unknown:
        log.notes["item table rows whose id is not in the data, ignored"] = unknown
    spec = config.split or default_split(source)
    if unordered and spec.split(":")[0] in ("loo", "user-time-ratio"):
        warnings.warn(
            f"{raw.name} has no time column: split {spec!r} takes each user's last rows "
            "in the file's row order; --set ordered=true declares that order the time "
            "order, 'loo-random' holds out at random",
            stacklevel=2,
        )
    if model is not None and model.needs_order and spec.split(":")[0] in RANDOM_SPLITS:
        warnings.warn(
            f"split {spec!r} holds out items at random: a user's history then holds items "
            f"from after the held-out ones; {config.model} is judged honestly on 'loo' or "
            "'user-time-ratio'",
            stacklevel=2,
        )
    split = make_split(source, spec, generators.split)
    given = split.test_negatives
    default = f"sampled:{given.shape[1]}" if given is not None else "full"
    protocol = Protocol.parse(config.protocol or default)
    if protocol.kind == "rating":
        split = drop_unseen(split)
    for name, part in (("validation", split.valid), ("test", split.test)):
        if not len(part):  # a metric over no rows would read as 0, or as perfect
            raise UsageError(
                f"split {split.spec!r} leaves no {name} rows ({len(split.train):,} training "
                f"rows); give the {name} part a share"
            )
    valid, test = evaluators(split, protocol, tuple(config.ks), generators)
    known = split.train.concat(split.valid)
    vectors = None
    if config.item_features:
        if not issubclass(MODELS[config.model], ItemFeatures):
            raise UsageError(
                f"item_features works with gmf, mlp, neumf and hybrid; model {config.model!r} "
                "takes no item vectors"
            )
        vectors = item_vectors(config.item_features, raw.data.item_vocab, split.train)
    return Prepared(source, split, protocol, valid, test, log, known, vectors)


def evaluators(
    split: Split, protocol: Protocol, ks: tuple[int, ...], generators: Generators
) -> tuple[Evaluator | RatingEvaluator, Evaluator | RatingEvaluator]:
    """The validation and test evaluators of ``split`` under ``protocol``: validation
    excludes (and a model scores from) the training part, the test train + validation
    (and is scored from the training part alone with ``protocol.train_history``);
    sampled negatives come from ``generators.eval_negatives`` (the given test negatives
    when the files fix them and their number matches)."""
    given = split.test_negatives
    valid_neg = test_neg = None
    if protocol.kind == "sampled":
        everything = SeenSet.from_interactions(split.train, split.valid, split.test)
        valid_neg = sample_distinct_negatives(
            split.valid.user_ids, protocol.n_negatives, everything, generators.eval_negatives
        )
        if given is not None and given.shape[1] == protocol.n_negatives:
            test_neg = given
        else:
            test_neg = sample_distinct_negatives(
                split.test.user_ids, protocol.n_negatives, everything, generators.eval_negatives
            )
    valid: Evaluator | RatingEvaluator
    test: Evaluator | RatingEvaluator
    known = split.train if protocol.train_history else split.train.concat(split.valid)
    if protocol.kind == "rating":
        valid = RatingEvaluator.build(split.valid, split.train)
        test = RatingEvaluator.build(split.test, split.train, known)
    else:
        valid = Evaluator.build(
            split.valid, protocol, [split.train], valid_neg, ks, known=split.train
        )
        test = Evaluator.build(
            split.test, protocol, [split.train, split.valid], test_neg, ks, known=known
        )
    return valid, test
