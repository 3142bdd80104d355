"""ncf: neural collaborative filtering recommenders in PyTorch.

>>> import ncf
>>> rec = ncf.load("runs/neumf-ncf")
>>> rec.recommend(["0"], k=10)
"""

from ncf.data.formats import Source, read_path
from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.splits import Split, make_split
from ncf.evaluation.protocols import Evaluator, Protocol
from ncf.models import MODELS
from ncf.recommender import Recommender, load

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "Evaluator",
    "Interactions",
    "Protocol",
    "Recommender",
    "Source",
    "Split",
    "Vocabulary",
    "__version__",
    "load",
    "make_split",
    "read_path",
]
