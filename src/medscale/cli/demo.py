"""`medscale demo [--out DIR]`."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(epilog="Example: medscale demo --out demo-output")
@click.option(
    "--out",
    "out_dir",
    default="demo-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the cohort, catalog and report.",
)
@click.option(
    "--cases",
    "n_cases",
    default=16,
    show_default=True,
    type=click.IntRange(4, 500),
    help="Number of synthetic cases.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the cohort.")
@options.workers
def command(out_dir: str, n_cases: int, seed: int, workers: int | None) -> None:
    """Run the whole pipeline on a built-in synthetic cohort, offline, and write report.html.

    Generates CT cases with lesion masks as DICOM + RTSTRUCT, scans them into a Parquet
    catalog, reads them back, extracts IBSI radiomics features and writes an HTML report.
    """
    from rich.console import Console

    from medscale.demo import run_demo

    console = Console(stderr=True)
    with console.status("medscale demo") as status:
        result = run_demo(
            out_dir,
            n_cases=n_cases,
            seed=seed,
            workers=workers,
            progress=lambda message: status.update(f"medscale demo: {message}"),
        )
    total = sum(result.timings.values())
    click.echo(f"report: {result.report}  (catalog {result.catalog}; {total:.1f} s)")
