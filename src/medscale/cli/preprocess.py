"""`medscale preprocess IMAGE --step NAME[:k=v,...] ... --out OUT`."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(
    epilog="Example: medscale preprocess ct.nii.gz --step gaussian:sigma_mm=1 "
    "--step window:preset=lung --out ct_lung.nii.gz"
)
@click.argument("image", type=click.Path(exists=True), required=False)
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="NAME[:k=v,...]",
    help="A step, repeatable, applied in order (e.g. median:size=3).",
)
@options.file_option(
    "--steps-file", exists=True, help="YAML list of steps, applied before any --step."
)
@options.renamed("--config", "--steps-file", type=click.Path(exists=True, dir_okay=False))
@options.out_file("Output image (.nii.gz, .nrrd).", required=False)
@click.option("--list", "list_steps", is_flag=True, help="List the steps and their parameters.")
def command(
    image: str | None,
    steps: tuple[str, ...],
    steps_file: str | None,
    old_config: str | None,
    out: str | None,
    list_steps: bool,
) -> None:
    """Apply a chain of preprocessing steps to an image; the geometry is kept.

    Steps: gaussian, median, bilateral, nlmeans, window, equalize, clahe, unsharp, erode,
    dilate, opening, closing, fill_holes, resample, zscore, minmax, percentile, n4.
    Sizes are in mm (sigma_mm, radius_mm, spacing_mm); vectors are comma-separated z,y,x.
    """
    from medscale.cli.listing import echo_operations
    from medscale.errors import ConfigError
    from medscale.preprocess import STEPS, Chain

    # --config names the feature settings (medscale extract); here it was the steps file
    steps_file = options.take_renamed(steps_file, old_config, old="--config", new="--steps-file")

    if list_steps:
        echo_operations(STEPS, width=12, none="no parameters")
        return
    if image is None or out is None:
        raise click.UsageError("give IMAGE and --out (or --list)")
    if not steps and steps_file is None:
        raise click.UsageError("give at least one --step or a --steps-file YAML")
    try:
        chain = Chain.from_specs(steps)
        if steps_file is not None:
            chain = Chain(Chain.from_yaml(steps_file).steps + chain.steps)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--step/--steps-file") from err

    from medscale.io import read_image, write_image

    result = chain(read_image(image))
    write_image(result, out)
    click.echo(
        f"{out}: {' -> '.join(chain.names)}; shape {result.shape} (z, y, x), dtype {result.dtype}",
        err=True,
    )
