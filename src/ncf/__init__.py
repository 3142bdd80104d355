"""ncf: neural collaborative filtering recommenders in PyTorch.

>>> import ncf, pandas as pd
>>> run = ncf.fit(pd.read_csv("ratings.csv"), model="gmf", epochs=5)   # train, select, test
>>> run.metrics["test"], run.recommend(["42"], k=10)
>>> ncf.compare(["popularity", "ease", "bpr-mf"], "ml-100k", protocol="full")
>>> run.save("bundles/gmf"); rec = ncf.load("bundles/gmf")
"""

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
from ncf.version import __version__

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
