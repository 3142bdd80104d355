"""Errors a person can act on.

`DataError` and `UsageError` are raised for bad input (a file, a column, a value, an
option); the command line turns them into a one-line message and exit code 2.
"""

from __future__ import annotations


class NcfError(ValueError):
    """Base class for errors caused by the caller's input rather than a bug."""


class DataError(NcfError):
    """A data file or value is malformed; the message names the file, line and value."""

    def __init__(self, message: str, path: object | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class UsageError(NcfError):
    """An option or argument has a value that cannot be used."""


class Interrupted(Exception):
    """Training stopped on SIGINT / SIGTERM after saving a checkpoint to resume from.

    The command line exits with ``128 + signum`` (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
