"""`medscale filter IMAGE --filter SPEC --out RESPONSE.nii.gz`."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(
    epilog="Example: medscale filter ct.nii.gz --filter log:sigma_mm=1.5,boundary=mirror "
    "--out ct_log.nii.gz"
)
@click.argument("image", type=click.Path(exists=True))
@click.option(
    "--filter",
    "spec",
    required=True,
    metavar="KIND[:k=v,...]",
    help="mean, log, laws, gabor, wavelet or simoncelli with its parameters, "
    "e.g. wavelet:name=db3,level=1,band=LHL,rot_inv=true.",
)
@options.out_file("Response map.")
def command(image: str, spec: str, out: str) -> None:
    """Apply an IBSI-2 convolutional filter; the response (float32) keeps the image's grid.

    A decimated wavelet (decimated=true) is written on its coarser grid: the spacing doubles
    per level on the filtered axes, the origin is the first coefficient's centre.

    Boundaries: zero, nearest, periodic, mirror. Sizes in mm (sigma_mm, wavelength_mm),
    supports in voxels; wavelet bands and Riesz orders read x, y, z.
    """
    import numpy as np

    from medscale.errors import ConfigError
    from medscale.features.filters.spec import apply_filter, parse_filter_spec
    from medscale.features.filters.wavelet import decimated_grid
    from medscale.image import Image
    from medscale.io import read_image, write_image

    try:
        parsed = parse_filter_spec(spec)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--filter") from err
    source = read_image(image)
    try:
        response = apply_filter(source.array, tuple(source.spacing), parsed)
    except ConfigError as err:
        raise ConfigError(f"{image}: {err}") from err
    if parsed.kind == "wavelet" and parsed.params["decimated"]:
        spacing, first = decimated_grid(
            tuple(source.spacing),
            name=parsed.params["name"],
            level=parsed.params["level"],
            two_d=parsed.params["dims"] == 2,
        )
        origin = source.index_to_world(first)
        result = Image(
            response.astype(np.float32),
            spacing,
            (float(origin[0]), float(origin[1]), float(origin[2])),
            source.direction,
        )
    else:
        result = source.with_array(response.astype(np.float32))
    write_image(result, out)
    click.echo(f"{out}: {parsed.kind} response, shape {response.shape} (z, y, x)", err=True)
