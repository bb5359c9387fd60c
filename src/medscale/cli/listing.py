"""What ``--list`` prints for the commands built on a `medscale.params.Registry`
(``medscale preprocess --list``, ``medscale segment --list``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from medscale.params import Registry


def echo_operations(registry: Registry, *, width: int, none: str) -> None:
    """Each operation of `registry`: its name (in `width` columns) and summary, then its
    parameters with their defaults (`none` when it has none), for ``--list``."""
    for name in registry.names():
        operation = registry.get(name)
        params = ", ".join(
            f"{key}={param.default!r}" for key, param in operation.parameters.items()
        )
        click.echo(f"{name:{width}s} {operation.summary}\n{'':{width}s} ({params or none})")
