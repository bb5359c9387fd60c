"""DICOM SEG read back against masks written with highdicom (an independent SEG writer)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from medscale import MaskError
from medscale.errors import DicomError, MedscaleWarning
from medscale.io.dicom import read_dicom
from medscale.io.rtstruct import read_rtstruct_mask
from medscale.io.seg import is_seg, list_segments, read_seg_mask

pydicom = pytest.importorskip("pydicom")
hd = pytest.importorskip("highdicom")


@pytest.fixture(scope="module")
def phantom(shared_data):
    root = shared_data / "ibsi1/ct_phantom/dicom"
    image = read_dicom(root / "image")
    gtv = read_rtstruct_mask(root / "mask/DCM_RS_00060.dcm", image)
    datasets = sorted(
        (pydicom.dcmread(f) for f in (root / "image").glob("*.dcm")),
        key=lambda ds: float(ds.ImagePositionPatient[2]),
    )  # = array z order
    return image, gtv, datasets


def _write_seg(path: Path, datasets, masks: dict[str, np.ndarray], *, kind="BINARY") -> Path:
    from pydicom.sr.codedict import codes

    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, label in enumerate(masks, start=1)
    ]
    stacked = np.stack(list(masks.values()), axis=-1)
    stacked = stacked.astype(np.float32 if kind == "FRACTIONAL" else np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        seg = hd.seg.Segmentation(
            source_images=datasets,
            pixel_array=stacked,
            segmentation_type=kind,
            segment_descriptions=descriptions,
            series_instance_uid=hd.UID(),
            series_number=9,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="medscale tests",
            manufacturer_model_name="tests",
            software_versions="1",
            device_serial_number="1",
        )
    seg.save_as(path)
    return path


def test_binary_seg_round_trip_on_the_phantom(phantom, tmp_path):
    image, gtv, datasets = phantom
    box = np.zeros(image.shape, bool)
    box[20:25, 50:60, 70:90] = True
    path = _write_seg(tmp_path / "seg.dcm", datasets, {"GTV-1": gtv.array, "Box": box})
    assert is_seg(path) and not is_seg(datasets[0].filename)
    assert list_segments(path) == {1: "GTV-1", 2: "Box"}
    read_gtv = read_seg_mask(path, image, segment="gtv-1")
    np.testing.assert_array_equal(read_gtv.array, gtv.array)
    assert read_gtv.voxel_count == 125256 and read_gtv.meta["segment_number"] == 1
    read_box = read_seg_mask(path, image, segment=2)
    assert read_box.voxel_count == 5 * 10 * 20
    np.testing.assert_array_equal(read_box.array, box)
    with pytest.raises(MaskError, match=r"no segment 'Liver'.*1: 'GTV-1', 2: 'Box'"):
        read_seg_mask(path, image, segment="Liver")
    with pytest.raises(MaskError, match="2 segments, pick one"):
        read_seg_mask(path, image)


def test_fractional_seg_thresholds(phantom, tmp_path):
    image, gtv, datasets = phantom
    sub = datasets[28:34]
    grid = image.crop((28, 0, 0), (34, 201, 204))
    soft = gtv.array[28:34].astype(np.float32) * 0.75
    soft[:, 100:, :] *= 0.5  # 0.375 below the default threshold
    path = _write_seg(tmp_path / "frac.dcm", sub, {"soft": soft}, kind="FRACTIONAL")
    half = read_seg_mask(path, grid)
    np.testing.assert_array_equal(half.array, soft >= 0.5)
    low = read_seg_mask(path, grid, threshold=0.3)
    np.testing.assert_array_equal(low.array, soft >= 0.3)


def test_seg_on_another_grid(phantom, tmp_path):
    image, gtv, datasets = phantom
    path = _write_seg(tmp_path / "seg.dcm", datasets, {"GTV-1": gtv.array})
    # a sub-volume: the frames outside it are dropped with a warning
    lower, upper = gtv.bounding_box()
    crop = image.crop((lower[0] + 3, 60, 60), (60, 201, 204))
    with pytest.warns(MedscaleWarning, match="outside the reference grid"):
        cropped = read_seg_mask(path, crop)
    np.testing.assert_array_equal(cropped.array, gtv.array[lower[0] + 3 :, 60:, 60:])
    half_voxel = image.with_geometry(origin=np.array(image.origin) + (0.5, 0, 0))
    with pytest.raises(MaskError, match="between the voxels"):
        read_seg_mask(path, half_voxel)
    coarse = image.with_geometry(spacing=(3.0, 1.5, 1.5))
    with pytest.raises(MaskError, match="resample"):
        read_seg_mask(path, coarse)
    other = image.with_array(image.array, frame_of_reference_uid="1.2.3")
    with pytest.warns(MedscaleWarning, match="frame of reference"):
        read_seg_mask(path, other)


def test_not_a_seg(phantom):
    _, _, datasets = phantom
    with pytest.raises(DicomError, match="not a DICOM SEG"):
        list_segments(datasets[0].filename)


def test_read_mask_dispatches_seg(phantom, tmp_path):
    from medscale import InputError
    from medscale.io import read_mask

    image, gtv, datasets = phantom
    path = _write_seg(tmp_path / "seg.dcm", datasets, {"GTV-1": gtv.array, "Box": gtv.array})
    np.testing.assert_array_equal(read_mask(path, reference=image, roi="GTV-1").array, gtv.array)
    assert read_mask(path, reference=image, mask_label=2).meta["segment"] == "Box"
    with pytest.raises(InputError, match="needs the reference image grid"):
        read_mask(path, roi="GTV-1")
