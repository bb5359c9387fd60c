"""`medscale report RUN_DIR --out report.html`: one self-contained HTML report of a run."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(epilog="Example: medscale report demo_out --out demo_out/report.html")
@click.argument("run_dir", type=click.Path(file_okay=False))
@options.out_file("HTML file to write (default RUN_DIR/report.html).", required=False)
@click.option("--title", default=None, help="Report title (default: the folder's name).")
def command(run_dir: str, out: str | None, title: str | None) -> None:
    """Write the HTML report of RUN_DIR: cohort, catalog, utilisation, images, features, model
    performance, triage and failures. Sections whose inputs are missing say what is missing."""
    from pathlib import Path

    from medscale.report import build_report

    target = build_report(run_dir, out or Path(run_dir) / "report.html", title=title)
    size_mb = target.stat().st_size / 1e6
    click.echo(f"report: {target} ({size_mb:.2f} MB)")
