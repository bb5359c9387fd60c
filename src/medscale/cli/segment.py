"""`medscale segment IMAGE --method NAME [--param k=v] --out MASK [--truth MASK] [--json]`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from medscale.cli import options

if TYPE_CHECKING:
    from medscale.image import Mask


@click.command(
    epilog="Example: medscale segment ct.nii.gz --method region_growing "
    "--param seed=20,48,60 --out lesion.nii.gz --truth truth.nii.gz --json"
)
@click.argument("image", type=click.Path(exists=True), required=False)
@click.option(
    "--method",
    metavar="NAME[:k=v,...]",
    help="Method name (snake_case), e.g. otsu, kmeans, region_growing; parameters may follow "
    "as for a preprocess --step (otsu:n_bins=64), or be given with --param.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A method parameter, repeatable; seed=Z,Y,X and box=Z0,Y0,X0,Z1,Y1,X1 "
    "are voxel indices (upper bounds exclusive).",
)
@options.out_file(
    "Output mask (.nii.gz, .nrrd; .dcm: a DICOM SEG, when IMAGE is a DICOM series).",
    required=False,
)
@click.option(
    "--truth",
    type=click.Path(exists=True),
    help="Ground-truth mask: print Dice, Jaccard, HD95, ASSD, volume difference.",
)
@options.json_output
@click.option("--list", "list_methods", is_flag=True, help="List the methods and parameters.")
def command(
    image: str | None,
    method: str | None,
    params: tuple[str, ...],
    out: str | None,
    truth: str | None,
    as_json: bool,
    list_methods: bool,
) -> None:
    """Segment an image and, given a truth mask, score the result.

    Distances are in mm and volumes in ml. Seeded methods (region_growing, watershed,
    confidence_connected, geodesic_active_contour) need --param seed=Z,Y,X; with only a seed,
    region growing takes its thresholds from the statistics around the seed.
    """
    import json
    import math
    import warnings

    from medscale.errors import ConfigError, MedscaleDeprecationWarning
    from medscale.segment import METHODS, evaluate, segment

    if list_methods:
        from medscale.cli.listing import echo_operations

        echo_operations(METHODS, width=24, none="-")
        return
    if image is None or method is None or out is None:
        raise click.UsageError("give IMAGE, --method and --out (or --list)")
    values: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        values[key.strip()] = value.strip()
    from medscale.params import parse_spec

    try:
        name, inline = parse_spec(method)
        both = sorted(set(inline) & set(values))
        if both:
            raise ConfigError(f"{name}: {both} given both in --method and as --param")
        values = {**inline, **values}
        method = name
        with warnings.catch_warnings():  # an old parameter name warns once, in `segment`
            warnings.simplefilter("ignore", MedscaleDeprecationWarning)
            METHODS.get(method).coerce(
                {k: v for k, v in values.items() if k not in ("seed", "box")}
            )
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--method/--param") from err

    from medscale.io import read_image, read_mask, write_image
    from medscale.params import MissingParameterError

    source = read_image(image)
    try:
        mask = segment(source, method, **values)
    except MissingParameterError as err:  # say how to give it on this command line
        raise ConfigError(
            f"{err.operation}: parameter {err.parameter!r} is required ({err.what}): "
            f"give --param {err.parameter}={err.example}"
        ) from err
    if out.lower().endswith(".dcm"):
        _write_seg(mask, image, out)
    else:
        write_image(mask, out)
    click.echo(
        f"{out}: {mask.voxel_count} voxels, "
        f"{mask.voxel_count * mask.voxel_volume_mm3 / 1000:.3f} ml",
        err=True,
    )
    if truth is None:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "voxels": mask.voxel_count,
                        "volume_ml": mask.voxel_count * mask.voxel_volume_mm3 / 1000,
                    }
                )
            )
        return
    scores = evaluate(mask, read_mask(truth, reference=source))  # (an RTSTRUCT or SEG needs it)
    if as_json:
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in scores.items()
        }
        click.echo(json.dumps(clean))
        return
    units = {"hd95_mm": " mm", "assd_mm": " mm", "volume_difference_ml": " ml"}
    for key, score in scores.items():
        click.echo(f"{key:22s} {score:.4f}{units.get(key, '')}")


def _write_seg(mask: Mask, image: str, out: str) -> None:
    """`--out MASK.dcm`: a DICOM SEG referencing the DICOM series IMAGE."""
    from pathlib import Path

    from medscale.errors import InputError
    from medscale.io.formats import is_dicom
    from medscale.io.seg_write import write_seg

    if not (Path(image).is_dir() or is_dicom(Path(image))):
        raise InputError(f"{out}: a DICOM SEG (.dcm) needs a DICOM IMAGE to reference, got {image}")
    write_seg(mask, image, out, label="medscale")
