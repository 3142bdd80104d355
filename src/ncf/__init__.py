"""ncf: neural collaborative filtering recommenders in PyTorch.

>>> import ncf, pandas as pd
>>> run = ncf.fit(pd.read_csv("ratings.csv"), model="gmf", epochs=5)   # train, select, test
>>> run.metrics["test"], run.recommend(["42"], k=10)
>>> ncf.compare(["popularity", "ease", "bpr-mf"], "ml-100k", protocol="full")
>>> run.save("bundles/gmf"); rec = ncf.load("bundles/gmf")

The public names are imported when first used, so that ``ncf --help`` and the command
line's errors answer without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ncf.version import __version__

if TYPE_CHECKING:
    from ncf.data.interactions import Interactions, Vocabulary, from_raw
    from ncf.data.io.formats import read_path
    from ncf.data.io.source import Source
    from ncf.data.splits import Split, make_split
    from ncf.errors import DataError, NcfError, UsageError
    from ncf.evaluation.protocols import Evaluator, Protocol
    from ncf.experiment.compare import compare
    from ncf.experiment.fit import fit
    from ncf.experiment.run import Run
    from ncf.inference.recommender import Recommender, load
    from ncf.models import MODELS

#: public name -> the module that defines it
_WHERE = {
    "MODELS": "ncf.models",
    "DataError": "ncf.errors",
    "Evaluator": "ncf.evaluation.protocols",
    "Interactions": "ncf.data.interactions",
    "NcfError": "ncf.errors",
    "Protocol": "ncf.evaluation.protocols",
    "Recommender": "ncf.inference.recommender",
    "Run": "ncf.experiment.run",
    "Source": "ncf.data.io.source",
    "Split": "ncf.data.splits",
    "UsageError": "ncf.errors",
    "Vocabulary": "ncf.data.interactions",
    "compare": "ncf.experiment.compare",
    "fit": "ncf.experiment.fit",
    "from_raw": "ncf.data.interactions",
    "load": "ncf.inference.recommender",
    "make_split": "ncf.data.splits",
    "read_path": "ncf.data.io.formats",
}

__all__ = [
    "MODELS",
    "DataError",
    "Evaluator",
    "Interactions",
    "NcfError",
    "Protocol",
    "Recommender",
    "Run",
    "Source",
    "Split",
    "UsageError",
    "Vocabulary",
    "__version__",
    "compare",
    "fit",
    "from_raw",
    "load",
    "make_split",
    "read_path",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ncf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
