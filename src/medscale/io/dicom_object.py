"""Reading one DICOM object of a given kind (RTSTRUCT, SEG, SR) with a one-line error.

A file that pydicom cannot read, or that lacks the sequence its kind is defined by (PS3.3:
StructureSetROISequence for RTSTRUCT, SegmentSequence for SEG, ContentSequence for SR), is a
`medscale.errors.DicomError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medscale.errors import DicomError


def read_object(path: Path, *, kind: str, sequence: str, pixels: bool = True) -> Any:
    """The pydicom dataset of `path`, checked to be a `kind` (it holds `sequence`).

    Parameters
    ----------
    path : pathlib.Path
        The DICOM file.
    kind : str
        What the file must be, as the error names it, with its article (``"an RTSTRUCT"``,
        ``"a DICOM SEG"``).
    sequence : str
        The keyword of the sequence every object of that kind has.
    pixels : bool, keyword-only
        Read the pixel data too (False stops before it), default True.

    Returns
    -------
    pydicom.Dataset

    Raises
    ------
    DicomError
        ``"<path>: not a readable DICOM file (<reason>)"`` or
        ``"<path>: not <kind> (no <sequence>), modality <Modality>"``.
    """
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=not pixels)
    except Exception as err:  # noqa: BLE001 - reworded with the file name
        raise DicomError(f"{path}: not a readable DICOM file ({err})") from err
    if sequence not in dataset:
        raise DicomError(
            f"{path}: not {kind} (no {sequence}), modality {dataset.get('Modality', 'unknown')}"
        )
    return dataset
