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
    help="Run folder: cohort, catalog, deid, run, model, worklist, triage, report.",
)
@click.option(
    "--cases",
    "n_cases",
    default=60,
    show_default=True,
    type=click.IntRange(16, 500),
    help="Number of synthetic cases (several may share a patient; 5-fold CV needs >= 16).",
)
@options.seed("Seed of the cohort.")
@options.workers
def command(out_dir: str, n_cases: int, seed: int, workers: int | None) -> None:
    """Run the whole pipeline on a built-in synthetic cohort, offline, and write report.html.

    Generates CT cases with lesion masks as DICOM + RTSTRUCT, scans them into a Parquet
    catalog, de-identifies and verifies a copy, extracts IBSI radiomics features with the
    batch engine, trains a model cross-validated by patient, triages its out-of-fold
    predictions, measures scanner utilisation and writes report.html. Prints the AUC (95 % CI)
    and the workload saved at 95 % sensitivity.
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
    if result.auc is not None:
        auc = result.auc
        click.echo(
            f"cross-validated AUC {auc['value']:.3f} "
            f"(95 % CI {auc['ci_low']:.3f}-{auc['ci_high']:.3f}), {n_cases} cases"
        )
    if result.cnn_auc is not None:
        auc = result.cnn_auc
        click.echo(
            f"small CNN on the images: validation AUC {auc['value']:.3f} "
            f"(95 % CI {auc['ci_low']:.3f}-{auc['ci_high']:.3f})"
        )
    elif not (result.out_dir / "cnn").exists():
        click.echo("small CNN on the images: skipped (it needs the 'dl' extra: PyTorch + MONAI)")
    if result.workload:
        w = result.workload
        click.echo(
            f"workload saved at sensitivity {100 * w['sensitivity']:g} %: "
            f"{100 * w['saved']:.1f} % (95 % CI {100 * w['ci_low']:.1f}-{100 * w['ci_high']:.1f} %)"
        )
    steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in result.timings.items())
    click.echo(f"report: {result.report}  (run folder {result.out_dir})")
    click.echo(f"{total:.1f} s in all; seconds per step: {steps}")
