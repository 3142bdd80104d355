"""The benchmark's plan: the model settings every library shares, the epoch budgets, the
targets, and which library runs which model with which child script. Imported by run.py.

Settings are the models' usual published or default ones; a library that cannot take one
(its optimiser, its regulariser) keeps its own, and its curve's note says so.
"""

from __future__ import annotations

from dataclasses import dataclass

#: NeuMF as in He et al. 2017 without pre-training: 8 predictive factors, MLP
#: [64, 32, 16, 8] (32-wide MLP embeddings), 4 negatives per positive, Adam lr 0.001;
#: batches of 1024 scored rows (the paper: 256) to fit the time budget
NEUMF = {"factors": 8, "layers": [64, 32, 16, 8], "negatives": 4, "lr": 0.001, "batch_size": 1024}
#: BPR-MF: 64 factors, one negative per positive, Adam lr 0.001, batch 2048 (RecBole's)
BPR = {"factors": 64, "negatives": 1, "lr": 0.001, "batch_size": 2048}
#: LightGCN as He et al. 2020: 64 dims, 3 layers, Adam lr 0.001, batch 2048, L2 1e-4
LIGHTGCN = {"factors": 64, "layers": 3, "lr": 0.001, "batch_size": 2048, "reg": 1e-4}
#: ALS: 64 factors; each library's own weights and regularisation
ALS = {"factors": 64}

SETTINGS = {"neumf": NEUMF, "bpr": BPR, "lightgcn": LIGHTGCN, "als": ALS, "rating": {}}

#: epochs (ALS: iterations) per dataset and model family, the same for every library,
#: sized for about 30 minutes in all on 2 idle cores. One epoch of RecBole's LightGCN on
#: ML-1M takes a few minutes (its sparse products through autograd), so run.py's
#: per-run cap usually ends that run first.
EPOCHS = {
    "ml-100k": {"neumf": 20, "bpr": 50, "lightgcn": 50, "als": 15, "rating": 20},
    "ml-1m": {"neumf": 10, "bpr": 25, "lightgcn": 4, "als": 15},
}
#: --quick: a smoke test of every piece, on a tenth of the users
QUICK_EPOCHS = {"neumf": 1, "bpr": 1, "lightgcn": 1, "als": 2, "rating": 2}

#: "time to target": the first evaluation with test hr@10 >= the target (ranking) or
#: RMSE <= the target (rating)
TARGETS = {"ml-100k": {"ranking": 0.60, "rating": 0.93}, "ml-1m": {"ranking": 0.65}}


@dataclass(frozen=True)
class Library:
    """A library: the virtual environment under .venvs/ that runs it (empty: the main
    one, the driver's own Python) and its child script."""

    venv: str
    script: str


LIBRARIES = {
    "ncf": Library("", "ncf_child.py"),
    "recbole": Library("recbole", "recbole_child.py"),
    "implicit": Library("implicit", "implicit_child.py"),
    "surprise": Library("surprise", "surprise_child.py"),
    "notebook": Library("", "notebook_child.py"),
}


@dataclass(frozen=True)
class Run:
    """One curve: a library's model of a family, named as the library names it."""

    library: str
    model: str  # the child's --model
    family: str  # neumf, bpr, lightgcn, als or rating: settings and epochs
    name: str  # the model's name in that library
    one_fit: bool = False  # fitted in one pass, without epochs

    @property
    def kind(self) -> str:
        return "rating" if self.family == "rating" else "ranking"


RUNS = [
    Run("ncf", "neumf", "neumf", "neumf"),
    Run("ncf", "neumf-defaults", "neumf", "neumf (ncf's defaults)"),
    Run("recbole", "neumf", "neumf", "NeuMF"),
    Run("notebook", "neumf", "neumf", "NeuMF (plain PyTorch)"),
    Run("ncf", "bpr", "bpr", "bpr-mf"),
    Run("recbole", "bpr", "bpr", "BPR"),
    Run("implicit", "bpr", "bpr", "BayesianPersonalizedRanking"),
    Run("ncf", "lightgcn", "lightgcn", "lightgcn"),
    Run("recbole", "lightgcn", "lightgcn", "LightGCN"),
    Run("ncf", "als", "als", "ials"),
    Run("implicit", "als", "als", "AlternatingLeastSquares"),
    *(Run("ncf", m, "rating", m) for m in ("mf", "mf-bias", "concat-net")),
    *(Run("ncf", m, "rating", m) for m in ("embedding-net", "autoencoder")),
    Run("surprise", "svd", "rating", "SVD"),
    Run("surprise", "svdpp", "rating", "SVDpp"),
    Run("surprise", "knn-baseline", "rating", "KNNBaseline", one_fit=True),
]
