"""The model registry: plain names to classes."""

from __future__ import annotations

from ncf.models.base import Model
from ncf.models.bpr_mf import BPRMF
from ncf.models.ease import EASE
from ncf.models.gmf import GMF
from ncf.models.mf import MF, MFBias
from ncf.models.mlp import MLP
from ncf.models.neumf import NeuMF, load_pretrained
from ncf.models.popularity import Popularity

MODELS: dict[str, type[Model]] = {
    "popularity": Popularity,
    "gmf": GMF,
    "mlp": MLP,
    "neumf": NeuMF,
    "bpr-mf": BPRMF,
    "ease": EASE,
    "mf": MF,
    "mf-bias": MFBias,
}

__all__ = [
    "MODELS",
    "Model",
    "BPRMF",
    "EASE",
    "GMF",
    "MF",
    "MFBias",
    "MLP",
    "NeuMF",
    "Popularity",
    "load_pretrained",
]
