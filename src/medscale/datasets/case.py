"""`SyntheticCase`: one generated case with its ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

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
