"""`medscale extract IMAGE MASK [--config PRESET|YAML] [--out FILE]` and `--manifest` batches."""

from __future__ import annotations

from typing import Any

import click

from medscale.cli import options
from medscale.cli._engine_options import executor_options


def _write_row(row: dict, out: str) -> None:
    import pandas as pd

    from medscale.errors import InputError

    frame = pd.DataFrame([row])
    if out.endswith(".csv"):
        frame.to_csv(out, index=False)
    elif out.endswith(".parquet"):
        frame.to_parquet(out, index=False)
    elif out.endswith(".json"):
        with open(out, "w") as handle:
            handle.write(_json(row))
    else:
        raise InputError(f"{out}: --out must end in .csv, .parquet, .json (or .dcm: DICOM SR)")


def _write_report(features: dict, image: str, mask: str, out: str) -> None:
    """`--out F.dcm`: a TID 1500 DICOM SR referencing the DICOM series IMAGE (and MASK when it
    is a DICOM SEG)."""
    from pathlib import Path

    from medscale.errors import InputError
    from medscale.features.ibsi_codes import ibsi_codes
    from medscale.io.formats import is_dicom
    from medscale.io.seg import is_seg
    from medscale.io.sr import write_feature_report

    if not (Path(image).is_dir() or is_dicom(Path(image))):
        raise InputError(f"{out}: a DICOM SR (.dcm) needs a DICOM IMAGE to reference, got {image}")
    seg = mask if is_seg(mask) else None
    write_feature_report(features, ibsi_codes(features), image, out, seg=seg)


def _json(row: dict) -> str:
    import json
    import math

    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }
    return json.dumps(clean)


def _run_manifest(
    manifest: str, out: str | None, config: str, mask_label: int | None, **executor: Any
) -> int:
    from medscale.cli._engine_options import run_with_progress
    from medscale.engine.driver import RunSpec
    from medscale.engine.stages import StageSettings
    from medscale.features.settings import load_settings

    if out is None:
        raise click.UsageError("--manifest needs --out RUN_DIR")
    settings = load_settings(config).to_dict()
    as_json = bool(executor.pop("as_json"))
    spec = RunSpec(
        manifest=manifest,
        out_dir=out,
        stage_settings=StageSettings(config=settings, mask_label=mask_label),
        **executor,
    )  # type: ignore[arg-type]
    return run_with_progress(spec, as_json=as_json)


@click.command(
    epilog="Example: medscale extract ct.nii.gz gtv.nii.gz --config ibsi1-c --out features.csv"
)
@click.argument("image", required=False, type=click.Path(exists=True))
@click.argument("mask", required=False, type=click.Path(exists=True))
@click.option(
    "--config",
    "config",
    default="default",
    show_default=True,
    help="Preset (default, default-2d, ibsi1-dig, ibsi1-a ... ibsi1-e, ibsi2-1a ... ibsi2-9b, "
    "filters-default) or a settings YAML file; default switches to default-2d for a one-slice "
    "image.",
)
@click.option(
    "--mask-label",
    type=int,
    default=None,
    help="Label value of the ROI in a label-map mask (default: every non-zero voxel).",
)
@options.renamed("--label", "--mask-label", type=int, default=None)
@click.option("--roi", default=None, help="ROI name, when MASK is a DICOM RTSTRUCT or SEG.")
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=True),
    help="Output FILE.csv|.parquet|.json (one row), or FILE.dcm: a DICOM SR (TID 1500) "
    "referencing the DICOM IMAGE (and MASK when a SEG); with --manifest, the RUN_DIR.",
)
@click.option(
    "--names",
    type=click.Choice(["ibsi", "pyradiomics"]),
    default="ibsi",
    show_default=True,
    help="Feature ids: IBSI ids, or pyradiomics names (original_firstorder_Mean ...) "
    "for the features pyradiomics defines the same way (single case only).",
)
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Batch mode: a CSV/Parquet manifest of cases (case_id, image, mask).",
)
@executor_options
def command(
    image: str | None,
    mask: str | None,
    config: str,
    mask_label: int | None,
    old_label: int | None,
    roi: str | None,
    out: str | None,
    names: str,
    manifest: str | None,
    **executor: Any,
) -> int:
    """Extract IBSI radiomics features of one ROI (or of every case of a manifest).

    Without --out, prints one JSON object (case_id and every feature) on stdout.
    A 2-D image (one slice) with the default preset gets 2-D shape and texture (default-2d).
    With --manifest, runs the batch engine (local processes, or Dask with --scheduler /
    --dask-local) and writes RUN_DIR: features.parquet, failures.parquet, settings.yaml,
    summary.json and run.log; --resume finishes an interrupted run.
    """
    mask_label = options.take_renamed(mask_label, old_label, old="--label", new="--mask-label")
    if manifest is not None:
        if image is not None:
            raise click.UsageError("give either IMAGE MASK or --manifest, not both")
        if names != "ibsi":
            raise click.UsageError(
                "--names pyradiomics is for one case (IMAGE MASK); batch "
                "runs write IBSI ids (rename with medscale.features."
                "pyradiomics_names.to_pyradiomics)"
            )
        return _run_manifest(manifest, out, config, mask_label, **executor)
    if image is None or mask is None:
        raise click.UsageError("IMAGE and MASK are required (or --manifest CASES.csv)")
    from pathlib import Path

    from medscale.features.pyradiomics_names import rename
    from medscale.features.settings import load_settings
    from medscale.features.transformer import extract_case

    settings = load_settings(config)
    features = rename(extract_case(image, mask, settings, mask_label=mask_label, roi=roi), names)
    name = Path(image).name
    case_id = name.split(".")[0] if name else str(image)
    row = {"case_id": case_id, **features}
    if out is None:
        click.echo(_json(row))
        return 0
    if out.lower().endswith(".dcm"):
        _write_report(features, image, mask, out)
    else:
        _write_row(row, out)
    click.echo(f"{len(features)} features -> {out}", err=True)
    return 0
