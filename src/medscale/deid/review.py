"""Burned-in text risk: images whose pixels may show names or dates, to review by eye.

The Basic Profile cleans attributes, not pixels (the Clean Pixel Data Option, PS3.15 E.3.1,
is not implemented). Images likely to carry burned-in text are flagged rather than passed
silently: Burned In Annotation (0028,0301) = YES, Recognizable Visual Features (0028,0302) =
YES, secondary captures, ultrasound, and photographic modalities.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

_SECONDARY_CAPTURE_ROOT = "1.2.840.10008.5.1.4.1.1.7"
_ULTRASOUND_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image Storage
    "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume Storage
    "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image Storage
    "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound Image Storage (retired)
    "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame Image Storage (retired)
}
_PHOTOGRAPHIC_MODALITIES = {"XC", "ES", "GM", "SM", "OT", "DOC"}


def review_reasons(dataset: Dataset) -> tuple[str, ...]:
    """Why this data set's pixels may hold identifying text or features (empty if none).

    Parameters
    ----------
    dataset : pydicom.Dataset
        The original (not yet de-identified) data set.

    Returns
    -------
    tuple of str
        Short reasons, e.g. ``("burned_in_annotation", "ultrasound")``.
    """
    if "PixelData" not in dataset and "FloatPixelData" not in dataset:
        return ()
    reasons = []
    if str(dataset.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        reasons.append("burned_in_annotation")
    if str(dataset.get("RecognizableVisualFeatures", "")).strip().upper() == "YES":
        reasons.append("recognizable_visual_features")
    sop_class = str(dataset.get("SOPClassUID", "")).strip()
    modality = str(dataset.get("Modality", "")).strip().upper()
    if sop_class.startswith(_SECONDARY_CAPTURE_ROOT):
        reasons.append("secondary_capture")
    if sop_class in _ULTRASOUND_CLASSES or modality in {"US", "IVUS"}:
        reasons.append("ultrasound")
    if modality in _PHOTOGRAPHIC_MODALITIES:
        reasons.append(f"modality_{modality.lower()}")
    return tuple(reasons)
