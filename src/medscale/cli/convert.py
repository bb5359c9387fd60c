"""`medscale convert INPUT OUT.nii.gz|.nrrd`."""

from __future__ import annotations

import json

import click

from medscale.cli import options


@click.command(epilog="Example: medscale convert dicom/series/ ct.nii.gz --series-uid 1.2.840.1")
@click.argument("source", type=click.Path(exists=True))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option(
    "--series-uid",
    default=None,
    help="SeriesInstanceUID to read when a DICOM folder holds several series.",
)
@click.option(
    "--allow-uneven",
    is_flag=True,
    help="Read a DICOM series with missing or unevenly spaced slices (warns).",
)
@click.option(
    "--list-series",
    "list_only",
    is_flag=True,
    help="Only list the series of a DICOM folder (UID, modality, description, count).",
)
@options.json_output
def command(
    source: str,
    target: str,
    series_uid: str | None,
    allow_uneven: bool,
    list_only: bool,
    as_json: bool,
) -> None:
    """Convert any readable image (DICOM file or series folder, NIfTI, NRRD, PNG) to NIfTI/NRRD.

    The geometry (spacing, origin, direction) is kept exactly.
    """
    from pathlib import Path

    from medscale.io import dicom, read_image, write_image

    if list_only:
        found = dicom.list_series(source)
        rows = [
            {
                "series_uid": s.series_uid,
                "modality": s.modality,
                "description": s.description,
                "instances": s.n_instances,
            }
            for s in found
        ]
        if as_json:
            click.echo(json.dumps({"series": rows}))
        else:
            for row in rows:
                click.echo("\t".join(str(value) for value in row.values()))
        return
    if series_uid is not None or allow_uneven:
        image = dicom.read_dicom(source, series_uid=series_uid, allow_uneven=allow_uneven)
    else:
        image = read_image(source)
    written = write_image(image, target)
    summary = {
        "source": str(Path(source)),
        "target": str(written),
        "shape_zyx": list(image.shape),
        "spacing_zyx_mm": [round(s, 6) for s in image.spacing],
        "origin_lps_mm": [round(o, 6) for o in image.origin],
        "dtype": str(image.dtype),
        "modality": image.meta.get("modality", ""),
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"{written}: {image.shape[2]}x{image.shape[1]}x{image.shape[0]} voxels, "
            f"spacing {tuple(round(s, 4) for s in reversed(image.spacing))} mm (x, y, z)",
            err=True,
        )
