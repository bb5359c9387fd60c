"""DICOM writers: geometry read back by SimpleITK, pixel values, UIDs, RTSTRUCT contours."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.draw import polygon2mask

from medscale.datasets import generate_ct_case, generate_xray_case
from medscale.errors import ConfigError, DicomError, MaskError
from medscale.image import Image, Mask
from medscale.io.dicom_write import write_dicom_image, write_dicom_series, write_rtstruct
from medscale.io.sitk_bridge import from_sitk

SMALL = {"shape": (16, 48, 56), "spacing_mm": (2.0, 0.9, 0.7)}


def _read_series(folder: Path) -> Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return from_sitk(reader.Execute())


def _dice(first: np.ndarray, second: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(first & second) / (first.sum() + second.sum())


def _oblique_direction() -> np.ndarray:
    """A right-handed rotation, columns (z, y, x) axes, about 20 and 10 degrees."""
    a, b = np.radians(20.0), np.radians(10.0)
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    xyz = rot_z @ rot_x  # columns: world directions of x, y, z index axes
    return xyz[:, ::-1]  # medscale: columns z, y, x


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    case = generate_ct_case(2, seed=4, **SMALL)
    folder = tmp_path_factory.mktemp("series")
    files = write_dicom_series(case.image, folder / "image", header=case.header)
    return case, files


def test_series_geometry_and_values_via_simpleitk(ct_series: tuple) -> None:
    case, files = ct_series
    assert len(files) == case.image.shape[0]
    read = _read_series(files[0].parent)
    assert read.geometry_equal(case.image, tol_mm=1e-4)
    np.testing.assert_array_equal(read.array, case.image.array)


def test_series_oblique_float_image_within_quantisation(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(100.0, 40.0, (6, 20, 24)).astype(np.float32)
    image = Image(
        values,
        spacing=(3.0, 0.75, 0.6),
        origin=(-120.25, 33.5, 412.0),
        direction=_oblique_direction(),
        meta={"modality": "MR"},
    )
    files = write_dicom_series(image, tmp_path)
    read = _read_series(tmp_path)
    assert read.geometry_equal(image, tol_mm=1e-4)
    step = (values.max() - values.min()) / 65535
    np.testing.assert_allclose(read.array, values, atol=step / 2 + 1e-4)
    first = pydicom.dcmread(files[0])
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4" and first.Modality == "MR"


def test_series_header_uids_and_rescale(ct_series: tuple) -> None:
    case, files = ct_series
    datasets = [pydicom.dcmread(path) for path in files]
    first = datasets[0]
    assert first.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    for keyword in (
        "PatientName",
        "PatientID",
        "StudyDate",
        "Manufacturer",
        "StationName",
        "InstitutionName",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "FrameOfReferenceUID",
    ):
        assert str(first.data_element(keyword).value) == str(case.header[keyword]), keyword
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    assert {ds.SeriesInstanceUID for ds in datasets} == {case.header["SeriesInstanceUID"]}
    assert float(first.RescaleIntercept) == -1024.0 and float(first.RescaleSlope) == 1.0
    np.testing.assert_array_equal(
        first.pixel_array.astype(int) - 1024, case.image.array[0].astype(int)
    )
    z_positions = [float(ds.ImagePositionPatient[2]) for ds in datasets]
    np.testing.assert_allclose(np.diff(z_positions), case.image.spacing[0])
    assert float(first.SliceThickness) == case.image.spacing[0]


def test_series_output_is_reproducible(tmp_path: Path) -> None:
    case = generate_ct_case(1, seed=0, **SMALL)
    first = write_dicom_series(case.image, tmp_path / "a")
    second = write_dicom_series(case.image, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert pydicom.dcmread(first[0]).StudyInstanceUID.startswith("1.2.")


def test_series_rejects_unknown_modality(tmp_path: Path) -> None:
    image = Image(np.zeros((2, 8, 8), dtype=np.int16), meta={"modality": "PT"})
    with pytest.raises(ConfigError, match="CT or MR"):
        write_dicom_series(image, tmp_path)


def _rasterise_rtstruct(path: Path, reference: Image) -> np.ndarray:
    """Independent reader: even-odd fill of each contour, on the slice at its z position."""
    ds = pydicom.dcmread(path)
    result = np.zeros(reference.shape, dtype=bool)
    for item in ds.ROIContourSequence[0].ContourSequence:
        points = np.asarray(item.ContourData, dtype=float).reshape(-1, 3)
        indices = reference.world_to_index(points)
        k = int(round(indices[0, 0]))
        assert np.allclose(indices[:, 0], k, atol=1e-3)
        inside = polygon2mask(reference.shape[1:], indices[:, 1:])
        result[k] ^= inside
    return result


def test_rtstruct_round_trip_dice(ct_series: tuple, tmp_path: Path) -> None:
    case, files = ct_series
    path = write_rtstruct(case.mask, files, tmp_path / "rs.dcm")
    ds = pydicom.dcmread(path)
    assert ds.Modality == "RTSTRUCT" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.3"
    assert ds.StructureSetROISequence[0].ROIName == "lesion"
    assert ds.StudyInstanceUID == case.header["StudyInstanceUID"]
    frame = ds.ReferencedFrameOfReferenceSequence[0]
    assert frame.FrameOfReferenceUID == case.header["FrameOfReferenceUID"]
    series_ref = frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert series_ref.SeriesInstanceUID == case.header["SeriesInstanceUID"]
    slice_uids = {pydicom.dcmread(f).SOPInstanceUID for f in files}
    for item in ds.ROIContourSequence[0].ContourSequence:
        assert item.ContourImageSequence[0].ReferencedSOPInstanceUID in slice_uids
    rasterised = _rasterise_rtstruct(path, case.image)
    assert _dice(rasterised, case.mask.array) >= 0.95


def test_rtstruct_mask_with_hole_round_trips(tmp_path: Path) -> None:
    image = Image(
        np.zeros((3, 32, 32), dtype=np.int16),
        spacing=(2.0, 1.0, 1.0),
        origin=(-10.0, 5.0, 7.0),
        meta={"modality": "CT"},
    )
    yy, xx = np.mgrid[:32, :32]
    ring = ((yy - 16) ** 2 + (xx - 15) ** 2 <= 100) & ((yy - 16) ** 2 + (xx - 15) ** 2 > 16)
    array = np.zeros(image.shape, dtype=bool)
    array[1] = ring
    mask = Mask.like(image, array)
    files = write_dicom_series(image, tmp_path / "series")
    path = write_rtstruct(mask, files, tmp_path / "rs.dcm", roi_name="ring")
    rasterised = _rasterise_rtstruct(path, image)
    assert _dice(rasterised, array) >= 0.95
    assert not rasterised[1, 16, 15]  # the hole stays empty


def test_rtstruct_errors(ct_series: tuple, tmp_path: Path) -> None:
    case, files = ct_series
    empty = Mask.like(case.image, np.zeros(case.image.shape, dtype=bool))
    with pytest.raises(MaskError, match="empty"):
        write_rtstruct(empty, files, tmp_path / "rs.dcm")
    moved = Mask(
        case.mask.array,
        case.mask.spacing,
        np.asarray(case.mask.origin) + (0.0, 0.0, 1.0),
        case.mask.direction,
    )
    with pytest.raises(DicomError, match="no image"):
        write_rtstruct(moved, files, tmp_path / "rs.dcm")


def test_cr_radiograph(tmp_path: Path) -> None:
    case = generate_xray_case(1, seed=0)
    path = write_dicom_image(case.image, tmp_path / "cr.dcm", header=case.header)
    ds = pydicom.dcmread(path)
    assert ds.Modality == "CR" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1"
    assert [float(v) for v in ds.PixelSpacing] == [0.5, 0.5]
    np.testing.assert_array_equal(ds.pixel_array, case.image.array[0])
    read = sitk.ReadImage(str(path))
    assert read.GetSpacing()[:2] == (0.5, 0.5)
    with pytest.raises(ConfigError, match="one slice"):
        write_dicom_image(generate_ct_case(0, **SMALL).image, tmp_path / "x.dcm")


@pytest.mark.skipif(
    importlib.util.find_spec("medscale.io.dicom") is None,
    reason="medscale.io.dicom (the DICOM reader) is not written yet",
)
def test_medscale_reader_round_trip(ct_series: tuple) -> None:
    from medscale.io.dicom import read_dicom

    case, files = ct_series
    read = read_dicom(files[0].parent)
    assert read.geometry_equal(case.image, tol_mm=1e-4)
    np.testing.assert_allclose(read.array, case.image.array)


@pytest.mark.skipif(
    importlib.util.find_spec("medscale.io.rtstruct") is None,
    reason="medscale.io.rtstruct (the RTSTRUCT reader) is not written yet",
)
def test_medscale_rtstruct_reader_dice(ct_series: tuple, tmp_path: Path) -> None:
    from medscale.io.rtstruct import read_rtstruct_mask

    case, files = ct_series
    path = write_rtstruct(case.mask, files, tmp_path / "rs.dcm")
    mask = read_rtstruct_mask(path, case.image, roi="lesion")
    assert _dice(mask.array, case.mask.array) >= 0.95


@settings(max_examples=12, deadline=None)
@given(
    spacing=st.tuples(*(st.floats(0.3, 5.0) for _ in range(3))),
    origin=st.tuples(*(st.floats(-500.0, 500.0) for _ in range(3))),
    angles=st.tuples(*(st.floats(-np.pi, np.pi) for _ in range(3))),
)
def test_series_geometry_round_trip_property(spacing: tuple, origin: tuple, angles: tuple) -> None:
    """Any right-handed grid reads back from the written series with the same geometry."""
    from scipy.spatial.transform import Rotation

    xyz = Rotation.from_euler("xyz", angles).as_matrix()
    image = Image(
        np.arange(3 * 5 * 4, dtype=np.int16).reshape(3, 5, 4),
        spacing=spacing,
        origin=origin,
        direction=xyz[:, ::-1],
        meta={"modality": "CT"},
    )
    with tempfile.TemporaryDirectory() as folder:
        write_dicom_series(image, folder)
        read = _read_series(Path(folder))
    assert read.geometry_equal(image, tol_mm=1e-4)
    np.testing.assert_array_equal(read.array, image.array)
