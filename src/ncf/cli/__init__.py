"""The ``ncf`` command line: a thin layer over the Python API.

Bad usage or bad input exits with code 2 and a one-line message (``--debug`` shows the
traceback).
"""

from ncf.cli import compare, data, serve, train, tune, use  # noqa: F401  (the modules register their commands)
from ncf.cli.app import app, main

__all__ = ["app", "main"]
