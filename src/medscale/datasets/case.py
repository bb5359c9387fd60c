"""`SyntheticCase`: one generated case with its ground truth; what the CT and X-ray generators
share (grid check, smooth noise)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from medscale.errors import ConfigError
from medscale.image import Image, Mask

# Tissue classes of `SyntheticCase.tissue` (CT) or of the X-ray's label map.
TISSUE_CODES: dict[str, int] = {
    "air": 0,
    "fat": 1,
    "soft_tissue": 2,
    "lung": 3,
    "bone": 4,
    "vessel": 5,
    "lesion": 6,
}


@dataclass(frozen=True)
class SyntheticCase:
    """One synthetic case: image, ground-truth lesion mask, class label and header facts.

    Attributes
    ----------
    case_id : str
        Unique within a cohort, e.g. ``"case_00007"`` (``"xray_00007"`` for X-ray cases).
    patient_id : str
        Shared by the 1 to 3 cases of one patient.
    site : str
        Acquiring site, e.g. ``"SITE-B"``; the site sets intensity calibration and noise.
    label : int
        0 (smooth, homogeneous lesion) or 1 (lobulated/spiculated, heterogeneous), with overlap.
    image : Image
        CT: int16 HU, shape (z, y, x). X-ray: uint16 grey levels, shape (1, y, x).
    mask : Mask
        The lesion, on the image grid.
    header : dict
        DICOM-keyword facts (PatientName, StudyDate, Manufacturer, Modality, ...).
    tissue : Image or None
        uint8 tissue class per voxel (codes in `TISSUE_CODES`), before blur and noise.
    """

    case_id: str
    patient_id: str
    site: str
    label: int
    image: Image
    mask: Mask
    header: dict[str, object]
    tissue: Image | None = field(default=None, repr=False)


def check_grid(shape: tuple[int, ...], spacing_mm: tuple[float, ...], dim: int) -> None:
    """Refuse a generator grid that is not `dim`-D, has < 8 voxels on an axis or spacing <= 0."""
    if len(shape) != dim or len(spacing_mm) != dim:
        raise ConfigError(
            f"shape and spacing_mm need {dim} values each, got {shape!r} and {spacing_mm!r}"
        )
    if min(shape) < 8 or min(spacing_mm) <= 0:
        raise ConfigError(
            f"the grid needs at least 8 voxels per axis and positive spacing, got "
            f"shape {shape!r}, spacing {spacing_mm!r} mm"
        )


def smooth_unit_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sigma_voxels: list[float]
) -> np.ndarray:
    """Gaussian white noise smoothed by `sigma_voxels`, rescaled to unit standard deviation."""
    field = ndi.gaussian_filter(
        rng.standard_normal(shape, dtype=np.float32), sigma_voxels, truncate=3.0
    )
    return field / max(float(field.std()), 1e-6)
