"""The options several commands share, declared once: one name, default and help everywhere.

Use them as decorators::

    @click.command()
    @options.workers
    @options.json_output
    def command(workers: int | None, as_json: bool) -> None: ...

`--json` prints one JSON object on stdout (logs stay on stderr); `--workers` is the number of
worker processes, the number of CPU cores when not given (`resolve_workers`), 1 meaning "in this
process"; `--resume` completes a partial run in its output folder.
"""

from __future__ import annotations

import os
from typing import Any

import click

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


__all__ = ["json_output", "renamed", "resolve_workers", "resume", "take_renamed", "workers"]
