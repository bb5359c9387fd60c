"""RTSTRUCT ROIs as masks: the IBSI CT phantom against its NIfTI mask, holes, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medscale import Image, InputError, MaskError
from medscale.errors import DicomError, MedscaleWarning
from medscale.io import read_image, read_mask
from medscale.io.dicom import read_dicom
from medscale.io.rtstruct import is_rtstruct, list_rois, read_rtstruct_mask

pydicom = pytest.importorskip("pydicom")


@pytest.fixture(scope="module")
def phantom_paths(shared_data) -> dict[str, Path]:
    root = shared_data / "ibsi1/ct_phantom"
    return {
        "image": root / "dicom/image",
        "rtstruct": root / "dicom/mask/DCM_RS_00060.dcm",
        "nifti_image": root / "nifti/phantom.nii.gz",
        "nifti_mask": root / "nifti/mask.nii.gz",
    }


@pytest.fixture(scope="module")
def phantom_image(phantom_paths) -> Image:
    return read_dicom(phantom_paths["image"])


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_phantom_rtstruct_matches_the_nifti_mask(phantom_paths, phantom_image):
    mask = read_rtstruct_mask(phantom_paths["rtstruct"], phantom_image, roi="GTV-1")
    truth = read_mask(phantom_paths["nifti_mask"])
    truth.require_same_grid(mask, tol_mm=1e-3)
    dice = _dice(mask.array, truth.array)
    difference = mask.voxel_count - truth.voxel_count
    print(
        f"IBSI CT phantom GTV-1: Dice {dice:.6f}, voxels {mask.voxel_count} vs "
        f"{truth.voxel_count} (difference {difference})"
    )
    assert dice >= 0.99
    # the pixel-centre rule reproduces the reference exactly
    assert dice == pytest.approx(1.0, abs=1e-12) and difference == 0
    assert mask.meta["roi"] == "GTV-1"


def test_read_mask_dispatches_rtstruct_and_needs_a_reference(phantom_paths, phantom_image):
    mask = read_mask(phantom_paths["rtstruct"], reference=phantom_image, roi="gtv-1")
    assert mask.voxel_count == 125256
    with pytest.raises(InputError, match="reference image"):
        read_mask(phantom_paths["rtstruct"])


def test_rtstruct_on_the_nifti_grid_without_frame_of_reference(phantom_paths):
    nifti = read_image(phantom_paths["nifti_image"])  # no frame of reference: no warning
    mask = read_rtstruct_mask(phantom_paths["rtstruct"], nifti)
    assert mask.voxel_count == 125256


def test_list_rois_and_is_rtstruct(phantom_paths, tmp_path):
    assert list_rois(phantom_paths["rtstruct"]) == ["GTV-1"]
    assert is_rtstruct(phantom_paths["rtstruct"])
    assert not is_rtstruct(phantom_paths["image"] / "DCM_IMG_00000.dcm")
    (tmp_path / "notes.txt").write_text("hello")
    assert not is_rtstruct(tmp_path / "notes.txt")
    with pytest.raises(DicomError, match="not an RTSTRUCT"):
        list_rois(phantom_paths["image"] / "DCM_IMG_00000.dcm")


def test_unknown_roi_lists_the_rois(phantom_paths, phantom_image):
    with pytest.raises(MaskError, match=r"no ROI named 'Liver'.*\['GTV-1'\]"):
        read_rtstruct_mask(phantom_paths["rtstruct"], phantom_image, roi="Liver")


def test_other_frame_of_reference_warns(phantom_paths, phantom_image):
    moved = Image(
        phantom_image.array,
        phantom_image.spacing,
        phantom_image.origin,
        phantom_image.direction,
        {"frame_of_reference_uid": "1.2.3.4"},
    )
    with pytest.warns(MedscaleWarning, match="frame of reference.*1.2.3.4"):
        read_rtstruct_mask(phantom_paths["rtstruct"], moved)


def test_mask_on_another_grid(phantom_paths, phantom_image):
    """A grid 1.6 mm (0.53 slice) off the contours warns; one that misses slices is an error."""
    origin = np.array(phantom_image.origin) + (0.0, 0.0, 1.6)
    shifted = phantom_image.with_geometry(origin=origin)
    with pytest.warns(MedscaleWarning, match="slice from the centre"):
        read_rtstruct_mask(phantom_paths["rtstruct"], shifted)
    lower, upper = read_mask(phantom_paths["nifti_mask"]).bounding_box()
    cropped = phantom_image.crop((lower[0] + 2, 0, 0), (upper[0], 201, 204))
    with pytest.raises(MaskError, match="off the reference grid .* by more than half a slice"):
        read_rtstruct_mask(phantom_paths["rtstruct"], cropped)
    with pytest.warns(MedscaleWarning, match="dropped"):
        clipped = read_rtstruct_mask(phantom_paths["rtstruct"], cropped, clip=True)
    full = read_rtstruct_mask(phantom_paths["rtstruct"], phantom_image)
    np.testing.assert_array_equal(clipped.array, full.array[lower[0] + 2 : upper[0]])
    tilted = phantom_image.with_geometry(direction=_rotation_about_x(20))
    with pytest.raises(MaskError, match="not in one slice plane"):
        read_rtstruct_mask(phantom_paths["rtstruct"], tilted)


def _rotation_about_x(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    x, y, z = np.eye(3)
    y_axis = np.array([0, np.cos(angle), np.sin(angle)])
    z_axis = np.array([0, -np.sin(angle), np.cos(angle)])
    return np.column_stack([z_axis, y_axis, x])


# -- synthetic structure sets: holes, several contours, slices off the image ----------------------
def _write_rtstruct(path: Path, rois: dict[str, list[np.ndarray]]) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "RTSTRUCT"
    dataset.StructureSetROISequence = Sequence()
    dataset.ROIContourSequence = Sequence()
    for number, (name, polygons) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        dataset.StructureSetROISequence.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ContourSequence = Sequence()
        for polygon in polygons:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(polygon)
            contour.ContourData = [f"{v:.4f}" for v in np.asarray(polygon).ravel()]
            item.ContourSequence.append(contour)
        dataset.ROIContourSequence.append(item)
    dataset.save_as(path, enforce_file_format=True)
    return path


def _square(x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])


@pytest.fixture
def grid() -> Image:
    """20 x 20 x 3 voxels, 1 mm in-plane, 2.5 mm slices, origin (10, 20, 0) LPS."""
    return Image(np.zeros((3, 20, 20), np.int16), spacing=(2.5, 1.0, 1.0), origin=(10.0, 20.0, 0.0))


def test_holes_and_several_contours_per_slice(tmp_path, grid):
    # world x = 10 + i, y = 20 + j; edges on half-integers so every centre is clearly in or out
    outer = _square(11.5, 27.5, 21.5, 37.5, 2.5)  # i, j in 2..17: 16 x 16 = 256 voxels
    hole = _square(15.5, 21.5, 25.5, 31.5, 2.5)  # i, j in 6..11: 6 x 6 = 36 voxels
    left = _square(9.5, 13.5, 19.5, 22.5, 5.0)  # i in 0..3, j in 0..2: 12 voxels
    right = _square(19.5, 24.5, 29.5, 31.5, 5.0)  # i in 10..14, j in 10..11: 10 voxels
    path = _write_rtstruct(
        tmp_path / "rs.dcm",
        {"ring": [outer, hole], "pair": [left, right], "skin": [_square(9, 30, 19, 40, 0.9)]},
    )
    assert is_rtstruct(path) and list_rois(path) == ["ring", "pair", "skin"]
    ring = read_rtstruct_mask(path, grid, roi="ring")
    assert ring.voxel_count == 256 - 36
    assert ring.array[1, 8, 8] == 0 and ring.array[1, 3, 3] and not ring.array[0].any()
    pair = read_rtstruct_mask(path, grid, roi="pair")
    assert pair.voxel_count == 12 + 10 and pair.array[2].sum() == 22
    with pytest.raises(MaskError, match="3 ROIs, pick one"):
        read_rtstruct_mask(path, grid)


def test_contour_between_slices_and_outside(tmp_path, grid):
    near = _write_rtstruct(tmp_path / "near.dcm", {"a": [_square(11.5, 13.5, 21.5, 23.5, 1.2)]})
    with pytest.warns(MedscaleWarning, match="0.48 slice from the centre of slice 0"):
        assert read_rtstruct_mask(near, grid).array[0].sum() == 4
    far = _write_rtstruct(tmp_path / "far.dcm", {"a": [_square(11.5, 13.5, 21.5, 23.5, 1.3)]})
    with pytest.warns(MedscaleWarning, match="0.48 slice from the centre of slice 1"):
        assert read_rtstruct_mask(far, grid).array[1].sum() == 4
    outside = _write_rtstruct(
        tmp_path / "out.dcm",
        {"a": [_square(11.5, 13.5, 21.5, 23.5, 6.5), _square(11.5, 13.5, 21.5, 23.5, 5.0)]},
    )
    with pytest.raises(MaskError, match="slice position 2.60, off the reference grid"):
        read_rtstruct_mask(outside, grid)
    with pytest.warns(MedscaleWarning, match="dropped"):
        assert read_rtstruct_mask(outside, grid, clip=True).voxel_count == 4
    nowhere = _write_rtstruct(tmp_path / "nowhere.dcm", {"a": [_square(100, 110, 21, 23, 0)]})
    with pytest.raises(MaskError, match="covers no voxel"):
        read_rtstruct_mask(nowhere, grid)


def test_scanline_fill_matches_skimage_polygon():
    """The vectorised even-odd fill against a peer: skimage.draw.polygon, on random polygons."""
    from skimage.draw import polygon

    from medscale.io.rtstruct import _fill

    rng = np.random.default_rng(7)
    shape = (40, 50)
    for n_vertices in (3, 5, 12, 40):
        for _ in range(10):  # random, often self-intersecting, some partly off the grid
            rows = rng.uniform(-5, 45, n_vertices)
            columns = rng.uniform(-5, 55, n_vertices)
            expected = np.zeros(shape, bool)
            rr, cc = polygon(rows, columns, shape=shape)
            expected[rr, cc] = True
            np.testing.assert_array_equal(_fill(rows, columns, shape), expected)
