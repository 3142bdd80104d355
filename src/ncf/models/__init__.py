"""The model registry: plain names to classes."""

from __future__ import annotations

from ncf.models.autoencoder import AutoEncoder
from ncf.models.base import Model
from ncf.models.bpr_mf import BPRMF
from ncf.models.bspm import BSPM
from ncf.models.chebycf import ChebyCF
from ncf.models.ease import EASE
from ncf.models.gf_cf import GFCF
from ncf.models.gmf import GMF
from ncf.models.graph import NGCF, LightGCN
from ncf.models.hybrid import Hybrid
from ncf.models.ials import IALS
from ncf.models.item_knn import ItemKNN
from ncf.models.mf import MF, MFBias
from ncf.models.mlp import MLP
from ncf.models.mpm import MPM
from ncf.models.neumf import NeuMF, load_pretrained
from ncf.models.popularity import Popularity
from ncf.models.rating_nets import ConcatNet, EmbeddingNet
from ncf.models.sequential import SASRec
from ncf.models.vae import MultVAE

MODELS: dict[str, type[Model]] = {
    "popularity": Popularity,
    "gmf": GMF,
    "mlp": MLP,
    "neumf": NeuMF,
    "bpr-mf": BPRMF,
    "ease": EASE,
    "ials": IALS,
    "item-knn": ItemKNN,
    "mf": MF,
    "mf-bias": MFBias,
    "hybrid": Hybrid,
    "concat-net": ConcatNet,
    "embedding-net": EmbeddingNet,
    "autoencoder": AutoEncoder,
    "mult-vae": MultVAE,
    "ngcf": NGCF,
    "lightgcn": LightGCN,
    "gf-cf": GFCF,
    "bspm": BSPM,
    "chebycf": ChebyCF,
    "sasrec": SASRec,
    "mpm": MPM,
}
"""Model name (what ``--model`` and ``ncf.fit(model=...)`` take) -> model class.

Examples:
    >>> sorted(MODELS)[:3], MODELS["gmf"]
    (['autoencoder', 'bpr-mf', 'concat-net'], <class 'ncf.models.gmf.GMF'>)
"""

__all__ = [
    "MODELS",
    "Model",
    "AutoEncoder",
    "BPRMF",
    "BSPM",
    "ChebyCF",
    "ConcatNet",
    "EASE",
    "EmbeddingNet",
    "GFCF",
    "GMF",
    "Hybrid",
    "IALS",
    "ItemKNN",
    "LightGCN",
    "MF",
    "MFBias",
    "MLP",
    "MPM",
    "MultVAE",
    "NGCF",
    "NeuMF",
    "Popularity",
    "SASRec",
    "load_pretrained",
]
