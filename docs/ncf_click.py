"""The ``ncf`` command line as a click command, for mkdocs-click's reference page
(docs/cli.md). Importing it loads the typer app only, not torch.

Typer (0.29 on) builds its commands on a click of its own (``typer._click``), which
mkdocs-click does not recognise: it would list the commands without their options. So
the typer app's command tree is mirrored into plain click objects, every command,
argument and option with its names, help, default and the type ``ncf --help`` shows.
"""

from __future__ import annotations

from typing import Any

import click
import typer.main

from ncf.cli import app


class _Shown(click.ParamType):
    """A parameter type that is only a name: what ``--help`` shows (``int``, ``path``)."""

    def __init__(self, name: str):
        self.name = name


def _type_name(param: Any, ctx: Any) -> str:
    shown = str(param.display_type(ctx)).strip("<>")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        shown += f", {low} to {high}"
    elif low is not None:
        shown += f", {low} or more"
    elif high is not None:
        shown += f", {high} or less"
    return shown


def _parameter(param: Any, ctx: Any) -> click.Parameter:
    if not param.opts or not param.opts[0].startswith("-"):  # an argument
        mirrored: click.Parameter = click.Argument(
            [param.name], required=param.required, nargs=param.nargs
        )
    else:
        mirrored = click.Option(
            list(param.opts),
            help=param.help,
            default=None if param.default == "" else param.default,  # "": not given
            required=param.required,
            hidden=param.hidden,
            multiple=param.multiple,
            is_flag=bool(param.is_flag) and not param.secondary_opts,
            # None: resolved later (the model's, the data's): said in the option's help
            show_default=param.show_default and param.default is not None,
        )
        mirrored.secondary_opts = list(param.secondary_opts)
    mirrored.type = _Shown(_type_name(param, ctx))
    return mirrored


_HELP = click.Option(
    ["--help"], is_flag=True, default=False, expose_value=False, help="Show this message and exit."
)


def mirror(command: Any, name: str | None = None) -> click.Command:
    """A plain click command (a group with its subcommands) like typer's ``command``."""
    name = name or command.name
    ctx = command.make_context(name, [], resilient_parsing=True)
    # the first paragraph in one line, as `ncf --help` lists the commands
    first = " ".join((command.help or "").split("\n\n")[0].split())
    settings = {
        "name": name,
        "params": [*(_parameter(p, ctx) for p in command.params), _HELP],
        "help": command.help,
        "short_help": command.short_help or first or None,
        "epilog": command.epilog,
        "hidden": command.hidden,
        "add_help_option": False,  # click's own shows an unset default: _HELP instead
    }
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return click.Command(**settings)
    group = click.Group(**settings)
    for sub_name, sub in subcommands.items():
        group.add_command(mirror(sub, sub_name), sub_name)
    return group


#: the typer app as a click group: every command and option as ``ncf --help`` shows them
command = mirror(typer.main.get_command(app), "ncf")
