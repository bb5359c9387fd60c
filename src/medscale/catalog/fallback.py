"""The general reader: pydicom, for the files the fast walker of :mod:`.header` hands over.

No preamble, big endian, deflated, enhanced multi-frame objects (geometry inside functional
groups), ``UN`` sequences, odd encodings. It applies the same completeness checks and returns
the same values as the fast walker.
"""

from __future__ import annotations

import logging
import struct
import warnings
from typing import Any

from medscale.catalog.completeness import (
    PIXEL_TAGS,
    UnreadableFileError,
    check_not_cut,
    check_pixel_data_fits,
)
from medscale.catalog.schema import META_TAGS, TAGS

logger = logging.getLogger(__name__)

_DEFLATED = "1.2.840.10008.1.2.1.99"


def read_with_pydicom(path: str, size: int) -> dict[str, Any]:
    """The general reader: pydicom, with the same checks and the same values.

    pydicom's warnings about odd encodings are logged at DEBUG, not shown.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = _read(path, size)
    for warning in caught:
        logger.debug("%s: %s", path, warning.message)
    return values


def _read(path: str, size: int) -> dict[str, Any]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with open(path, "rb") as handle:
            try:
                dataset = pydicom.dcmread(handle, stop_before_pixels=True)
            except InvalidDicomError as err:
                handle.seek(0)
                start = handle.read(8)
                if len(start) < 8 or start[:2] not in (b"\x08\x00", b"\x02\x00", b"\x00\x08"):
                    raise UnreadableFileError(
                        path,
                        "not_dicom",
                        "not a DICOM file (no DICM preamble, no recognisable first element)",
                    ) from err
                handle.seek(0)
                dataset = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
            stop = handle.tell()
            pixel_header = handle.read(12)
    except UnreadableFileError:
        raise
    except Exception as err:  # noqa: BLE001 - any parser failure is this file's error row
        kind = "truncated" if isinstance(err, EOFError) else "unreadable"
        raise UnreadableFileError(path, kind, f"{type(err).__name__}: {err}") from err
    values = dataset_values(dataset)
    if len(dataset) == 0 and not getattr(dataset, "file_meta", None):
        raise UnreadableFileError(path, "not_dicom", "no DICOM elements could be read")
    implicit, little = dataset.original_encoding
    if values.get("transfer_syntax_uid") == _DEFLATED:
        values["has_pixel_data"] = None  # deflated: unknown without inflating the whole file
        return values
    if len(pixel_header) >= 8 and little is not None:
        order = "<" if little else ">"
        group, element = struct.unpack(order + "HH", pixel_header[:4])
        if group << 16 | element in PIXEL_TAGS:
            # a VR after the tag (explicit), else the length (implicit, or a broken file)
            explicit_long = len(pixel_header) == 12 and pixel_header[4:6].isalpha()
            length = struct.unpack(
                order + "I", pixel_header[8:12] if explicit_long else pixel_header[4:8]
            )[0]
            header = 12 if explicit_long else 8
            check_pixel_data_fits(path, stop + header, length, size)
            values["has_pixel_data"] = True
            return values
    check_not_cut(values, path)
    values["has_pixel_data"] = False
    return values


def dataset_values(dataset: Any) -> dict[str, Any]:
    """The texts of :data:`TAGS` (and the functional-group fallbacks) from a pydicom dataset."""
    values: dict[str, Any] = {}
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        for tag, key in META_TAGS.items():
            values[key] = _text(meta, tag)
    for tag, (_vr, key) in TAGS.items():
        values[key] = _text(dataset, tag)
    shared = _first_item(dataset, 0x52009229)
    frame = _first_item(dataset, 0x52009230)
    fallbacks = {
        "_pixel_spacing": (0x00289110, 0x00280030),
        "slice_thickness_mm": (0x00289110, 0x00180050),
        "_orientation": (0x00209116, 0x00200037),
        "_position": (0x00209113, 0x00200032),
    }
    for key, (sequence, tag) in fallbacks.items():
        for group in (shared, frame):
            if values.get(key) is None and group is not None:
                values[key] = _text(_first_item(group, sequence), tag)
    return values


def _value(dataset: Any, tag: int) -> Any:
    """An element's value, None when the dataset or the element is absent or unreadable."""
    if dataset is None or tag not in dataset:
        return None
    try:
        return dataset[tag].value
    except Exception:  # noqa: BLE001 - a malformed value is null in the catalog
        return None


def _first_item(dataset: Any, tag: int) -> Any:
    """The first item of a sequence element, None when it is absent, empty or malformed."""
    sequence = _value(dataset, tag)
    try:
        return sequence[0] if sequence else None
    except Exception:  # noqa: BLE001 - a malformed sequence is simply absent
        return None


def _text(dataset: Any, tag: int) -> Any:
    """An element's value as stripped text (``int`` for US), None when absent or unreadable."""
    value = _value(dataset, tag)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and dataset[tag].VR == "US":
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00") or None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(part) for part in value) or None
    return str(value).strip(" \x00") or None
