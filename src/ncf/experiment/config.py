"""The frozen, validated `RunConfig`: everything needed to rerun a run.

A run is described by a `RunConfig`: what data and split, which model with which
arguments, how to train (`ncf.training.config.TrainConfig`) and how to evaluate. Values
come from the model's own ``train_defaults``, then a TOML file, then command-line options
or keyword arguments of `ncf.fit`, then ``--set key=value`` pairs;
`RunConfig.with_overrides` applies the pairs, routing each key to the component that owns
it and failing on unknown keys.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ncf.data.preprocess import PrepareConfig
from ncf.errors import UsageError
from ncf.evaluation.metrics import RATING_METRICS, monitored_metrics
from ncf.evaluation.protocols import HISTORY_SUFFIX
from ncf.training.config import TrainConfig, check_choice, coerce, known_keys, parse_value


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to rerun a training run.

    Attributes:
        model: registry name.
        data: data spec (registry name, file or folder).
        split: split spec; empty = the data's own split when it has one, else ``loo``.
        protocol: ``full``, ``sampled:N`` or ``rating``; empty = ``sampled:N`` for data
            with given test negatives (N = their number), else ``full`` (rating models
            bring ``rating``). ``full:train-history`` / ``sampled:N:train-history``
            score the test from the training part alone, with no refit.
        ks: cut-offs of the reported metrics.
        seed: seeds the split, the negatives, the weights and the batch order.
        device: auto, cpu or cuda.
        model_args: keyword arguments of the model class.
        train: the `TrainConfig`.
        prepare: the `PrepareConfig` (implicit threshold, filters, subsample).
        columns: ``user:COL,item:COL,...`` mapping for table files.
        start_from: the trained runs a model starts from, by the role it names
            (`Model.starts_from`): NeuMF ``{"gmf": RUN, "mlp": RUN}``, the hybrid
            ``{"base": RUN}`` (a trained embedding model: mf, mf-bias, bpr-mf, gmf, ials
            ...). ``--set start_from=gmf:RUN,mlp:RUN``; the older settings ``gmf_run``,
            ``mlp_run`` and ``base_run`` are still read.
        item_features: a file of item id -> vector (`ncf.data.io.features`), or the name of
            an item metadata column (``genres``) made multi-hot; GMF, MLP and NeuMF
            concatenate each item's vector before their output layer (S12's hybrid), the
            ``hybrid`` feeds it through its metadata layer.
        item_table: a csv / tsv / parquet table of item metadata (an id column, then any
            columns: title, genres, year...) added to the data's own (`read_item_table`);
            kept in the bundle and shown beside recommendations.
        refit: refit on train + validation before the test evaluation (the validation
            part only serves model selection); always off with a ``train-history``
            protocol.
        deterministic: on CUDA, use deterministic kernels only (slower); CPU runs are
            deterministic anyway.
        threads: CPU threads for training, evaluation and data loading; 0 = a choice for
            the machine (`default_threads`), recorded in the run's ``config.toml``.
    """

    model: str = "neumf"
    data: str = "synthetic"
    split: str = ""
    protocol: str = ""
    ks: tuple[int, ...] = (10,)
    seed: int = 0
    device: str = "auto"
    model_args: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    columns: str = ""
    start_from: dict[str, str] = field(default_factory=dict)
    item_features: str = ""
    item_table: str = ""
    refit: bool = True
    deterministic: bool = False
    threads: int = 0

    def __post_init__(self) -> None:
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        if self.protocol.endswith(HISTORY_SUFFIX):  # the model the test sees is train's
            object.__setattr__(self, "refit", False)
        if not self.ks or min(self.ks) < 1:
            raise UsageError(f"ks must be positive cut-offs, got {self.ks}")
        if self.train.monitor not in monitored_metrics(self.ks):
            raise UsageError(
                f"monitor {self.train.monitor!r} is not among the computed metrics "
                f"({', '.join(monitored_metrics(self.ks))}); add its cut-off to ks (--k)"
            )
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"seed must be a whole number in [0, 2**32), got {self.seed}")
        if self.threads < 0:
            raise UsageError(f"threads must be >= 1 (or 0 for automatic), got {self.threads}")
        rating_monitor = self.train.monitor in RATING_METRICS
        if rating_monitor != (self.protocol == "rating"):
            raise UsageError(
                f"monitor {self.train.monitor!r} does not fit protocol "
                f"{self.protocol or 'full'!r}: rmse, mae and accuracy are the metrics of "
                "protocol 'rating', the ranking metrics those of 'full' and 'sampled:N'"
            )

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ks"] = list(self.ks)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        values = dict(values)
        unknown = set(values) - {f.name for f in fields(cls)} - set(OLD_START_KEYS)
        if unknown:
            raise UsageError(
                f"unknown config keys {sorted(unknown)}; allowed: {[f.name for f in fields(cls)]}"
            )
        train = TrainConfig(**known_keys(TrainConfig, values.pop("train", {}), "train"))
        prepare = PrepareConfig(**known_keys(PrepareConfig, values.pop("prepare", {}), "prepare"))
        if "ks" in values:
            values["ks"] = tuple(values["ks"])
        return cls(train=train, prepare=prepare, **with_start_from(values))

    def with_overrides(
        self,
        pairs: dict[str, Any],
        model_params: set[str],
        train_params: set[str] | None = None,
    ) -> RunConfig:
        """Applies ``key=value`` pairs: run fields, then train / prepare fields, then model
        arguments (``model_params`` = the model constructor's parameter names).
        ``train_params`` are the training settings the model uses (None: all); another
        one is refused unless it has its default value (a run folder's config.toml)."""
        pairs = with_start_from(pairs)
        run_keys = {f.name for f in fields(self)} - {"train", "prepare", "model_args"}
        train_keys = {f.name for f in fields(TrainConfig)}
        prepare_keys = {f.name for f in fields(PrepareConfig)}
        usable = train_keys if train_params is None else train_params & train_keys
        run, train, prepare, model = {}, {}, {}, dict(self.model_args)
        for key, value in pairs.items():
            if key in run_keys:
                run[key] = value
            elif key in usable:
                train[key] = value
            elif key in train_keys:
                if coerce(TrainConfig, {key: value})[key] != getattr(TrainConfig(), key):
                    raise UsageError(
                        f"model {self.model!r} is fitted in closed form: {key!r} does not "
                        "apply to it (no epochs, learning rate or sampled negatives); its own "
                        f"settings: {', '.join(sorted(model_params)) or 'none'}"
                    )
            elif key in prepare_keys:
                prepare[key] = value
            elif key in model_params:
                model[key] = value
            else:
                allowed = sorted(run_keys | usable | prepare_keys | model_params)
                close = difflib.get_close_matches(key, allowed, n=3)
                hint = (
                    f"did you mean {' or '.join(close)}?"
                    if close
                    else f"`ncf train --model {self.model} --print-config` lists them all"
                )
                raise UsageError(f"unknown setting {key!r} for model {self.model!r}; {hint}")
        model = {k: parse_value(v) if isinstance(v, str) else v for k, v in model.items()}
        starts = {"start_from": run.pop("start_from")} if "start_from" in run else {}
        return replace(
            self,
            **starts,
            **coerce(RunConfig, run),
            train=replace(self.train, **coerce(TrainConfig, train)),
            prepare=replace(self.prepare, **coerce(PrepareConfig, prepare)),
            model_args=model,
        )


#: the settings that named the runs a model starts from before ``start_from``; still read
OLD_START_KEYS = {"gmf_run": "gmf", "mlp_run": "mlp", "base_run": "base"}


def with_start_from(pairs: dict[str, Any]) -> dict[str, Any]:
    """``pairs`` with ``start_from`` as a dict of role -> run folder: from a dict, from
    text ``gmf:RUN,mlp:RUN`` (``--set``), and from the older ``gmf_run`` / ``mlp_run`` /
    ``base_run`` settings (which are removed); empty folders are dropped."""
    if "start_from" not in pairs and not set(pairs) & set(OLD_START_KEYS):
        return pairs
    out = {k: v for k, v in pairs.items() if k not in OLD_START_KEYS}
    given = pairs.get("start_from") or {}
    if isinstance(given, str):
        parts = [p.strip() for p in given.split(",") if p.strip()]
        if not all(":" in p for p in parts):
            raise UsageError(
                f"start_from takes ROLE:RUN pairs such as gmf:runs/gmf,mlp:runs/mlp; got {given!r}"
            )
        given = dict(p.split(":", 1) for p in parts)
    if not isinstance(given, dict):
        raise UsageError(f"start_from must map roles to run folders; got {given!r}")
    runs = {str(role).strip(): str(path) for role, path in given.items()}
    runs |= {role: str(pairs[old]) for old, role in OLD_START_KEYS.items() if old in pairs}
    out["start_from"] = {role: path for role, path in runs.items() if path}
    return out
