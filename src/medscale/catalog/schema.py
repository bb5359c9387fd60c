"""The catalog's Arrow schemas and the conversion of raw DICOM values to typed columns.

One row of the ``instances`` table is one DICOM file. Every column is nullable: an attribute
that is absent, empty or malformed (an ``IS`` value that is not an integer, a ``DA`` that is
not a date) is null, never a guess.

=============================  ==========================  =====================================
column                         Arrow type                  DICOM source
=============================  ==========================  =====================================
path                           string                      absolute path of the file
size_bytes                     int64                       file size, bytes
mtime_ns                       int64                       modification time, ns since the epoch
sop_instance_uid               string                      (0008,0018), else (0002,0003)
sop_class_uid                  string                      (0008,0016), else (0002,0002)
study_instance_uid             string                      (0020,000D)
series_instance_uid            string                      (0020,000E)
patient_id                     string                      (0010,0020)
modality                       string                      (0008,0060)
manufacturer                   string                      (0008,0070)
manufacturer_model_name        string                      (0008,1090)
station_name                   string                      (0008,1010)
device_serial_number           string                      (0018,1000)
institution_name               string                      (0008,0080)
study_date / study_time        date32 / time64[us]         (0008,0020) / (0008,0030)
series_date / series_time      date32 / time64[us]         (0008,0021) / (0008,0031)
acquisition_date / _time       date32 / time64[us]         (0008,0022) / (0008,0032)
acquisition_datetime           timestamp[us] (no zone)     see :func:`acquisition_datetime`
study_description              string                      (0008,1030)
series_description             string                      (0008,103E)
body_part_examined             string                      (0018,0015)
rows / columns                 int32                       (0028,0010) / (0028,0011)
number_of_frames               int32                       (0028,0008); null when absent
pixel_spacing_row_mm           float64                     (0028,0030)[0]: between rows (y), mm
pixel_spacing_column_mm        float64                     (0028,0030)[1]: between columns, mm
slice_thickness_mm             float64                     (0018,0050)
image_position_patient         fixed list<float64>[3]      (0020,0032), LPS mm
image_orientation_patient      fixed list<float64>[6]      (0020,0037), direction cosines
transfer_syntax_uid            string                      (0002,0010)
has_pixel_data                 bool                        a complete (7FE0,0010) or float
                                                           pixel data element is present
series_number                  int32                       (0020,0011)
instance_number                int32                       (0020,0013)
=============================  ==========================  =====================================

Enhanced multi-frame objects keep pixel spacing, thickness and orientation in the shared
functional groups (5200,9229) and positions per frame (5200,9230); the catalog takes them from
there (the position of the first frame) when the top-level attributes are absent.

The ``errors`` table has one row per file that could not be read as DICOM: ``path``,
``size_bytes``, ``mtime_ns``, ``error_type`` (``not_dicom``, ``truncated``, ``unreadable``) and
``reason`` (one line).

References
----------
DICOM PS3.5 section 6.2 (value representations: DA, TM, DT, IS, DS).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pyarrow as pa

#: Version of the catalog layout, stored in the Parquet metadata.
CATALOG_VERSION = "1"

INSTANCE_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("size_bytes", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("sop_instance_uid", pa.string()),
        pa.field("sop_class_uid", pa.string()),
        pa.field("study_instance_uid", pa.string()),
        pa.field("series_instance_uid", pa.string()),
        pa.field("patient_id", pa.string()),
        pa.field("modality", pa.string()),
        pa.field("manufacturer", pa.string()),
        pa.field("manufacturer_model_name", pa.string()),
        pa.field("station_name", pa.string()),
        pa.field("device_serial_number", pa.string()),
        pa.field("institution_name", pa.string()),
        pa.field("study_date", pa.date32()),
        pa.field("study_time", pa.time64("us")),
        pa.field("series_date", pa.date32()),
        pa.field("series_time", pa.time64("us")),
        pa.field("acquisition_date", pa.date32()),
        pa.field("acquisition_time", pa.time64("us")),
        pa.field("acquisition_datetime", pa.timestamp("us")),
        pa.field("study_description", pa.string()),
        pa.field("series_description", pa.string()),
        pa.field("body_part_examined", pa.string()),
        pa.field("rows", pa.int32()),
        pa.field("columns", pa.int32()),
        pa.field("number_of_frames", pa.int32()),
        pa.field("pixel_spacing_row_mm", pa.float64()),
        pa.field("pixel_spacing_column_mm", pa.float64()),
        pa.field("slice_thickness_mm", pa.float64()),
        pa.field("image_position_patient", pa.list_(pa.float64(), 3)),
        pa.field("image_orientation_patient", pa.list_(pa.float64(), 6)),
        pa.field("transfer_syntax_uid", pa.string()),
        pa.field("has_pixel_data", pa.bool_()),
        pa.field("series_number", pa.int32()),
        pa.field("instance_number", pa.int32()),
    ],
    metadata={"medscale.catalog": CATALOG_VERSION},
)

ERROR_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("size_bytes", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("error_type", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ],
    metadata={"medscale.catalog": CATALOG_VERSION},
)

#: Top-level tags read from each file: tag -> (VR, row column or internal key).
#: Internal keys start with an underscore and are combined into columns by :func:`make_row`.
TAGS: dict[int, tuple[str, str]] = {
    0x00080005: ("CS", "_charset"),
    0x00080016: ("UI", "sop_class_uid"),
    0x00080018: ("UI", "sop_instance_uid"),
    0x00080020: ("DA", "study_date"),
    0x00080021: ("DA", "series_date"),
    0x00080022: ("DA", "acquisition_date"),
    0x0008002A: ("DT", "_acquisition_dt"),
    0x00080030: ("TM", "study_time"),
    0x00080031: ("TM", "series_time"),
    0x00080032: ("TM", "acquisition_time"),
    0x00080060: ("CS", "modality"),
    0x00080070: ("LO", "manufacturer"),
    0x00080080: ("LO", "institution_name"),
    0x00081010: ("SH", "station_name"),
    0x00081030: ("LO", "study_description"),
    0x0008103E: ("LO", "series_description"),
    0x00081090: ("LO", "manufacturer_model_name"),
    0x00100020: ("LO", "patient_id"),
    0x00180015: ("CS", "body_part_examined"),
    0x00180050: ("DS", "slice_thickness_mm"),
    0x00181000: ("LO", "device_serial_number"),
    0x0020000D: ("UI", "study_instance_uid"),
    0x0020000E: ("UI", "series_instance_uid"),
    0x00200011: ("IS", "series_number"),
    0x00200013: ("IS", "instance_number"),
    0x00200032: ("DS", "_position"),
    0x00200037: ("DS", "_orientation"),
    0x00280008: ("IS", "number_of_frames"),
    0x00280010: ("US", "rows"),
    0x00280011: ("US", "columns"),
    0x00280030: ("DS", "_pixel_spacing"),
    0x00280002: ("US", "_samples_per_pixel"),  # with Rows, Columns, BitsAllocated: the size
    0x00280100: ("US", "_bits_allocated"),  # of native Pixel Data (completeness check)
}

#: File meta tags read: tag -> internal key.
META_TAGS: dict[int, str] = {
    0x00020002: "_media_sop_class_uid",
    0x00020003: "_media_sop_instance_uid",
    0x00020010: "transfer_syntax_uid",
}

_T = TypeVar("_T")
_Groups = tuple[Any, ...]  # the groups of a regular-expression match (str, or None when unset)

_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN"})
_DA = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")
_TM = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def _parse(pattern: re.Pattern[str], text: str | None, build: Callable[[_Groups], _T]) -> _T | None:
    """`build` of the groups of `pattern` in `text`; None for an empty text, a text that does
    not match, or groups that are no valid value (``build`` raises ValueError: month 13)."""
    match = pattern.match(text) if text else None
    if match is None:
        return None
    try:
        return build(match.groups())
    except ValueError:
        return None


def _seconds(second: str | None, fraction: str | None) -> tuple[int, int]:
    """Whole seconds (DICOM allows a leap second "60", read as 59) and microseconds."""
    return min(int(second or 0), 59), int((fraction or "0").ljust(6, "0"))


def _date(groups: _Groups) -> dt.date:
    return dt.date(*(int(part) for part in groups))


def _time(groups: _Groups) -> dt.time:
    hour, minute, second, fraction = groups
    return dt.time(int(hour), int(minute or 0), *_seconds(second, fraction))


def _datetime(groups: _Groups) -> dt.datetime:
    year, month, day, hour, minute, second, fraction, _offset = groups
    return dt.datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        *_seconds(second, fraction),
    )


@functools.lru_cache(maxsize=4096)
def parse_da(text: str | None) -> dt.date | None:
    """A DICOM ``DA`` value (``YYYYMMDD``, or the old ``YYYY.MM.DD``) as a date, else None."""
    return _parse(_DA, text, _date)


@functools.lru_cache(maxsize=4096)
def parse_tm(text: str | None) -> dt.time | None:
    """A DICOM ``TM`` value (``HH[MM[SS[.F{1-6}]]]``, or old ``HH:MM:SS``) as a time, else None."""
    return _parse(_TM, text, _time)


@functools.lru_cache(maxsize=4096)
def parse_dt(text: str | None) -> dt.datetime | None:
    """A DICOM ``DT`` value as a naive datetime in the stated local time (offset dropped)."""
    return _parse(_DT, text, _datetime)


def acquisition_datetime(values: dict[str, Any]) -> dt.datetime | None:
    """When the acquisition started, as a naive local timestamp.

    Taken from AcquisitionDateTime (0008,002A) when present; otherwise AcquisitionDate +
    AcquisitionTime, the date falling back to SeriesDate then StudyDate when only the time is
    given; None when there is neither an acquisition date-time nor an acquisition time.
    A UTC offset in a ``DT`` value is dropped: all DICOM dates and times are local.
    """
    stamp = parse_dt(values.get("_acquisition_dt"))
    if stamp is not None:
        return stamp
    time = values.get("acquisition_time")
    date = values.get("acquisition_date")
    if time is None:
        return None if date is None else dt.datetime.combine(date, dt.time())
    date = date or values.get("series_date") or values.get("study_date")
    return None if date is None else dt.datetime.combine(date, time)


def decode_text(raw: bytes, vr: str, encodings: tuple[str, ...] | None) -> str | None:
    """Decode one raw string value: ASCII fast path, else the Specific Character Set."""
    text: str
    if raw.isascii() or vr not in _TEXT_VRS:
        text = raw.decode("latin-1")
    else:
        from pydicom.charset import decode_bytes

        text = decode_bytes(raw, encodings or ("iso8859",), {0x5C, 0x3D, 0x5E})
    text = text.strip(" \x00")
    return text or None


def _numbers(text: str | None, count: int) -> list[float] | None:
    if not text:
        return None
    try:
        values = [float(part) for part in text.split("\\")]
    except ValueError:
        return None
    return values if len(values) == count else None


def _integer(text: str | None) -> int | None:
    if not text:
        return None
    try:
        value = int(float(text))  # IS values are sometimes written "1.0"
    except ValueError:
        return None
    return value if -(2**31) <= value < 2**31 else None


def make_row(values: dict[str, Any]) -> dict[str, Any]:
    """Turn decoded attribute texts (by column or internal key) into one typed catalog row.

    Parameters
    ----------
    values : dict
        ``path``, ``size_bytes``, ``mtime_ns`` and, for each tag of :data:`TAGS` and
        :data:`META_TAGS` found, its stripped text (``US`` values already as ``int``).

    Returns
    -------
    dict
        One value per column of :data:`INSTANCE_SCHEMA`.
    """
    row: dict[str, Any] = {name: values.get(name) for name in INSTANCE_SCHEMA.names}
    for key in ("study_date", "series_date", "acquisition_date"):
        row[key] = values[key] = parse_da(values.get(key))
    for key in ("study_time", "series_time", "acquisition_time"):
        row[key] = values[key] = parse_tm(values.get(key))
    row["acquisition_datetime"] = acquisition_datetime(values)
    row["sop_class_uid"] = values.get("sop_class_uid") or values.get("_media_sop_class_uid")
    row["sop_instance_uid"] = values.get("sop_instance_uid") or values.get(
        "_media_sop_instance_uid"
    )
    for key in ("series_number", "instance_number", "number_of_frames"):
        row[key] = _integer(values.get(key))
    thickness = _numbers(values.get("slice_thickness_mm"), 1)
    row["slice_thickness_mm"] = thickness[0] if thickness else None
    spacing = _numbers(values.get("_pixel_spacing"), 2)
    row["pixel_spacing_row_mm"], row["pixel_spacing_column_mm"] = spacing or (None, None)
    row["image_position_patient"] = _numbers(values.get("_position"), 3)
    row["image_orientation_patient"] = _numbers(values.get("_orientation"), 6)
    return row
