"""The version of ``ncf``, read by bundles and ``ncf --version``."""

__version__ = "0.1.0"
