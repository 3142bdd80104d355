"""The typer application, the options several commands share, and the entry point.

Every usage error (an unknown option or command, a missing argument, a value of the
wrong type) and every bad input exits with code 2 and one line on stderr; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ncf.errors import Interrupted, NcfError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring lines join into paragraphs at any width
    help="Neural collaborative filtering: train, evaluate and use recommenders.",
)
data_app = typer.Typer(
    no_args_is_help=True, help="Inspect and split data.", rich_markup_mode="markdown"
)
app.add_typer(data_app, name="data")


def _drop_stdout() -> None:
    """Send the rest of stdout to the null device: its reader has gone (``ncf ... | head``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def emit(text: str) -> None:
    """Prints ``text`` to stdout; if its reader has gone, the rest is dropped quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _drop_stdout()


def _console_reader_gone(console: Console) -> None:
    """For every rich console (ours and typer's help): rich exits 1 when stdout's reader
    has gone; a training run whose log reader has gone finishes its work instead."""
    console.quiet = True
    _drop_stdout()


Console.on_broken_pipe = _console_reader_gone  # type: ignore[method-assign]
# soft_wrap: lines are never wrapped at 80 columns in files and pipes
console = Console(highlight=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        from ncf.version import __version__

        print(f"ncf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Neural collaborative filtering: train, evaluate and use recommenders."""
    # `main` reads --debug from the arguments itself: errors raised while parsing them
    # must already know it


# --------------------------------------------------------------------------- shared options

Columns = Annotated[
    str,
    typer.Option(
        help="Columns of a table file, by name or 0-based position, for the roles user, "
        "item, rating and time: e.g. user:uid,item:iid or user:0,item:1,rating:2.",
    ),
]
Threshold = Annotated[
    float | None, typer.Option(help="Implicit feedback: keep ratings >= this value.")
]
MinUser = Annotated[int | None, typer.Option(help="Drop users with fewer interactions.")]
MinItem = Annotated[int | None, typer.Option(help="Drop items with fewer interactions.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="key=value setting (repeatable).")]
SplitSpec = Annotated[
    str,
    typer.Option(
        "--split",
        help="loo, loo-random, time:V,T, ratio:TR,V,T, user-ratio:TR,V,T, "
        "user-time-ratio:TR,V,T, user-count:V,T or given (default: the data's own "
        "split, else loo; ratio:0.8,0.1,0.1 for rating models).",
    ),
]
ProtocolSpec = Annotated[
    str,
    typer.Option(
        "--protocol",
        help="full, sampled:N or rating (default: the model's; sampled:N with given negatives;"
        " else full); full:train-history or sampled:N:train-history score the test from the"
        " training part alone, as papers of the DiffRec line do.",
    ),
]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda.")]
Cutoffs = Annotated[str, typer.Option("--k", help="Cut-offs, e.g. 10,20.")]
Threads = Annotated[
    int | None,
    typer.Option(help="CPU threads (default: a choice for this machine, see config.toml)."),
]


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """``--set key=value`` pairs; values stay text until the config casts them by type."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def data_settings(
    columns: str, threshold: float | None, min_user: int | None, min_item: int | None
) -> dict[str, Any]:
    """The data options shared by ``train``, ``data info`` and ``data split``."""
    values = {
        "columns": columns,
        "implicit_threshold": threshold,
        "min_user": min_user,
        "min_item": min_item,
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


def parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--k expects comma-separated integers, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"--k expects positive integers, got {text!r}")
    return ks


def check_k(k: int) -> int:
    if k < 1:
        raise UsageError(f"--k must be a positive number of items, got {k}")
    return k


def output_file(path: Path, suffixes: tuple[str, ...] = (".parquet", ".csv")) -> Path:
    """A file to write: a known suffix, in a folder that exists."""
    if path.suffix not in suffixes:
        raise UsageError(f"{path}: expected a {' or '.join(suffixes)} file name")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: no such folder {str(path.parent)!r} to write into")
    return path


def existing_folder(path: Path) -> Path:
    """The same message for a missing run folder in every command."""
    if not path.exists():
        raise UsageError(f"{path}: no such folder")
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder")
    return path


def plural(n: int, word: str) -> str:
    """``1 user``, ``2 users`` (with thousands separators)."""
    return f"{n:,} {word}{'s' * (n != 1)}"


@contextmanager
def progress_bar(total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A transient bar on a terminal (nothing in a file or pipe); yields ``advance(n)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(
        *columns, console=console, disable=not console.is_terminal, transient=True
    ) as bar:
        task = bar.add_task(unit, total=total)
        yield lambda n: bar.advance(task, n)


# --------------------------------------------------------------------------- entry point

DEFAULT_MLFLOW_STORE = "./mlruns"


def _optional_values(args: list[str]) -> list[str]:
    """``--mlflow`` may stand alone: then it means the local store ``./mlruns``."""
    out = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--mlflow" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append(DEFAULT_MLFLOW_STORE)
    return out


def _click_error(err: BaseException) -> bool:
    """A parser error of click, whichever copy raised it: typer >= 0.29 carries its own
    (``typer._click``); older releases use the ``click`` package. Matched by class name
    so that neither has to be importable."""
    return any(cls.__name__ == "ClickException" for cls in type(err).__mro__)


def _usage_line(err: Any) -> str:
    message = " ".join(str(err.format_message()).split())
    ctx = getattr(err, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def _one_line_warning(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _say(line: str) -> None:
    """An error on standard error, once: of a run's several processes, which all meet
    the same errors, only the first speaks (`ncf.runtime.distributed`)."""
    from ncf.runtime.distributed import World

    if World.from_env().main:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    args = _optional_values(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if not debug:
        warnings.showwarning = _one_line_warning
    try:
        code = app(args=args, prog_name="ncf", standalone_mode=False)
        if isinstance(code, int) and code:  # a command's typer.Exit(code)
            sys.exit(code)
    except NcfError as err:
        if debug:
            raise
        _say(f"error: {err}")
        sys.exit(2)
    except Interrupted as err:
        _say(f"interrupted: {err}")
        sys.exit(128 + err.signum)
    except typer.Abort:
        sys.exit(130)
    except (typer.Exit, SystemExit) as done:
        code = getattr(done, "exit_code", getattr(done, "code", 0))
        sys.exit(code or 0)
    except Exception as err:
        if not _click_error(err):
            raise
        if type(err).__name__ == "NoArgsIsHelpError":  # `ncf` or `ncf data` alone: help
            print(err.format_message())  # type: ignore[attr-defined]
            sys.exit(0)
        if debug:
            raise
        print(f"error: {_usage_line(err)}", file=sys.stderr)
        sys.exit(2)
