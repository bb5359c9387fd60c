"""`medscale scan DIR --catalog OUT.parquet [--update] [--workers N] [--json]`.

`medscale scan --pacs --catalog OUT.parquet [--protocol dicomweb|dimse] [--patient-id ID]
[--modality CT] [--study-date A-B]` builds the same catalog from an instance-level PACS query
(QIDO-RS instances, or C-FIND IMAGE level per study) instead of a folder: the columns the PACS
returns are filled, and ``path`` is the instance's WADO-RS URL (DICOMweb) or
``pacs:<SOPInstanceUID>`` (DIMSE).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from medscale.cli import options


@click.command(epilog="Example: medscale scan /data/archive --catalog archive.parquet --workers 4")
@click.argument("root", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--pacs", is_flag=True, help="Query the PACS (MEDSCALE_PACS_*) instead of ROOT.")
@click.option(
    "--protocol",
    type=click.Choice(["dicomweb", "dimse"]),
    default="dicomweb",
    show_default=True,
    help="With --pacs: QIDO-RS or C-FIND.",
)
@click.option("--patient-id", help="With --pacs: match this PatientID.")
@click.option("--modality", help="With --pacs: instances of this modality.")
@click.option("--study-date", help="With --pacs: YYYYMMDD or YYYYMMDD-YYYYMMDD.")
@options.catalog("Parquet file to write; unreadable files go to <stem>_errors.parquet.")
@click.option(
    "--update",
    is_flag=True,
    help="Re-read only new or changed files (size, mtime); drop deleted ones.",
)
@options.workers
@options.positive_int("--row-group-size", default=8192, help="Rows per Parquet row group.")
@options.json_output
def command(
    root: str | None,
    pacs: bool,
    protocol: str,
    patient_id: str | None,
    modality: str | None,
    study_date: str | None,
    catalog_path: str,
    update: bool,
    workers: int | None,
    row_group_size: int,
    as_json: bool,
) -> None:
    """Index every file under ROOT into a Parquet catalog, reading DICOM headers only.

    One row per DICOM instance (UIDs, patient, modality, device, dates, geometry, transfer
    syntax); files that are not DICOM or are truncated are listed with the reason in the
    errors table. Query the result with `medscale catalog query`. With --pacs, the rows come
    from an instance-level query of the PACS named by MEDSCALE_PACS_* (path = the instance's
    WADO-RS URL, or pacs:<SOPInstanceUID> with DIMSE).
    """
    if pacs == (root is not None):
        raise click.UsageError("give either ROOT or --pacs")
    if pacs:
        if update:
            raise click.UsageError("--update is for folder scans")
        _scan_pacs(catalog_path, protocol, patient_id, modality, study_date, as_json)
        return
    assert root is not None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from medscale.catalog import scan, summary

    console = Console(stderr=True)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not sys.stderr.isatty()
    ) as bar:
        task = bar.add_task("reading headers", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = scan(
            root,
            catalog_path,
            update=update,
            workers=workers,
            row_group_size=row_group_size,
            progress=progress,
        )
    totals = summary(result.catalog_path)["totals"]
    report = {
        **result.to_dict(),
        "series": totals["series"],
        "studies": totals["studies"],
        "patients": totals["patients"],
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    if result.n_files == 0:
        click.echo(f"No files found under {root}; wrote an empty catalog to {result.catalog_path}.")
        return
    click.echo(
        f"{result.n_files} files ({result.read_count} read, {result.reused_count} "
        f"unchanged) in {result.seconds:.2f} s, {result.files_per_second:.0f} files/s"
    )
    click.echo(
        f"{result.n_instances} instances in {totals['series']} series, "
        f"{totals['studies']} studies, {totals['patients']} patients -> "
        f"{result.catalog_path}"
    )
    if result.n_errors:
        from medscale.catalog import query

        click.echo(f"{result.n_errors} unreadable files -> {result.errors_path}")
        first = query(result.catalog_path, "SELECT path, reason FROM errors ORDER BY path LIMIT 5")
        for path, reason in first.itertuples(index=False):
            click.echo(f"  {path}: {reason}", err=True)
    else:
        click.echo("0 unreadable files")


def _scan_pacs(
    catalog_path: str,
    protocol: str,
    patient_id: str | None,
    modality: str | None,
    study_date: str | None,
    as_json: bool,
) -> None:
    from pydicom.datadict import keyword_for_tag

    from medscale.catalog import summary
    from medscale.catalog.remote import catalog_from_datasets
    from medscale.catalog.schema import TAGS
    from medscale.pacs import DicomWebClient, DimseClient, PacsConfig, StudyQuery

    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    query = StudyQuery(patient_id=patient_id, modality=modality, study_date=study_date)
    fields = sorted({keyword_for_tag(tag) for tag in TAGS} - {""})
    config = PacsConfig.from_env()
    client: Any = DicomWebClient(config) if protocol == "dicomweb" else DimseClient(config)
    datasets = client.find_instances(query, fields)

    def reference(dataset: Any) -> str:
        if protocol == "dicomweb":
            return str(client.wado_url(dataset))
        return f"pacs:{dataset.SOPInstanceUID}"

    result = catalog_from_datasets(datasets, catalog_path, reference)
    totals = summary(result.catalog_path)["totals"]
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "series": totals["series"]}))
        return
    click.echo(
        f"{result.n_instances} instances in {totals['series']} series, "
        f"{totals['studies']} studies, {totals['patients']} patients -> {result.catalog_path}"
    )
