"""Header-only reading of one DICOM file into one catalog row.

Two readers give the same values:

- a fast path for the common files (a 128-byte preamble and ``DICM``, then implicit or explicit
  VR little endian, including every compressed transfer syntax): it walks the element headers
  with :mod:`struct`, seeks over every value it does not need, and decodes only the ~30
  attributes of :data:`~medscale.catalog.schema.TAGS`. Parsing every element into a pydicom
  ``Dataset`` costs about as much as reading the whole file from the page cache; walking the
  headers is several times cheaper;
- pydicom (``dcmread(..., stop_before_pixels=True)``) for everything else: no preamble,
  big endian, deflated, enhanced multi-frame objects (values inside functional groups),
  ``UN`` sequences, and anything the fast path finds odd.

Both check that the file is complete: a Pixel Data element longer than what remains of the
file, an element cut by the end of the file, or an image (Rows present) whose file ends
before its Pixel Data, is reported as ``truncated``.

References
----------
DICOM PS3.5 section 7 (data element encoding), 7.5 (nesting of sequences), PS3.10 section 7.1
(the file meta information).
"""

from __future__ import annotations

import functools
import logging
import struct
from typing import Any, BinaryIO

from medscale.catalog.schema import META_TAGS, TAGS, decode_text, make_row
from medscale.errors import DicomError

logger = logging.getLogger(__name__)

_CHUNK = 16384
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset({b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UN", b"UR",
                       b"UT", b"SV", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS",
                        b"LO", b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL",
                        b"US"})
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_FUNCTIONAL_GROUPS = frozenset({0x52009229, 0x52009230})
_IMPLICIT_LE = "1.2.840.10008.1.2"
_FAST_EXCLUDED = frozenset({"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})  # BE, deflated
#: Image storage SOP classes: their files always end with Pixel Data (PS3.3 A.3-A.80).
IMAGE_SOP_CLASSES = frozenset("1.2.840.10008.5.1.4.1.1." + suffix for suffix in (
    "1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1", "2", "2.1", "2.2", "3.1", "4", "4.1",
    "4.2", "4.3", "4.4", "6.1", "6.2", "7", "7.1", "7.2", "7.3", "7.4", "12.1", "12.1.1",
    "12.2", "12.2.1", "13.1.1", "13.1.2", "13.1.3", "20", "30", "66.4", "77.1.1.1", "77.1.2",
    "77.1.2.1", "77.1.4", "77.1.4.1", "77.1.5.1", "77.1.5.2", "77.1.6", "128", "128.1", "130",
    "481.1"))
_TAG_LENGTH = struct.Struct("<HHI")
_TAG_VR_SHORT = struct.Struct("<HH2sH")
_LONG_LENGTH = struct.Struct("<I")


class UnreadableFileError(DicomError):
    """A file that is not DICOM, is cut short, or cannot be parsed.

    Attributes
    ----------
    error_type : str
        ``not_dicom``, ``truncated`` or ``unreadable`` (the ``error_type`` column).
    """

    def __init__(self, path: str, error_type: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.error_type = error_type
        self.reason = reason


class _Fallback(Exception):
    """The fast path cannot read this file; pydicom will."""


class _Window:
    """A window of a file's bytes, reloaded at any offset on demand."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle, self.size = handle, size
        self.data = handle.read(_CHUNK)
        self.start = 0

    def load(self, offset: int, length: int) -> None:
        self.handle.seek(offset)
        self.data = self.handle.read(max(length, _CHUNK))
        self.start = offset


def read_row(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    """Read one file's header into a catalog row (see :mod:`medscale.catalog.schema`).

    Parameters
    ----------
    path : str
        The file.
    size, mtime_ns : int
        Its size in bytes and modification time in ns, as listed by the scan.

    Returns
    -------
    dict
        One value per column of :data:`~medscale.catalog.schema.INSTANCE_SCHEMA`.

    Raises
    ------
    UnreadableFileError
        Not DICOM, truncated, or unparseable; ``error_type`` says which.
    """
    values: dict[str, Any] = {"path": path, "size_bytes": size, "mtime_ns": mtime_ns}
    try:
        with open(path, "rb") as handle:
            values.update(_read_fast(handle, size, path))
    except _Fallback as why:
        logger.debug("%s: general reader (%s)", path, why)
        values.update(_read_pydicom(path, size))
    except OSError as err:
        raise UnreadableFileError(path, "unreadable", f"cannot read: {err}") from err
    return make_row(values)


def _truncated(path: str, what: str) -> UnreadableFileError:
    return UnreadableFileError(path, "truncated", f"truncated DICOM file: {what}")


def _read_fast(handle: BinaryIO, size: int, path: str) -> dict[str, Any]:
    window = _Window(handle, size)
    if len(window.data) < 132 or window.data[128:132] != b"DICM":
        raise _Fallback("no DICM preamble")
    values: dict[str, Any] = {}
    position = _read_meta(window, values, path)
    syntax = values.get("transfer_syntax_uid")
    if syntax is None or syntax in _FAST_EXCLUDED:
        raise _Fallback(f"transfer syntax {syntax}")
    raw: dict[int, bytes] = {}
    has_pixels = _walk(window, position, explicit=syntax != _IMPLICIT_LE, raw=raw, path=path)
    _decode(raw, values)
    if not has_pixels:
        _check_not_cut(values, path)
    return values


def _check_not_cut(values: dict[str, Any], path: str) -> None:
    """A file without Pixel Data that should have it was cut at an element boundary."""
    sop_class = values.get("sop_class_uid") or values.get("_media_sop_class_uid")
    if values.get("rows") is not None or sop_class in IMAGE_SOP_CLASSES:
        raise _truncated(path, f"an image (SOP class {sop_class}) that ends before its "
                               f"Pixel Data")


def _read_meta(window: _Window, values: dict[str, Any], path: str) -> int:
    """Parse group 0002 (always explicit VR little endian); return where the dataset starts."""
    data, position = window.data, 132
    while True:
        if position + 12 > len(data):
            if position + 12 > window.size:
                raise _truncated(path, "the file meta information is cut short")
            raise _Fallback("large file meta")
        group, element, vr, length = _TAG_VR_SHORT.unpack_from(data, position)
        if group != 0x0002:
            return position
        header = 8
        if vr in _LONG_VRS:
            length, header = _LONG_LENGTH.unpack_from(data, position + 8)[0], 12
        end = position + header + length
        if length != _UNDEFINED and end > window.size:
            raise _truncated(path, "the file meta information is cut short")
        if length == _UNDEFINED or end > len(data):
            raise _Fallback("odd file meta")
        key = META_TAGS.get(group << 16 | element)
        if key is not None:
            values[key] = data[position + header:end].decode("latin-1").strip(" \x00") or None
        position = end


def _walk(window: _Window, position: int, *, explicit: bool, raw: dict[int, bytes],
          path: str) -> bool:
    """Walk the dataset's element headers; keep wanted top-level raw values.

    Returns True when a Pixel Data element was reached (and is complete). This loop is the
    scan's hot spot: locals are bound once and the common case (a short element wholly inside
    the window) takes one ``unpack_from`` and a few comparisons.
    """
    size, depth = window.size, 0
    data, base = window.data, window.start
    limit = base + len(data) - 12  # an element header starting at or before this fits
    unpack_explicit, unpack_implicit = _TAG_VR_SHORT.unpack_from, _TAG_LENGTH.unpack_from
    unpack_long, long_vrs, short_vrs, wanted = _LONG_LENGTH.unpack_from, _LONG_VRS, _SHORT_VRS, TAGS
    if not explicit and position + 8 <= size and data[position + 4:position + 6] in short_vrs:
        raise _Fallback("explicit VR in an implicit VR file")
    while position < size:
        if position > limit:
            if position + 8 > size:
                raise _truncated(path, f"an element header cut at byte {position}")
            window.load(position, 12)
            data, base = window.data, window.start
            limit = base + len(data) - 12
        relative = position - base
        if explicit:
            group, element, vr, length = unpack_explicit(data, relative)
            if group == 0xFFFE:  # item, item delimiter, sequence delimiter: no VR
                length = unpack_long(data, relative + 4)[0]
                header = 8
            elif vr in long_vrs:
                if position + 12 > size:
                    raise _truncated(path, f"an element header cut at byte {position}")
                length, header = unpack_long(data, relative + 8)[0], 12
                if length == _UNDEFINED and vr != b"SQ" and (group, element) != (0x7FE0, 0x0010):
                    raise _Fallback(f"undefined-length {vr!r}")
            elif vr in short_vrs:
                header = 8
            else:
                raise _Fallback(f"bad VR {vr!r}")
        else:
            group, element, length = unpack_implicit(data, relative)
            header = 8
        if group == 0xFFFE:
            position += 8
            if element == 0xE000 and length != _UNDEFINED:
                position += length
            elif element == 0xE0DD:
                depth -= 1
            continue
        value_start = position + header
        if depth == 0:
            tag = group << 16 | element
            if group >= 0x5200:
                if tag in _PIXEL_TAGS:
                    if length != _UNDEFINED and value_start + length > size:
                        raise _truncated(path, f"Pixel Data needs {length} bytes, "
                                               f"{size - value_start} remain")
                    return True
                if tag in _FUNCTIONAL_GROUPS:
                    raise _Fallback("enhanced multi-frame")
            elif tag in wanted and length != _UNDEFINED:
                end = value_start + length
                if end > size:
                    raise _truncated(path, f"element ({group:04X},{element:04X}) needs "
                                           f"{length} bytes, {size - value_start} remain")
                if end > base + len(data):
                    window.load(value_start, length)
                    data, base = window.data, window.start
                    limit = base + len(data) - 12
                raw[tag] = data[value_start - base:end - base]
        if length == _UNDEFINED:
            depth += 1
            position = value_start
        else:
            position = value_start + length
    if depth > 0:
        raise _truncated(path, "the file ends inside a sequence")
    if position > size:
        raise _truncated(path, f"an element needs {position - size} bytes more than the file has")
    return False


def _decode(raw: dict[int, bytes], values: dict[str, Any]) -> None:
    """Decode the raw little-endian values of :data:`TAGS` into ``values`` (text or int).

    The Specific Character Set is looked up (through pydicom) only for a non-ASCII text value,
    so pure-ASCII archives never import pydicom in the workers.
    """
    charset = raw.get(0x00080005, b"")
    for tag, value in raw.items():
        vr, key = TAGS[tag]
        if vr == "US":
            values[key] = struct.unpack_from("<H", value)[0] if len(value) >= 2 else None
        elif value.isascii():
            values[key] = value.decode("ascii").strip(" \x00") or None
        else:
            encodings = _encodings(charset) if charset.strip(b" \x00") else None
            values[key] = decode_text(value, vr, encodings)


@functools.lru_cache(maxsize=64)
def _encodings(charset: bytes) -> tuple[str, ...]:
    """Python codecs of a raw Specific Character Set value (pydicom's mapping)."""
    from pydicom.charset import convert_encodings

    names = [part.strip() for part in charset.decode("latin-1").split("\\")]
    return tuple(convert_encodings([name or "ISO_IR 6" for name in names]))


def _read_pydicom(path: str, size: int) -> dict[str, Any]:
    """The general reader: pydicom, with the same checks and the same values."""
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
                    raise UnreadableFileError(path, "not_dicom",
                                              "not a DICOM file (no DICM preamble, no "
                                              "recognisable first element)") from err
                handle.seek(0)
                dataset = pydicom.dcmread(handle, stop_before_pixels=True, force=True)
            stop = handle.tell()
            pixel_header = handle.read(12)
    except UnreadableFileError:
        raise
    except Exception as err:  # noqa: BLE001 - any parser failure is this file's error row
        kind = "truncated" if isinstance(err, EOFError) else "unreadable"
        raise UnreadableFileError(path, kind, f"{type(err).__name__}: {err}") from err
    values = _dataset_values(dataset)
    if len(dataset) == 0 and not getattr(dataset, "file_meta", None):
        raise UnreadableFileError(path, "not_dicom", "no DICOM elements could be read")
    implicit, little = dataset.original_encoding
    if values.get("transfer_syntax_uid") in _FAST_EXCLUDED - {"1.2.840.10008.1.2.2"}:
        return values  # deflated: file offsets say nothing about the dataset
    if len(pixel_header) >= 8 and little is not None:
        order = "<" if little else ">"
        group, element = struct.unpack(order + "HH", pixel_header[:4])
        if group << 16 | element in _PIXEL_TAGS:
            explicit_long = not implicit and len(pixel_header) == 12
            length = struct.unpack(order + "I", pixel_header[8:12] if explicit_long
                                   else pixel_header[4:8])[0]
            header = 12 if explicit_long else 8
            if length != _UNDEFINED and stop + header + length > size:
                raise _truncated(path, f"Pixel Data needs {length} bytes, "
                                       f"{size - stop - header} remain")
            return values
    _check_not_cut(values, path)
    return values


def _dataset_values(dataset: Any) -> dict[str, Any]:
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
    fallbacks = {"_pixel_spacing": (0x00289110, 0x00280030),
                 "slice_thickness_mm": (0x00289110, 0x00180050),
                 "_orientation": (0x00209116, 0x00200037),
                 "_position": (0x00209113, 0x00200032)}
    for key, (sequence, tag) in fallbacks.items():
        for group in (shared, frame):
            if values.get(key) is None and group is not None:
                values[key] = _text(_first_item(group, sequence), tag)
    return values


def _first_item(dataset: Any, tag: int) -> Any:
    if dataset is None or tag not in dataset:
        return None
    try:
        sequence = dataset[tag].value
        return sequence[0] if sequence else None
    except Exception:  # noqa: BLE001 - a malformed sequence is simply absent
        return None


def _text(dataset: Any, tag: int) -> Any:
    """An element's value as stripped text (``int`` for US), None when absent or unreadable."""
    if dataset is None or tag not in dataset:
        return None
    try:
        value = dataset[tag].value
    except Exception:  # noqa: BLE001 - a malformed value is null in the catalog
        return None
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and dataset[tag].VR == "US":
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00") or None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(part) for part in value) or None
    return str(value).strip(" \x00") or None
