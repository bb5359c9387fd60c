"""The fast header walker against pydicom, the error kinds, and the DICOM value parsers."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from medscale.catalog.fallback import read_with_pydicom
from medscale.catalog.header import UnreadableFileError, read_row
from medscale.catalog.schema import make_row, parse_da, parse_dt, parse_tm

# little-endian files with a preamble: the fast path reads them; pydicom is the reference
FAST_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "JPEG2000.dcm",
    "rtdose.dcm",
    "liver_1frame.dcm",
    "nested_priv_SQ.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
    "rtplan.dcm",
    "SC_rgb_rle.dcm",
]
# files the fast path hands to pydicom: big endian, deflated, no preamble
FALLBACK_FILES = ["MR_small_bigendian.dcm", "image_dfl.dcm", "rtstruct.dcm"]


def _stat(path: str | Path) -> tuple[str, int, int]:
    stat = os.stat(path)
    return str(path), stat.st_size, stat.st_mtime_ns


def _pydicom_row(path: str) -> dict:
    values = {"path": path, "size_bytes": 0, "mtime_ns": 0}
    values.update(read_with_pydicom(path, os.path.getsize(path)))
    return make_row(values)


@pytest.mark.parametrize("name", FAST_FILES + FALLBACK_FILES)
def test_row_equals_the_pydicom_reading(name):
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test file {name} not installed")
    row = read_row(*_stat(path))
    reference = _pydicom_row(path)
    differing = {
        key: (row[key], reference[key])
        for key in row
        if key not in ("size_bytes", "mtime_ns") and row[key] != reference[key]
    }
    assert differing == {}


def test_enhanced_multiframe_geometry_comes_from_functional_groups():
    path = get_testdata_file("liver_1frame.dcm")  # a DICOM-SEG: geometry in functional groups
    row = read_row(*_stat(path))
    assert row["modality"] == "SEG"
    assert row["pixel_spacing_row_mm"] == pytest.approx(0.810547, abs=1e-6)
    assert row["image_position_patient"] == pytest.approx([-235.2, -226.8, -128.69], abs=1e-3)


@pytest.mark.parametrize(
    "name, kind, reason",
    [
        ("MR_truncated.dcm", "truncated", "Pixel Data needs 8192 bytes, 8130 remain"),
        ("rtplan_truncated.dcm", "truncated", "bytes more than the file has"),
    ],
)
def test_truncated_files_are_reported(name, kind, reason):
    with pytest.raises(UnreadableFileError, match=reason) as caught:
        read_row(*_stat(get_testdata_file(name)))
    assert caught.value.error_type == kind


def test_non_dicom_and_empty_files_are_reported(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n" * 50)
    (tmp_path / "empty.dcm").write_bytes(b"")
    for name in ("notes.txt", "empty.dcm"):
        with pytest.raises(UnreadableFileError) as caught:
            read_row(*_stat(tmp_path / name))
        assert caught.value.error_type == "not_dicom"
        assert str(tmp_path / name) in str(caught.value)


def test_a_file_cut_anywhere_in_its_header_is_an_error_or_a_pixel_less_row(tmp_path):
    """Cut inside an element: truncated. Cut exactly between two elements before Rows: the
    file is a valid header-only dataset, a row without pixel data. Never a row with Rows."""
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    cut = tmp_path / "cut.dcm"
    errors = 0
    for length in range(140, 6300, 7):  # the header of CT_small ends at byte 6288
        cut.write_bytes(data[:length])
        try:
            row = read_row(*_stat(cut))
        except UnreadableFileError as err:
            assert err.error_type == "truncated", length
            errors += 1
        else:
            assert row["has_pixel_data"] is False and row["rows"] is None, length
    assert errors >= 0.85 * len(range(140, 6300, 7))
    cut.write_bytes(data[:2856])  # (0025,1017) ends here: a boundary before Rows
    row = read_row(*_stat(cut))
    assert row["modality"] == "CT" and row["has_pixel_data"] is False
    cut.write_bytes(data[:3284])  # after Rows and Columns, before Pixel Spacing
    with pytest.raises(UnreadableFileError, match="Rows present"):
        read_row(*_stat(cut))


@pytest.mark.parametrize(
    "length, complete",
    [(6300, False), (20000, False), (39067, False), (39068, True), (39100, True)],
)
def test_a_file_cut_in_or_after_its_pixel_data(tmp_path, length, complete):
    """CT_small: Pixel Data (32768 bytes) ends at byte 39068, then trailing padding follows."""
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:length])
    if complete:  # the padding after Pixel Data is not needed by the catalog
        assert read_row(*_stat(cut))["rows"] == 128
    else:
        with pytest.raises(UnreadableFileError, match="Pixel Data needs 32768 bytes"):
            read_row(*_stat(cut))


def test_non_ascii_text_is_decoded_with_the_character_set(tmp_path):
    from .conftest import write_copy

    target = write_copy(
        get_testdata_file("CT_small.dcm"),
        tmp_path / "x.dcm",
        sop_uid="1.2.3",
        SpecificCharacterSet="ISO_IR 100",
        InstitutionName="Hôpital Zürich",
    )
    assert read_row(*_stat(target))["institution_name"] == "Hôpital Zürich"


def test_date_and_time_parsers():
    assert parse_da("20040119") == dt.date(2004, 1, 19)
    assert parse_da("2004.01.19") == dt.date(2004, 1, 19)
    assert parse_da("20041319") is None and parse_da("") is None and parse_da(None) is None
    assert parse_tm("072730") == dt.time(7, 27, 30)
    assert parse_tm("0727") == dt.time(7, 27)
    assert parse_tm("07:27:30.5") == dt.time(7, 27, 30, 500000)
    assert parse_tm("190102.123456") == dt.time(19, 1, 2, 123456)
    assert parse_tm("25") is None and parse_tm("ab") is None
    assert parse_dt("20040119072730.25+0100") == dt.datetime(2004, 1, 19, 7, 27, 30, 250000)
    assert parse_dt("2004") == dt.datetime(2004, 1, 1)


def test_acquisition_datetime_fallbacks():
    base = {"path": "x", "size_bytes": 1, "mtime_ns": 1}
    row = make_row(
        {
            **base,
            "_acquisition_dt": "20200102030405",
            "acquisition_date": "19990101",
            "acquisition_time": "101010",
        }
    )
    assert row["acquisition_datetime"] == dt.datetime(2020, 1, 2, 3, 4, 5)
    row = make_row({**base, "acquisition_time": "101010", "series_date": "20210305"})
    assert row["acquisition_datetime"] == dt.datetime(2021, 3, 5, 10, 10, 10)
    row = make_row({**base, "acquisition_date": "20210305"})
    assert row["acquisition_datetime"] == dt.datetime(2021, 3, 5)
    assert make_row({**base, "study_date": "20210305"})["acquisition_datetime"] is None


def test_malformed_numbers_are_null_not_guesses():
    row = make_row(
        {
            "path": "x",
            "size_bytes": 1,
            "mtime_ns": 1,
            "series_number": "abc",
            "instance_number": "3.0",
            "_pixel_spacing": "0.5",
            "_position": "1\\2\\x",
            "slice_thickness_mm": "2.5",
        }
    )
    assert row["series_number"] is None and row["instance_number"] == 3
    assert row["pixel_spacing_row_mm"] is None and row["image_position_patient"] is None
    assert row["slice_thickness_mm"] == 2.5


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_dicom_date_time_round_trip(moment):
    assert parse_da(moment.strftime("%Y%m%d")) == moment.date()
    assert parse_tm(moment.strftime("%H%M%S.%f")) == moment.time()
    assert parse_dt(moment.strftime("%Y%m%d%H%M%S.%f")) == moment
