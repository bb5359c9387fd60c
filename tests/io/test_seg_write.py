"""DICOM SEG written by medscale (highdicom) and read back on the source grid."""

from __future__ import annotations

import numpy as np
import pytest

from medscale.errors import MaskError
from medscale.image import Image, Mask
from medscale.io import read_mask
from medscale.io.dicom import read_dicom
from medscale.io.dicom_write import write_dicom_series
from medscale.io.seg import is_seg, read_seg_fractions, read_seg_mask
from medscale.io.seg_write import write_seg

pydicom = pytest.importorskip("pydicom")
pytest.importorskip("highdicom")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    rng = np.random.default_rng(7)
    values = rng.integers(-200, 300, size=(6, 24, 20)).astype(np.int16)
    image = Image(values, spacing=(2.5, 0.8, 0.7), origin=(-10.0, 5.0, 3.0))
    folder = tmp_path_factory.mktemp("series")
    files = write_dicom_series(image, folder, header={"PatientID": "SEG1"})
    return read_dicom(folder), folder, files


def _mask(image):
    array = np.zeros(image.shape, bool)
    array[1:5, 4:15, 3:12] = True
    array[2, 8, :] = True
    array[0, 0, 0] = True  # a corner voxel
    return Mask.like(image, array)


def test_binary_round_trip_identical(series, tmp_path):
    image, folder, files = series
    mask = _mask(image)
    path = write_seg(mask, folder, tmp_path / "seg.dcm", label="lesion")
    assert is_seg(path)
    seg = pydicom.dcmread(path)
    assert seg.SegmentationType == "BINARY"
    assert seg.FrameOfReferenceUID == image.meta["frame_of_reference_uid"]
    assert seg.StudyInstanceUID == image.meta["study_uid"]
    referenced = {
        item.ReferencedSOPInstanceUID
        for series_item in seg.ReferencedSeriesSequence
        for item in series_item.ReferencedInstanceSequence
    }
    assert referenced == {pydicom.dcmread(f).SOPInstanceUID for f in files}
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == image.meta["series_uid"]
    back = read_seg_mask(path, image)
    np.testing.assert_array_equal(back.array, mask.array)
    assert back.meta["segment"] == "lesion"
    # the dispatcher every mask goes through
    np.testing.assert_array_equal(read_mask(path, reference=image).array, mask.array)
    # file order of the source does not matter; same input, same UIDs
    again = write_seg(mask, list(reversed(files)), tmp_path / "again.dcm", label="lesion")
    assert pydicom.dcmread(again).SOPInstanceUID == seg.SOPInstanceUID


def test_fractional_round_trip_within_1_255(series, tmp_path):
    image, folder, _ = series
    rng = np.random.default_rng(3)
    fractions = rng.random(image.shape).astype(np.float32)
    fractions[fractions < 0.2] = 0
    soft = image.with_array(fractions)
    path = write_seg(soft, folder, tmp_path / "frac.dcm", fractional=True)
    assert pydicom.dcmread(path).SegmentationType == "FRACTIONAL"
    back = read_seg_fractions(path, image)
    assert back.shape == image.shape
    assert np.abs(back.array - fractions).max() <= 1 / 255 + 1e-7
    assert np.all(back.array[fractions == 0] == 0)
    np.testing.assert_array_equal(
        read_seg_mask(path, image).array, np.rint(fractions * 255) / 255 >= 0.5
    )


def test_binary_fractions_are_zero_one(series, tmp_path):
    image, folder, _ = series
    mask = _mask(image)
    path = write_seg(mask, folder, tmp_path / "seg.dcm")
    np.testing.assert_array_equal(read_seg_fractions(path, image).array, mask.array.astype(float))


def test_wrong_grid_and_values(series, tmp_path):
    image, folder, _ = series
    shifted = Mask.like(image.with_geometry(origin=(0.0, 0.0, 0.0)), _mask(image).array)
    with pytest.raises(MaskError, match="must be on the source grid"):
        write_seg(shifted, folder, tmp_path / "x.dcm")
    with pytest.raises(MaskError, match=r"\[0, 1\]"):
        write_seg(
            image.with_array(np.full(image.shape, 2.0)), folder, tmp_path / "x.dcm", fractional=True
        )
    with pytest.raises(MaskError, match="needs a Mask"):
        write_seg(image, folder, tmp_path / "x.dcm")
    assert not (tmp_path / "x.dcm").exists()
