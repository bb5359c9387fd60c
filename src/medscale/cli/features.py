"""`medscale features --list [--json]`: the feature table with IBSI codes."""

from __future__ import annotations

import click

from medscale.cli import options

_NOT_IBSI = "- (not IBSI)"  # shown for features IBSI does not standardise (morph_2d_*)


@click.command(epilog="Example: medscale features --list --json")
@click.option(
    "--list",
    "list_features",
    is_flag=True,
    help="List every feature: name, family, IBSI code, definition.",
)
@options.json_output
@click.option("--family", default=None, help="Only this family (e.g. glcm).")
def command(list_features: bool, as_json: bool, family: str | None) -> None:
    """List the radiomics features medscale computes, with their IBSI codes.

    Features that IBSI does not standardise (the 2-D shape family morph_2d_*) have no code:
    "- (not IBSI)" in the table, "ibsi_code": "" and "ibsi_standardised": false in JSON.
    """
    import json

    from medscale.errors import ConfigError
    from medscale.features.registry import all_features, family_names

    if family is not None and family not in family_names():
        raise ConfigError(f"unknown family {family!r}; families: {', '.join(family_names())}")
    if not list_features:
        raise click.UsageError("nothing to do: use --list (and --json)")
    rows = [info for info in all_features() if family is None or info.family == family]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "features": [
                        {
                            "name": i.name,
                            "family": i.family,
                            "ibsi_code": i.ibsi_code,
                            "ibsi_standardised": bool(i.ibsi_code),
                            "definition": i.definition,
                        }
                        for i in rows
                    ]
                }
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "family", "IBSI", "definition", title=f"{len(rows)} features")
    for info in rows:
        table.add_row(info.name, info.family, info.ibsi_code or _NOT_IBSI, info.definition)
    Console(width=160).print(table)
