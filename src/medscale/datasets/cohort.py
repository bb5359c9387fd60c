"""Cohorts of synthetic cases: lazy generation and writing to disk with a manifest.

`write_cohort` lays the files out as::

    OUT_DIR/manifest.csv
    OUT_DIR/<case_id>/image.nii.gz + mask.nii.gz            fmt="nifti"
    OUT_DIR/<case_id>/image/slice_0000.dcm ... + rtstruct.dcm   fmt="dicom", CT
    OUT_DIR/<case_id>/image.dcm + mask.nii.gz                fmt="dicom", X-ray (CR)
    OUT_DIR/<case_id>/image.png + mask.png                   fmt="png", X-ray only

The manifest has the columns ``case_id, image, mask, label, patient_id, site, modality``;
``image`` and ``mask`` are **absolute** paths (for DICOM CT, ``image`` is the series folder and
``mask`` the RTSTRUCT file, ROI ``"lesion"``).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from medscale.datasets.case import SyntheticCase
from medscale.errors import ConfigError

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("case_id", "image", "mask", "label", "patient_id", "site", "modality")
FORMATS = ("nifti", "dicom", "png")


def generate_cohort(
    n_cases: int, *, kind: str = "ct", seed: int = 0, **kwargs: Any
) -> Iterator[SyntheticCase]:
    """Yield `n_cases` synthetic cases 0 .. n_cases - 1, one at a time (lazy, deterministic).

    Parameters
    ----------
    n_cases : int
        Number of cases, >= 0.
    kind : {"ct", "xray"}
        Which generator: `generate_ct_case` or `generate_xray_case`.
    seed : int
        Cohort seed; case ``i`` equals ``generate_<kind>_case(i, seed=seed, **kwargs)``.
    **kwargs
        Passed to the generator (``shape``, ``spacing_mm``, ``n_sites``).

    Raises
    ------
    ConfigError
        Unknown `kind` or negative `n_cases` (raised at the call, before any case is made).

    Examples
    --------
    >>> [case.case_id for case in generate_cohort(2, seed=3)]
    ['case_00000', 'case_00001']
    """
    from medscale.datasets.ct import generate_ct_case
    from medscale.datasets.xray import generate_xray_case

    generators: dict[str, Callable[..., SyntheticCase]] = {
        "ct": generate_ct_case,
        "xray": generate_xray_case,
    }
    if kind not in generators:
        raise ConfigError(f"unknown cohort kind {kind!r}; choose one of {sorted(generators)}")
    if int(n_cases) != n_cases or n_cases < 0:
        raise ConfigError(f"n_cases must be a non-negative integer, got {n_cases!r}")
    generator = generators[kind]
    return (generator(index, seed=seed, **kwargs) for index in range(int(n_cases)))


def _write_png(array: np.ndarray, path: Path) -> Path:
    from PIL import Image as PilImage

    if array.dtype != np.uint16:
        array = array.astype(np.uint8)
    PilImage.fromarray(np.ascontiguousarray(array)).save(path)  # uint16 -> 16-bit grey PNG
    return path


def _write_case(case: SyntheticCase, folder: Path, fmt: str) -> tuple[Path, Path]:
    """Write one case; return (image path, mask path)."""
    from medscale.io.formats import write_image

    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "nifti":
        return (
            write_image(case.image, folder / "image.nii.gz"),
            write_image(case.mask.astype(np.uint8), folder / "mask.nii.gz"),
        )
    if fmt == "png":
        if not case.image.is_2d:
            raise ConfigError(
                f"case {case.case_id}: fmt='png' is for 2-D (X-ray) cases; "
                "use 'nifti' or 'dicom' for CT"
            )
        return (
            _write_png(case.image.array[0], folder / "image.png"),
            _write_png(case.mask.array[0].astype(np.uint8) * 255, folder / "mask.png"),
        )
    from medscale.io.dicom_write import write_dicom_image, write_dicom_series, write_rtstruct

    if case.image.is_2d:
        return (
            write_dicom_image(case.image, folder / "image.dcm", header=case.header),
            write_image(case.mask.astype(np.uint8), folder / "mask.nii.gz"),
        )
    files = write_dicom_series(
        case.image,
        folder / "image",
        header=case.header,
        per_slice=_slice_times(case.header, case.image.shape[0]),
    )
    return folder / "image", write_rtstruct(case.mask, files, folder / "rtstruct.dcm")


def _slice_times(header: dict, n_slices: int) -> dict[str, list[str]]:
    """Per-slice ``AcquisitionDateTime``, evenly over the header's ``AcquisitionDuration``.

    A scan takes minutes, and the catalog's scanner busy time is the span from a study's
    first to its last acquisition: slices that all carried the same instant would make every
    study last zero minutes.
    """
    start, seconds = header.get("AcquisitionDateTime"), header.get("AcquisitionDuration")
    if not start or not seconds or n_slices < 2:
        return {}
    first = dt.datetime.strptime(str(start), "%Y%m%d%H%M%S")
    step = float(seconds) / (n_slices - 1)
    return {
        "AcquisitionDateTime": [
            (first + dt.timedelta(seconds=round(k * step))).strftime("%Y%m%d%H%M%S")
            for k in range(n_slices)
        ]
    }


def write_cohort(
    cases: Iterable[SyntheticCase], out_dir: str | Path, *, fmt: str = "nifti"
) -> Path:
    """Write cases to `out_dir` (layout in the module notes) and return ``manifest.csv``'s path.

    Parameters
    ----------
    cases : iterable of SyntheticCase
        E.g. ``generate_cohort(20)``; consumed one case at a time.
    out_dir : path
        Created if needed; files of the same names are overwritten.
    fmt : {"nifti", "dicom", "png"}
        NIfTI image + mask; DICOM series + RTSTRUCT (CT) or CR file + NIfTI mask (X-ray);
        PNG (X-ray only; uint16 image, mask 0/255).

    Returns
    -------
    Path
        ``out_dir/manifest.csv``, with absolute ``image`` / ``mask`` paths.

    Raises
    ------
    ConfigError
        Unknown `fmt`, a repeated case id, or PNG for a 3-D case.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown cohort format {fmt!r}; choose one of {list(FORMATS)}")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / "manifest.csv"
    seen: set[str] = set()
    rows = []
    for case in cases:
        if case.case_id in seen:
            raise ConfigError(f"case id {case.case_id!r} occurs twice; case ids must be unique")
        seen.add(case.case_id)
        image_path, mask_path = _write_case(case, out_dir / case.case_id, fmt)
        rows.append(
            {
                "case_id": case.case_id,
                "image": str(Path(image_path).resolve()),
                "mask": str(Path(mask_path).resolve()),
                "label": case.label,
                "patient_id": case.patient_id,
                "site": case.site,
                "modality": case.header.get("Modality", ""),
            }
        )
        log.debug("wrote case %s", case.case_id)
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    log.info("wrote %d cases (%s) and %s", len(rows), fmt, manifest)
    return manifest
