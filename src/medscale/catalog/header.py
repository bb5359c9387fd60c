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

from medscale.catalog.completeness import (
    PIXEL_TAGS,
    UNDEFINED_LENGTH,
    UnreadableFileError,
    check_not_cut,
    check_pixel_data_fits,
    truncated,
)
from medscale.catalog.schema import META_TAGS, TAGS, decode_text, make_row

logger = logging.getLogger(__name__)

_CHUNK = 16384
_LONG_VRS = frozenset(
    {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
)
_SHORT_VRS = frozenset(
    {
        b"AE",
        b"AS",
        b"AT",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"FL",
        b"FD",
        b"IS",
        b"LO",
        b"LT",
        b"PN",
        b"SH",
        b"SL",
        b"SS",
        b"ST",
        b"TM",
        b"UI",
        b"UL",
        b"US",
    }
)
_FUNCTIONAL_GROUPS = frozenset({0x52009229, 0x52009230})
_LAST_WANTED = max(TAGS)
_IMPLICIT_LE = "1.2.840.10008.1.2"
_FAST_EXCLUDED = frozenset({"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})  # BE, deflated
#: Single-frame image classes without functional groups: where the tail shortcut is safe.
_CLASSIC_IMAGE_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in (
        "1",
        "1.1",
        "1.1.1",
        "1.2",
        "1.2.1",
        "1.3",
        "1.3.1",
        "2",
        "4",
        "6.1",
        "7",
        "12.1",
        "12.2",
        "128",
        "481.1",
    )
)
_TAG_LENGTH = struct.Struct("<HHI")
_US = struct.Struct("<H")
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"
_TAG_VR_SHORT = struct.Struct("<HH2sH")
_LONG_LENGTH = struct.Struct("<I")


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
        from medscale.catalog.fallback import read_with_pydicom

        values.update(read_with_pydicom(path, size))
    except OSError as err:
        raise UnreadableFileError(path, "unreadable", f"cannot read: {err}") from err
    return make_row(values)


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
        check_not_cut(values, path)
    values["has_pixel_data"] = has_pixels
    return values


def _read_meta(window: _Window, values: dict[str, Any], path: str) -> int:
    """Parse group 0002 (always explicit VR little endian); return where the dataset starts."""
    data, position = window.data, 132
    while True:
        if position + 12 > len(data):
            if position + 12 > window.size:
                raise truncated(path, "the file meta information is cut short")
            raise _Fallback("large file meta")
        group, element, vr, length = _TAG_VR_SHORT.unpack_from(data, position)
        if group != 0x0002:
            return position
        header = 8
        if vr in _LONG_VRS:
            length, header = _LONG_LENGTH.unpack_from(data, position + 8)[0], 12
        end = position + header + length
        if length != UNDEFINED_LENGTH and end > window.size:
            raise truncated(path, "the file meta information is cut short")
        if length == UNDEFINED_LENGTH or end > len(data):
            raise _Fallback("odd file meta")
        key = META_TAGS.get(group << 16 | element)
        if key is not None:
            values[key] = data[position + header : end].decode("latin-1").strip(" \x00") or None
        position = end


def _walk(
    window: _Window, position: int, *, explicit: bool, raw: dict[int, bytes], path: str
) -> bool:
    """Walk the dataset's element headers; keep wanted top-level raw values.

    Returns True when a complete Pixel Data element was found. This loop is the scan's hot
    spot: locals are bound once, the common case (a short element inside the window) takes
    one ``unpack_from`` and a few comparisons, and once past the last wanted tag the walk
    stops as soon as :func:`_pixels_ahead` finds the complete Pixel Data further on.
    """
    size, depth, undefined, shortcut_tried = window.size, 0, UNDEFINED_LENGTH, False
    data, base = window.data, window.start
    limit = base + len(data) - 12  # an element header starting at or before this fits
    unpack_explicit, unpack_implicit = _TAG_VR_SHORT.unpack_from, _TAG_LENGTH.unpack_from
    unpack_long, long_vrs, short_vrs, wanted = _LONG_LENGTH.unpack_from, _LONG_VRS, _SHORT_VRS, TAGS
    if not explicit and position + 8 <= size and data[position + 4 : position + 6] in short_vrs:
        raise _Fallback("explicit VR in an implicit VR file")
    while position < size:
        if position > limit:
            if position + 8 > size:
                raise truncated(path, f"an element header cut at byte {position}")
            window.load(position, 12)
            data, base = window.data, window.start
            limit = base + len(data) - 12
        relative = position - base
        if explicit:
            group, element, vr, length = unpack_explicit(data, relative)
            if vr in short_vrs:
                value_start = position + 8
            elif group == 0xFFFE:  # item, item delimiter, sequence delimiter: no VR
                length = unpack_long(data, relative + 4)[0]
                value_start = 0
            elif vr in long_vrs:
                if position + 12 > size:
                    raise truncated(path, f"an element header cut at byte {position}")
                length, value_start = unpack_long(data, relative + 8)[0], position + 12
                if length == undefined and vr != b"SQ" and (group, element) != (0x7FE0, 0x0010):
                    raise _Fallback(f"undefined-length {vr!r}")
            else:
                raise _Fallback(f"bad VR {vr!r}")
        else:
            group, element, length = unpack_implicit(data, relative)
            value_start = position + 8
        if group == 0xFFFE:
            position += 8
            if element == 0xE000 and length != undefined:
                position += length
            elif element == 0xE0DD:
                depth -= 1
            continue
        if depth == 0:
            tag = group << 16 | element
            if tag > _LAST_WANTED:
                if not shortcut_tried:
                    shortcut_tried = True
                    if _pixels_ahead(window, raw, position, explicit=explicit):
                        return True
                if group >= 0x5200:
                    if tag in PIXEL_TAGS:
                        check_pixel_data_fits(path, value_start, length, size)
                        return True
                    if tag in _FUNCTIONAL_GROUPS:
                        raise _Fallback("enhanced multi-frame")
            elif tag in wanted and length != undefined:
                end = value_start + length
                if end > size:
                    raise truncated(
                        path,
                        f"element ({group:04X},{element:04X}) needs "
                        f"{length} bytes, {size - value_start} remain",
                    )
                if end > base + len(data):
                    window.load(value_start, length)
                    data, base = window.data, window.start
                    limit = base + len(data) - 12
                raw[tag] = data[value_start - base : end - base]
        if length == undefined:
            depth += 1
            position = value_start
        else:
            position = value_start + length
    if depth > 0:
        raise truncated(path, "the file ends inside a sequence")
    if position > size:
        raise truncated(path, f"an element needs {position - size} bytes more than the file has")
    return False


def _pixels_ahead(window: _Window, raw: dict[int, bytes], position: int, *, explicit: bool) -> bool:
    """Is a complete native Pixel Data element of the size the header implies ahead?

    Size = Rows x Columns x SamplesPerPixel x BitsAllocated / 8, padded to even. The element
    header (tag, VR, that exact length) is searched for in the bytes already read, and must
    fit in the file. Only for classic single-frame image classes (no NumberOfFrames, no
    functional groups), so nothing the catalog reads can sit between here and Pixel Data.
    When True, the elements in between need not be walked.
    """
    sop_class = raw.get(0x00080016, b"").rstrip(b"\x00 ").decode("latin-1")
    if sop_class not in _CLASSIC_IMAGE_SOP_CLASSES:
        return False
    rows, columns = raw.get(0x00280010), raw.get(0x00280011)
    bits, samples = raw.get(0x00280100), raw.get(0x00280002, b"\x01\x00")
    if rows is None or columns is None or bits is None or 0x00280008 in raw:
        return False
    if min(len(rows), len(columns), len(bits), len(samples)) < 2:
        return False
    n_bits = (
        _US.unpack_from(rows)[0]
        * _US.unpack_from(columns)[0]
        * _US.unpack_from(samples)[0]
        * _US.unpack_from(bits)[0]
    )
    length = -(-n_bits // 8)
    length += length & 1
    header = 12 if explicit else 8
    data, base = window.data, window.start
    found = data.find(_PIXEL_DATA_TAG, position - base)
    while found >= 0 and found + header <= len(data):
        if explicit:
            matches = (
                data[found + 4 : found + 8] in (b"OW\0\0", b"OB\0\0")
                and _LONG_LENGTH.unpack_from(data, found + 8)[0] == length
            )
        else:
            matches = _LONG_LENGTH.unpack_from(data, found + 4)[0] == length
        if matches:
            return base + found + header + length <= window.size
        found = data.find(_PIXEL_DATA_TAG, found + 1)
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


__all__ = ["UnreadableFileError", "read_row"]
