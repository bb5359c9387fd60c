"""scan(): rows and error rows, parallel = serial, streaming row groups, --update, empty folder."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medscale.catalog import ERROR_SCHEMA, INSTANCE_SCHEMA, errors_path_for, scan
from medscale.errors import InputError

from .conftest import write_copy


def _table(path: Path) -> list[dict]:
    return sorted(pq.read_table(path).to_pylist(), key=lambda row: row["path"])


def test_scan_finds_every_instance_and_every_error(archive, tmp_path):
    result = scan(archive["root"], tmp_path / "cat.parquet", workers=1)
    rows = _table(result.catalog_path)
    errors = _table(result.errors_path)
    assert [row["path"] for row in rows] == archive["instances"]
    assert {row["path"]: row["error_type"] for row in errors} == archive["errors"]
    assert all(row["reason"] for row in errors)
    assert (result.n_files, result.n_instances, result.n_errors, result.read_count) == (9, 6, 3, 9)
    assert (
        result.errors_path
        == tmp_path / "cat_errors.parquet"
        == errors_path_for(tmp_path / "cat.parquet")
    )
    assert (
        pq.read_schema(result.catalog_path)
        .remove_metadata()
        .equals(INSTANCE_SCHEMA.remove_metadata())
    )
    assert (
        pq.read_schema(result.errors_path).remove_metadata().equals(ERROR_SCHEMA.remove_metadata())
    )
    pixels = next(row for row in errors if row["path"].endswith("ct_cut_pixels.dcm"))
    assert "Pixel Data needs 32768 bytes" in pixels["reason"]


def test_ct_small_row_has_the_header_values(archive, tmp_path):
    result = scan(archive["root"], tmp_path / "cat.parquet", workers=1)
    row = next(r for r in _table(result.catalog_path) if r["path"].endswith("CT_small.dcm"))
    source = pydicom.dcmread(row["path"])
    assert row["size_bytes"] == os.path.getsize(row["path"])
    assert row["mtime_ns"] == os.stat(row["path"]).st_mtime_ns
    for column, keyword in [
        ("sop_instance_uid", "SOPInstanceUID"),
        ("sop_class_uid", "SOPClassUID"),
        ("study_instance_uid", "StudyInstanceUID"),
        ("series_instance_uid", "SeriesInstanceUID"),
        ("patient_id", "PatientID"),
        ("modality", "Modality"),
        ("manufacturer", "Manufacturer"),
        ("manufacturer_model_name", "ManufacturerModelName"),
        ("station_name", "StationName"),
        ("institution_name", "InstitutionName"),
    ]:
        assert row[column] == str(source[keyword].value), column
    assert row["study_date"] == dt.date(2004, 1, 19)
    assert row["study_time"] == dt.time(7, 27, 30)
    assert row["series_date"] == dt.date(1997, 4, 30)
    assert row["acquisition_datetime"] == dt.datetime(1997, 4, 30, 11, 29, 36)
    assert (row["rows"], row["columns"], row["number_of_frames"]) == (128, 128, None)
    assert row["pixel_spacing_row_mm"] == pytest.approx(0.661468)
    assert row["pixel_spacing_column_mm"] == pytest.approx(0.661468)
    assert row["slice_thickness_mm"] == pytest.approx(5.0)
    assert row["image_position_patient"] == pytest.approx([-158.135803, -179.035797, -75.699997])
    assert row["image_orientation_patient"] == pytest.approx([1, 0, 0, 0, 1, 0])
    assert row["transfer_syntax_uid"] == "1.2.840.10008.1.2.1"
    assert row["has_pixel_data"] is True
    assert (row["series_number"], row["instance_number"]) == (1, 1)
    assert row["device_serial_number"] is None and row["body_part_examined"] is None


def test_phantom_rows_match_pydicom(archive, tmp_path):
    result = scan(archive["root"], tmp_path / "cat.parquet", workers=1)
    phantom = [r for r in _table(result.catalog_path) if "/phantom/" in r["path"]]
    assert len(phantom) == 3
    for row in phantom:
        source = pydicom.dcmread(row["path"], stop_before_pixels=True)
        assert (row["rows"], row["columns"]) == (201, 204)
        assert row["pixel_spacing_row_mm"] == pytest.approx(0.977, abs=1e-6)
        assert row["slice_thickness_mm"] == pytest.approx(3.0)
        assert row["image_position_patient"] == pytest.approx(
            [float(v) for v in source.ImagePositionPatient]
        )
        assert row["transfer_syntax_uid"] == "1.2.840.10008.1.2"  # implicit VR little endian
        assert row["sop_instance_uid"] == source.SOPInstanceUID


def test_parallel_scan_equals_serial_and_streams_row_groups(archive, tmp_path):
    serial = scan(archive["root"], tmp_path / "serial.parquet", workers=1)
    parallel = scan(
        archive["root"], tmp_path / "parallel.parquet", workers=2, chunk_size=1, row_group_size=2
    )
    assert pq.read_table(parallel.catalog_path).equals(pq.read_table(serial.catalog_path))
    assert pq.read_table(parallel.errors_path).equals(pq.read_table(serial.errors_path))
    metadata = pq.ParquetFile(parallel.catalog_path).metadata
    assert metadata.num_row_groups == 3  # 6 rows in groups of 2
    assert [metadata.row_group(i).num_rows for i in range(3)] == [2, 2, 2]
    assert pq.ParquetFile(serial.catalog_path).metadata.num_row_groups == 1


def test_progress_reports_every_file(archive, tmp_path):
    calls: list[tuple[int, int]] = []
    scan(
        archive["root"],
        tmp_path / "cat.parquet",
        workers=1,
        chunk_size=4,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 9), (4, 9), (8, 9), (9, 9)]


def test_update_reads_only_new_and_changed_files(archive, tmp_path, monkeypatch):
    root: Path = archive["root"]
    catalog = tmp_path / "cat.parquet"
    first = scan(root, catalog, workers=1)
    assert first.read_count == 9
    # 3 new files, 1 modified (new content, new size), 1 deleted
    mr_small = get_testdata_file("MR_small.dcm")
    added = [
        write_copy(mr_small, root / "new" / f"mr_{i}.dcm", sop_uid=f"1.2.3.4.{i}") for i in range(3)
    ]
    modified = root / "ct" / "CT_small.dcm"
    write_copy(
        get_testdata_file("CT_small.dcm"),
        modified,
        sop_uid="1.2.3.99",
        StationName="CT02_NEW_STATION",
    )
    deleted = root / "phantom" / "DCM_IMG_00001.dcm"
    deleted.unlink()

    import medscale.catalog.scanner as scan_module

    read_paths: list[str] = []
    real_read_row = scan_module.read_row

    def counting_read_row(path: str, size: int, mtime_ns: int) -> dict:
        read_paths.append(path)
        return real_read_row(path, size, mtime_ns)

    monkeypatch.setattr(scan_module, "read_row", counting_read_row)
    updated = scan(root, catalog, update=True, workers=1, row_group_size=2)
    assert sorted(read_paths) == sorted([str(p) for p in added] + [str(modified)])
    assert updated.read_count == 4
    assert updated.removed_count == 2  # the deleted file and the old row of the modified one
    assert updated.reused_count == 9 - 2
    assert (updated.n_files, updated.n_instances, updated.n_errors) == (11, 8, 3)

    monkeypatch.setattr(scan_module, "read_row", real_read_row)
    fresh = scan(root, tmp_path / "fresh.parquet", workers=1)
    assert _table(catalog) == _table(fresh.catalog_path)
    assert _table(updated.errors_path) == _table(fresh.errors_path)
    station = {r["path"]: r["station_name"] for r in _table(catalog)}[str(modified)]
    assert station == "CT02_NEW_STATION"


def test_update_without_catalog_is_a_full_scan(archive, tmp_path):
    result = scan(archive["root"], tmp_path / "cat.parquet", update=True, workers=1)
    assert (result.read_count, result.reused_count, result.n_instances) == (9, 0, 6)


def test_catalog_inside_the_scanned_folder_is_not_scanned(archive):
    catalog = archive["root"] / "catalog.parquet"
    scan(archive["root"], catalog, workers=1)
    again = scan(archive["root"], catalog, workers=1)
    assert (again.n_files, again.n_instances, again.n_errors) == (9, 6, 3)
    assert not [p for p in os.listdir(archive["root"]) if ".tmp" in p]


def test_empty_folder_gives_an_empty_catalog(tmp_path):
    (tmp_path / "empty").mkdir()
    result = scan(tmp_path / "empty", tmp_path / "cat.parquet")
    assert (result.n_files, result.n_instances, result.n_errors) == (0, 0, 0)
    table = pq.read_table(result.catalog_path)
    assert table.num_rows == 0 and table.schema.names == INSTANCE_SCHEMA.names
    assert pq.read_table(result.errors_path).num_rows == 0


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="is not a folder"):
        scan(tmp_path / "missing", tmp_path / "cat.parquet")
    with pytest.raises(InputError, match="row_group_size must be >= 1"):
        scan(tmp_path, tmp_path / "cat.parquet", row_group_size=0)
    with pytest.raises(InputError, match="chunk_size must be >= 1"):
        scan(tmp_path, tmp_path / "cat.parquet", chunk_size=0)
    with pytest.raises(InputError, match="workers must be >= 1"):
        scan(tmp_path, tmp_path / "cat.parquet", workers=0)


def test_failed_scan_keeps_the_previous_catalog(archive, tmp_path, monkeypatch):
    catalog = tmp_path / "cat.parquet"
    scan(archive["root"], catalog, workers=1)
    before = _table(catalog)
    shutil.copyfile(get_testdata_file("MR_small.dcm"), archive["root"] / "extra.dcm")

    def interrupt(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan(archive["root"], catalog, workers=1, chunk_size=2, progress=interrupt)
    assert _table(catalog) == before
    assert sorted(os.listdir(tmp_path)) == ["archive", "cat.parquet", "cat_errors.parquet"]


def _read_or_crash(entries):
    """`read_chunk`, except that the worker dies under a chunk holding ``crash`` in a path,
    every time, or only the first time when the chunk also holds ``once``."""
    from medscale.catalog import scanner

    paths = [path for path, _, _ in entries]
    marker = os.environ["MEDSCALE_TEST_CRASH_MARKER"]
    if any("crash" in path for path in paths):
        first_time = not os.path.exists(marker)
        open(marker, "a").close()
        if first_time or not any("once" in path for path in paths):
            os._exit(3)
    return scanner._read_chunk_unpatched(entries)


@pytest.fixture
def crashing_reader(monkeypatch, tmp_path):
    """Call it to patch the reader (after any scan in this process, which it would kill)."""
    from medscale.catalog import scanner

    def activate() -> None:
        # the scan's workers are forked: they see the patched reader
        monkeypatch.setattr(scanner, "_read_chunk_unpatched", scanner.read_chunk, raising=False)
        monkeypatch.setattr(scanner, "read_chunk", _read_or_crash)
        monkeypatch.setenv("MEDSCALE_TEST_CRASH_MARKER", str(tmp_path / "crashed-once"))

    return activate


def test_a_worker_that_dies_once_costs_the_scan_nothing(archive, tmp_path, crashing_reader):
    root = tmp_path / "copy"
    shutil.copytree(archive["root"], root)
    shutil.copyfile(archive["instances"][0], root / "crash-once.dcm")
    serial = scan(root, tmp_path / "serial.parquet", workers=1)
    crashing_reader()
    parallel = scan(root, tmp_path / "parallel.parquet", workers=2, chunk_size=1)
    assert pq.read_table(parallel.catalog_path).equals(pq.read_table(serial.catalog_path))
    assert pq.read_table(parallel.errors_path).equals(pq.read_table(serial.errors_path))


def test_a_chunk_that_keeps_killing_its_worker_fails_the_scan_clearly(
    archive, tmp_path, crashing_reader
):
    from medscale.errors import MedscaleError

    root = tmp_path / "copy"
    shutil.copytree(archive["root"], root)
    shutil.copyfile(archive["instances"][0], root / "crash.dcm")
    catalog = tmp_path / "cat.parquet"
    crashing_reader()
    with pytest.raises(MedscaleError, match="scan failed: a worker process died reading 1 files"):
        scan(root, catalog, workers=2, chunk_size=1)
    assert not catalog.exists()  # no half-written catalog
