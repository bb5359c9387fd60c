"""DICOM image reading: geometry against NIfTI, codecs against uncompressed files, bad input."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from medscale import DicomError, GeometryError
from medscale.errors import MedscaleWarning
from medscale.io import read_image
from medscale.io.dicom import list_series, read_dicom

pydicom = pytest.importorskip("pydicom")
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _testdata(name: str) -> Path:
    path = TEST_FILES / name
    if not path.is_file():
        pytest.skip(f"pydicom test file {name} is not bundled with this pydicom")
    return path


# the optional decoders (extra `dicom`) a compressed test file needs
_EXTRA = {
    "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg or Pillow (JPEG baseline)",
    "1.2.840.10008.1.2.4.80": "pyjpegls or pylibjpeg-libjpeg (JPEG-LS)",
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg (JPEG lossless)",
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg (JPEG 2000)",
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg (JPEG 2000)",
}


def _needs_decoder(path: Path) -> Path:
    """Skip, naming the extra, when no installed plugin decodes ``path``'s transfer syntax."""
    syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        from pydicom.pixels import get_decoder

        if not get_decoder(syntax).is_available:
            extra = _EXTRA.get(str(syntax), "a pydicom pixel-data plugin")
            pytest.skip(f"{path.name}: no decoder for {syntax.name}; install {extra}")
    return path


@pytest.fixture(scope="module")
def phantom_dir(shared_data) -> Path:
    return shared_data / "ibsi1/ct_phantom/dicom/image"


@pytest.fixture(scope="module")
def phantom(phantom_dir):
    return read_dicom(phantom_dir)


def _copy_slices(phantom_dir: Path, target: Path, count: int = 8) -> list[Path]:
    """The `count` phantom slices nearest the top (files in z order), copied to `target`."""
    files = sorted(
        phantom_dir.glob("*.dcm"),
        key=lambda f: -float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]),
    )[:count]
    target.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(f, target / f.name)) for f in files]


# -- the IBSI CT phantom: DICOM series == NIfTI copy -------------------------------------------
def test_phantom_series_matches_nifti_voxels_and_geometry(phantom, shared_data):
    nifti = read_image(shared_data / "ibsi1/ct_phantom/nifti/phantom.nii.gz")
    assert phantom.shape == nifti.shape == (60, 201, 204)
    assert phantom.geometry_equal(nifti, tol_mm=1e-3)
    np.testing.assert_allclose(phantom.origin, (-174.3945, -79.6255, -100.4), atol=1e-3)
    np.testing.assert_allclose(phantom.spacing, (3.0, 0.977, 0.977), atol=1e-6)
    # stored 0..4095 with intercept -1000: integral HU, kept as int16, identical voxels
    assert phantom.dtype == np.int16
    np.testing.assert_array_equal(phantom.array, nifti.array)
    assert phantom.meta["modality"] == "CT" and phantom.meta["units"] == "HU"
    assert phantom.meta["patient_id"] == "1"
    assert phantom.meta["series_uid"].startswith("1.3.6.1.4.1.9590")


def test_parent_folder_ignores_the_rtstruct(phantom, phantom_dir):
    image = read_dicom(phantom_dir.parent)  # image/ and mask/ (an RTSTRUCT)
    np.testing.assert_array_equal(image.array, phantom.array)
    [series] = list_series(phantom_dir.parent)
    assert series.n_instances == 60 and series.modality == "CT"


def test_single_slice_file(phantom_dir, phantom):
    image = read_dicom(phantom_dir / "DCM_IMG_00000.dcm")
    assert image.shape == (1, 201, 204)
    assert image.spacing[0] == pytest.approx(3.0)  # SliceThickness
    # DCM_IMG_00000 is the top slice (z = 76.6), the last one of the sorted series
    np.testing.assert_array_equal(image.array[0], phantom.array[-1])
    np.testing.assert_allclose(image.origin, phantom.index_to_world((59, 0, 0)), atol=1e-4)


def test_enhanced_multiframe_matches_the_series(phantom_dir, tmp_path):
    hd = pytest.importorskip("highdicom")
    files = _copy_slices(phantom_dir, tmp_path / "series", count=6)
    datasets = [pydicom.dcmread(f) for f in files]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        enhanced = hd.legacy.LegacyConvertedEnhancedCTImage(
            legacy_datasets=datasets,
            series_instance_uid=hd.UID(),
            series_number=2,
            sop_instance_uid=hd.UID(),
            instance_number=1,
        )
    enhanced.save_as(tmp_path / "enhanced.dcm")
    series = read_dicom(tmp_path / "series")
    multiframe = read_dicom(tmp_path / "enhanced.dcm")
    assert multiframe.shape == series.shape == (6, 201, 204)
    assert multiframe.geometry_equal(series, tol_mm=1e-4)
    np.testing.assert_array_equal(multiframe.array, series.array)


# -- codecs and transfer syntaxes: same pixels as the uncompressed original -------------------
@pytest.mark.parametrize(
    "name",
    [
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_implicit.dcm",
    ],
)
def test_transfer_syntaxes_decode_to_the_reference(name):
    reference = read_dicom(_testdata("MR_small.dcm"))
    image = read_dicom(_needs_decoder(_testdata(name)))
    assert image.geometry_equal(reference, tol_mm=1e-6)
    np.testing.assert_array_equal(image.array, reference.array)


def test_mr_small_geometry_and_values():
    image = read_dicom(_testdata("MR_small.dcm"))
    dataset = pydicom.dcmread(_testdata("MR_small.dcm"))
    assert image.shape == (1, 64, 64) and image.dtype == np.int16
    np.testing.assert_allclose(image.origin, [float(v) for v in dataset.ImagePositionPatient])
    np.testing.assert_allclose(image.spacing[1:], (0.3125, 0.3125))
    assert int(image.array.sum()) == int(dataset.pixel_array.astype(np.int64).sum())


@pytest.mark.parametrize(
    ("name", "tolerance"), [("JPEG2000.dcm", 0), ("SC_rgb_jpeg_dcmtk.dcm", 3.0)]
)
def test_compressed_frames_match_pillow(name, tolerance):
    """A peer decoder: Pillow's own JPEG / JPEG 2000 codecs on the encapsulated frame."""
    import io

    from PIL import Image as PILImage
    from pydicom.encaps import generate_frames

    path = _needs_decoder(_testdata(name))
    dataset = pydicom.dcmread(path)
    codestream = next(generate_frames(dataset.PixelData, number_of_frames=1))
    try:
        expected = np.array(PILImage.open(io.BytesIO(codestream)))
    except OSError as err:
        pytest.skip(f"Pillow cannot decode {name}: {err}")
    if int(dataset.PixelRepresentation) == 1:  # Pillow shifts signed samples by 2**(bits-1)
        expected = expected.astype(np.int64) - 2 ** (int(dataset.BitsStored) - 1)
    if expected.ndim == 3:  # colour: compare BT.601 luma (two JPEG decoders differ slightly)
        expected = expected @ np.array([0.299, 0.587, 0.114])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        image = read_dicom(path)
    assert image.shape == (1, *expected.shape)
    assert np.abs(image.array[0].astype(float) - expected).max() <= tolerance


def test_deflate_transfer_syntax():
    import zlib

    path = _testdata("image_dfl.dcm")
    image = read_dicom(path)
    assert image.shape == (1, 512, 512)
    # independent check: the raw deflate stream inflates to a dataset with the same pixels
    raw = path.read_bytes()
    header = pydicom.dcmread(path, stop_before_pixels=True)
    start = 132 + 12 + int(header.file_meta.FileMetaInformationGroupLength)
    inflated = zlib.decompress(raw[start:], -zlib.MAX_WBITS)
    assert inflated.endswith(image.array.astype(header_dtype(header)).tobytes()[-4096:])


def header_dtype(header) -> str:
    kind = "i" if int(header.PixelRepresentation) else "u"
    return f"<{kind}{int(header.BitsAllocated) // 8}"


def test_rtdose_multiframe_geometry_and_scaling():
    image = read_dicom(_testdata("rtdose.dcm"))
    dataset = pydicom.dcmread(_testdata("rtdose.dcm"))
    assert image.shape == (15, 10, 10)
    np.testing.assert_allclose(image.spacing, (5.0, 10.0, 10.0))
    np.testing.assert_allclose(image.origin, [float(v) for v in dataset.ImagePositionPatient])
    expected = dataset.pixel_array * float(dataset.DoseGridScaling)
    np.testing.assert_allclose(image.array, expected, rtol=1e-6)
    assert image.dtype == np.float32 and image.meta["units"] == str(dataset.DoseUnits)
    for variant in ("rtdose_rle.dcm", "rtdose_expb.dcm"):
        other = read_dicom(_testdata(variant))
        assert other.geometry_equal(image, tol_mm=1e-6)
        np.testing.assert_array_equal(other.array, image.array)


def test_rgb_dicom_becomes_bt601_luma():
    path = _testdata("SC_rgb_rle.dcm")
    with pytest.warns(MedscaleWarning, match="BT.601"):
        image = read_dicom(path)
    rgb = pydicom.dcmread(path).pixel_array.astype(float)
    np.testing.assert_allclose(image.array[0], rgb @ [0.299, 0.587, 0.114], rtol=1e-5)


def test_missing_codec_names_the_transfer_syntax(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import UID

    dataset = pydicom.dcmread(_testdata("MR_small.dcm"))
    dataset.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2: no decoder
    dataset.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
    dataset["PixelData"].VR = "OB"
    dataset.save_as(tmp_path / "jxl.dcm", enforce_file_format=True)
    with pytest.raises(DicomError, match=r"MPEG2.*pip install medscale\[dicom\]"):
        read_dicom(tmp_path / "jxl.dcm")


# -- bad input -----------------------------------------------------------------------------
def test_empty_folder(tmp_path):
    with pytest.raises(DicomError, match=f"{tmp_path.name}.*no readable DICOM image"):
        read_dicom(tmp_path)


def test_non_dicom_and_truncated_files_are_skipped_with_warnings(phantom_dir, tmp_path):
    files = _copy_slices(phantom_dir, tmp_path, count=6)
    (tmp_path / "notes.txt").write_text("not a DICOM file")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01hidden: ignored without a warning")
    (tmp_path / "stub.dcm").write_bytes(files[0].read_bytes()[:200])  # header cut short
    files[-1].write_bytes(files[-1].read_bytes()[:-500])  # bottom slice: pixels cut short
    with pytest.warns(MedscaleWarning) as record:
        image = read_dicom(tmp_path)
    messages = " ".join(str(w.message) for w in record)
    assert "notes.txt" in messages and "stub.dcm" in messages and files[-1].name in messages
    assert ".DS_Store" not in messages
    assert image.shape == (5, 201, 204)


def test_truncated_single_file_is_an_error(tmp_path):
    with pytest.raises(DicomError, match="MR_truncated.dcm"):
        read_dicom(_testdata("MR_truncated.dcm"))


def test_missing_slice_is_a_geometry_error_naming_the_gap(phantom_dir, tmp_path):
    files = _copy_slices(phantom_dir, tmp_path, count=8)
    files[3].unlink()
    with pytest.raises(GeometryError, match=r"1 slice\(s\) missing.*6\.000 mm instead of 3\.000"):
        read_dicom(tmp_path)
    with pytest.warns(MedscaleWarning, match="missing"):
        image = read_dicom(tmp_path, allow_uneven=True)
    assert image.shape[0] == 7 and image.spacing[0] == pytest.approx(3.0)


def test_two_series_need_a_series_uid(phantom_dir, tmp_path):
    _copy_slices(phantom_dir, tmp_path / "ct", count=4)
    shutil.copy(_testdata("MR_small.dcm"), tmp_path / "mr.dcm")
    mr_uid = str(pydicom.dcmread(tmp_path / "mr.dcm").SeriesInstanceUID)
    with pytest.raises(DicomError, match=f"2 series found.*{mr_uid}.*MR.*1 instances"):
        read_dicom(tmp_path)
    summaries = {s.series_uid: s for s in list_series(tmp_path)}
    assert summaries[mr_uid].n_instances == 1
    assert read_dicom(tmp_path, series_uid=mr_uid).shape == (1, 64, 64)
    ct_uid = next(uid for uid in summaries if uid != mr_uid)
    assert read_dicom(tmp_path, series_uid=ct_uid).shape == (4, 201, 204)
    with pytest.raises(DicomError, match="no series '1.2.3'"):
        read_dicom(tmp_path, series_uid="1.2.3")


def test_mixed_orientation_is_an_error(phantom_dir, tmp_path):
    files = _copy_slices(phantom_dir, tmp_path, count=4)
    dataset = pydicom.dcmread(files[1])
    dataset.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    dataset.save_as(files[1])
    with pytest.raises(DicomError, match="mixed orientations"):
        read_dicom(tmp_path)


def test_oblique_series_geometry(phantom_dir, tmp_path):
    """A rotated stack: direction columns are (normal, column, row) cosines; positions kept."""
    angle = np.deg2rad(30)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    column = np.array([0.0, 0.0, -1.0])
    normal = np.cross(row, column)
    origin = np.array([10.0, -20.0, 30.0])
    files = _copy_slices(phantom_dir, tmp_path, count=3)
    for k, file in enumerate(files[::-1]):  # written in reverse order on purpose
        dataset = pydicom.dcmread(file)
        dataset.ImageOrientationPatient = [*row, *column]
        dataset.ImagePositionPatient = list(origin + (2 - k) * 2.5 * normal)
        dataset.save_as(file)
    image = read_dicom(tmp_path)
    np.testing.assert_allclose(
        image.direction_matrix, np.column_stack([normal, column, row]), atol=1e-6
    )
    np.testing.assert_allclose(image.spacing, (2.5, 0.977, 0.977), atol=1e-6)
    np.testing.assert_allclose(image.origin, origin, atol=1e-4)
    np.testing.assert_allclose(
        image.index_to_world((2, 1, 0)), origin + 5 * normal + 0.977 * column, atol=1e-3
    )


def test_non_image_instances_are_ignored_quietly(phantom_dir, tmp_path):
    _copy_slices(phantom_dir, tmp_path, count=3)
    for name in ("test-SR.dcm", "rtplan.dcm", "liver_1frame.dcm"):  # SR, RT plan, SEG
        shutil.copy(_testdata(name), tmp_path / name)
    shutil.copy(TEST_FILES / "dicomdirtests" / "DICOMDIR", tmp_path / "DICOMDIR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = read_dicom(tmp_path)
    assert image.shape == (3, 201, 204)


def test_series_without_positions_is_an_error(phantom_dir, tmp_path):
    files = _copy_slices(phantom_dir, tmp_path, count=3)
    dataset = pydicom.dcmread(files[0])
    del dataset.ImagePositionPatient
    dataset.save_as(files[0])
    with pytest.raises(DicomError, match="1 of 3 files have no ImagePositionPatient"):
        read_dicom(tmp_path)


def test_jpeg_lossless_matches_rle_lossless():
    """Two lossless codecs (JPEG process 14 via pylibjpeg, RLE) of the same RGB picture."""
    with pytest.warns(MedscaleWarning):
        jpeg = read_dicom(_needs_decoder(_testdata("SC_rgb_jpeg_gdcm.dcm")))
    with pytest.warns(MedscaleWarning):
        rle = read_dicom(_testdata("SC_rgb_rle.dcm"))
    assert jpeg.shape == (1, 100, 100)
    np.testing.assert_array_equal(jpeg.array, rle.array)


def test_multiframe_without_geometry_is_stacked_with_a_warning():
    path = _testdata("SC_rgb_rle_2frame.dcm")
    with pytest.warns(MedscaleWarning) as record:
        image = read_dicom(path)
    messages = [str(w.message) for w in record]
    assert any("2 frames without GridFrameOffsetVector" in m for m in messages)
    assert any("BT.601" in m for m in messages)
    rgb = pydicom.dcmread(path).pixel_array.astype(float)  # (2, 100, 100, 3)
    assert image.shape == (2, 100, 100) and image.spacing == (1.0, 1.0, 1.0)
    np.testing.assert_allclose(image.array, rgb @ [0.299, 0.587, 0.114], rtol=1e-5)
