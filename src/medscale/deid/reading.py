"""Reading DICOM files for de-identification: non-DICOM and truncated files are told apart.

pydicom reads a file cut short without complaint (the last value is simply shorter), so a
file is checked against its own declared lengths before anything is written from it.
"""

from __future__ import annotations

import io
import struct

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from medscale.errors import DicomError

_UNDEFINED = 0xFFFFFFFF
_ITEM = b"\xfe\xff\x00\xe0"
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_SEQUENCE_DELIMITER_BE = b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


class NotDicomError(DicomError):
    """The file is not a DICOM file (no DICM prefix, and no data set could be parsed)."""


class TruncatedDicomError(DicomError):
    """The file is DICOM but ends before its declared content."""


def read_dicom_bytes(data: bytes, *, name: str) -> Dataset:
    """Parse one DICOM file held in memory, checking that it is complete.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        How to name the file in errors (never the patient's data).

    Raises
    ------
    NotDicomError
        If the bytes are not DICOM.
    TruncatedDicomError
        If the file is DICOM but cut short or otherwise unreadable.
    """
    has_prefix = len(data) >= 132 and data[128:132] == b"DICM"
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=not has_prefix)
    except InvalidDicomError as err:
        raise NotDicomError(f"{name}: not a DICOM file ({err})") from err
    except Exception as err:  # noqa: BLE001 - pydicom raises many types on broken input
        if has_prefix:
            raise TruncatedDicomError(
                f"{name}: truncated or corrupt DICOM file ({type(err).__name__}: {err})"
            ) from err
        raise NotDicomError(f"{name}: not a DICOM file") from err
    if not has_prefix and not ("SOPClassUID" in dataset and "SOPInstanceUID" in dataset):
        raise NotDicomError(f"{name}: not a DICOM file (no DICM prefix and no SOP UIDs)")
    _check_complete(dataset, data, name=name)
    return dataset


def _check_complete(dataset: Dataset, data: bytes, *, name: str) -> None:
    little_endian = dataset.original_encoding[1] is not False
    delimiter = _SEQUENCE_DELIMITER if little_endian else _SEQUENCE_DELIMITER_BE
    for tag in dataset.keys():
        raw = dataset.get_item(tag)
        if not isinstance(raw, RawDataElement) or raw.value is None:
            continue
        if raw.length != _UNDEFINED and len(raw.value) < raw.length:
            raise TruncatedDicomError(
                f"{name}: truncated DICOM file: element {tag} declares "
                f"{raw.length} bytes, only {len(raw.value)} present"
            )
        if raw.length == _UNDEFINED:
            end = raw.value_tell + len(raw.value)
            if data[end : end + 8] != delimiter:
                raise TruncatedDicomError(
                    f"{name}: truncated DICOM file: element {tag} of "
                    "undefined length has no closing delimiter"
                )
            if int(tag) in _PIXEL_TAGS and little_endian:
                _check_items(raw.value, name=name)
    sop_class = UID(str(dataset.get("SOPClassUID", "")))
    is_image = sop_class.name.endswith("Image Storage") or "Rows" in dataset
    if is_image and not any(tag in dataset for tag in _PIXEL_TAGS):
        raise TruncatedDicomError(f"{name}: truncated DICOM file: an image without Pixel Data")


def _check_items(value: bytes, *, name: str) -> None:
    """Encapsulated Pixel Data: the items must fill the value exactly."""
    offset = 0
    while offset < len(value):
        if value[offset : offset + 4] != _ITEM or offset + 8 > len(value):
            raise TruncatedDicomError(f"{name}: truncated DICOM file: broken pixel data item")
        (length,) = struct.unpack_from("<I", value, offset + 4)
        offset += 8 + length
    if offset != len(value):
        raise TruncatedDicomError(f"{name}: truncated DICOM file: pixel data ends early")
