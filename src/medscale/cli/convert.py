"""`medscale convert INPUT OUT.nii.gz|.nrrd`."""

from __future__ import annotations

import click


@click.command(epilog="Example: medscale convert dicom/series/ ct.nii.gz")
@click.argument("source", type=click.Path(exists=True))
@click.argument("target", type=click.Path(dir_okay=False))
def command(source: str, target: str) -> None:
    """Convert any readable image (DICOM file or series folder, NIfTI, NRRD, PNG) to NIfTI/NRRD.

    The geometry (spacing, origin, direction) is kept exactly.
    """
    from medscale.io import read_image, write_image

    image = read_image(source)
    write_image(image, target)
    click.echo(f"{target}: {image.shape[2]}x{image.shape[1]}x{image.shape[0]} voxels, "
               f"spacing {tuple(round(s, 4) for s in reversed(image.spacing))} mm (x, y, z)",
               err=True)
