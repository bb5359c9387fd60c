"""The options several commands share, declared once: one name, default and help everywhere.

Use them as decorators::

    @click.command()
    @options.workers
    @options.json_output
    def command(workers: int | None, as_json: bool) -> None: ...

`--json` prints one JSON object on stdout (logs stay on stderr); `--workers` is the number of
worker processes, the number of CPU cores when not given (`resolve_workers`), 1 meaning "in this
process"; `--resume` completes a partial run in its output folder; `--seed` is 0 unless given.

Factories declare the kinds of option that recur with a command's own name and help: a number
(`positive_int`, `positive_float`), a file (`file_option`; `out_file` for ``--out``, `catalog`
for ``--catalog``). `combine` makes one decorator of several, for a block of options that
commands share (`medscale.cli._engine_options.executor_options`) or that a command passes on
to one library function by name (``triage``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

json_output = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (logs on stderr)."
)

workers = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of CPU cores; 1 = run in this process).",
)

resume = click.option(
    "--resume",
    is_flag=True,
    help="Complete a partial run in its output folder (finished items are skipped).",
)


def seed(help: str | None = None) -> Decorator:
    """``--seed``: an integer, 0 unless given; `help` says what it seeds."""
    return click.option("--seed", type=int, default=0, show_default=True, help=help)


def positive_int(name: str, *, default: int | None, help: str, **attributes: Any) -> Decorator:
    """An integer option of at least 1 (its default, when it has one, shown in ``--help``)."""
    return click.option(
        name,
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help=help,
        **attributes,
    )


def positive_float(name: str, *, default: float | None, help: str) -> Decorator:
    """A number option greater than 0 (its default, when it has one, shown in ``--help``)."""
    positive = click.FloatRange(min=0, min_open=True)
    return click.option(name, type=positive, default=default, show_default=True, help=help)


def file_option(*names: str, help: str, exists: bool = False, **attributes: Any) -> Decorator:
    """An option naming one file, not a folder (with `exists`, a file that must exist);
    `names` and `attributes` as for `click.option`."""
    path = click.Path(exists=exists, dir_okay=False)
    return click.option(*names, type=path, help=help, **attributes)


def out_file(help: str, *, required: bool = True) -> Decorator:
    """``--out``: the file a command writes."""
    return file_option("--out", required=required, help=help)


def catalog(help: str) -> Decorator:
    """``--catalog`` (required): the Parquet catalog of `medscale scan`, as ``catalog_path``."""
    return file_option("--catalog", "catalog_path", required=True, help=help)


def combine(*decorators: Decorator) -> Decorator:
    """One decorator that adds `decorators` to a command, in the order listed (the order of
    ``--help``)."""

    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return add


def renamed(old: str, new: str, **attributes: Any) -> Any:
    """A hidden option `old` (e.g. ``--label``), the deprecated spelling of `new`: its value
    arrives under the parameter name ``old_<name>``; pass it through `take_renamed`."""
    name = "old_" + old.lstrip("-").replace("-", "_")
    return click.option(old, name, hidden=True, help=f"Deprecated: use {new}.", **attributes)


def take_renamed(new_value: Any, old_value: Any, *, old: str, new: str) -> Any:
    """The value of option `new`, or of its deprecated spelling `old` when that was given
    (with a `MedscaleDeprecationWarning` naming `new`); both given is a usage error."""
    from medscale.errors import warn_renamed

    if old_value is None:
        return new_value
    if new_value is not None:
        raise click.UsageError(f"give {new} or its old spelling {old}, not both")
    warn_renamed(old, new, stacklevel=2)
    return old_value


def resolve_workers(value: int | None) -> int:
    """`--workers` as a number: the number of CPU cores when it was not given."""
    return value if value is not None else os.cpu_count() or 1


__all__ = [
    "catalog",
    "combine",
    "file_option",
    "json_output",
    "out_file",
    "positive_float",
    "positive_int",
    "renamed",
    "resolve_workers",
    "resume",
    "seed",
    "take_renamed",
    "workers",
]
