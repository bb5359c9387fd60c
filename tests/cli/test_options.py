"""Shared options (`medscale.cli.options`): one name, type and default in every command."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from medscale.cli import options
from medscale.cli.main import SUBCOMMANDS

SHARED = ("--json", "--workers", "--resume", "--seed")


def _commands() -> dict[str, click.Command]:
    """Every command and group subcommand, by its command line (``deid run``)."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: str) -> None:
        found[path] = command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    for name, (module, _) in SUBCOMMANDS.items():
        walk(importlib.import_module(f"medscale.cli.{module}").command, name)
    return found


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_option_is_the_same_everywhere(flag):
    seen = {}
    for path, command in _commands().items():
        for param in command.params:
            if flag in getattr(param, "opts", ()):
                info = param.to_info_dict()
                seen[path] = (param.name, info["type"], param.default, info["help"])
    assert len(seen) >= 2, f"{flag} is not shared"
    names_types_defaults = {(name, str(kind), default) for name, kind, default, _ in seen.values()}
    assert len(names_types_defaults) == 1, f"{flag} differs between commands: {seen}"


def test_factories_keep_help_and_defaults():
    @click.command()
    @options.combine(
        options.positive_int("--rows", default=3, help="Rows."),
        options.positive_float("--rate", default=None, help="Rate."),
        options.out_file("Table to write.", required=False),
        options.seed("Seed of the noise."),
    )
    def command(rows: int, rate: float | None, out: str | None, seed: int) -> None:
        click.echo(f"{rows} {rate} {out} {seed}")

    runner = CliRunner()
    help_text = runner.invoke(command, ["--help"]).output
    assert help_text.index("--rows") < help_text.index("--rate") < help_text.index("--out")
    assert "[default: 3; x>=1]" in help_text and "[default: 0]" in help_text
    assert "Rate.  [x>0]" in help_text  # no default shown where there is none
    assert runner.invoke(command, []).output == "3 None None 0\n"
    assert runner.invoke(command, ["--rows", "0"]).exit_code == 2
    assert runner.invoke(command, ["--rate", "0"]).exit_code == 2
