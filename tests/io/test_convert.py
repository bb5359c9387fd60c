"""`medscale convert`: DICOM folders and files, NIfTI, NRRD and PNG in; NIfTI / NRRD out."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from medscale.cli.main import main
from medscale.errors import MedscaleWarning
from medscale.io import read_image, write_image

pydicom = pytest.importorskip("pydicom")


@pytest.fixture(scope="module")
def phantom_dir(shared_data):
    return shared_data / "ibsi1/ct_phantom/dicom"


def test_dicom_folder_to_nifti_keeps_voxels_and_geometry(
    phantom_dir, shared_data, tmp_path, capsys
):
    target = tmp_path / "ct.nii.gz"
    assert main(["convert", str(phantom_dir), str(target), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shape_zyx"] == [60, 201, 204] and summary["modality"] == "CT"
    converted = read_image(target)
    reference = read_image(shared_data / "ibsi1/ct_phantom/nifti/phantom.nii.gz")
    assert converted.geometry_equal(reference, tol_mm=1e-3)
    np.testing.assert_array_equal(converted.array, reference.array)


def test_single_dicom_file_to_nrrd(phantom_dir, tmp_path):
    source = phantom_dir / "image/DCM_IMG_00000.dcm"
    assert main(["convert", str(source), str(tmp_path / "slice.nrrd")]) == 0
    converted = read_image(tmp_path / "slice.nrrd")
    expected = pydicom.dcmread(source).pixel_array.astype(int) - 1000
    np.testing.assert_array_equal(converted.array[0], expected)
    np.testing.assert_allclose(converted.origin, (-174.3945, -79.6255, 76.6), atol=1e-3)


def test_nrrd_and_png_sources(shared_data, tmp_path):
    source = shared_data / "samples/breast1_image.nrrd"
    assert main(["convert", str(source), str(tmp_path / "breast.nii.gz")]) == 0
    original, converted = read_image(source), read_image(tmp_path / "breast.nii.gz")
    assert converted.geometry_equal(original, tol_mm=1e-4)
    np.testing.assert_array_equal(converted.array, original.array)

    from PIL import Image as PILImage

    grey = np.arange(60, dtype=np.uint8).reshape(6, 10)
    PILImage.fromarray(grey).save(tmp_path / "picture.png")
    assert main(["convert", str(tmp_path / "picture.png"), str(tmp_path / "picture.nrrd")]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "picture.nrrd").array[0], grey)


def test_nifti_round_trip(tmp_path, sphere_case):
    image, _ = sphere_case
    write_image(image, tmp_path / "in.nii.gz")
    assert main(["convert", str(tmp_path / "in.nii.gz"), str(tmp_path / "out.nrrd")]) == 0
    back = read_image(tmp_path / "out.nrrd")
    assert back.geometry_equal(image, tol_mm=1e-4)
    np.testing.assert_array_equal(back.array, image.array)


def test_several_series_need_series_uid(phantom_dir, tmp_path, capsys):
    folder = tmp_path / "mixed"
    shutil.copytree(phantom_dir / "image", folder / "ct")
    shutil.copy(pydicom.data.get_testdata_file("MR_small.dcm"), folder / "mr.dcm")
    mr_uid = str(pydicom.dcmread(folder / "mr.dcm").SeriesInstanceUID)
    assert main(["convert", str(folder), str(tmp_path / "x.nii.gz")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error:") and "2 series found" in error and mr_uid in error
    assert (
        main(["convert", str(folder), str(tmp_path / "x.nii.gz"), "--list-series", "--json"]) == 0
    )
    listed = json.loads(capsys.readouterr().out)["series"]
    assert sorted(row["instances"] for row in listed) == [1, 60]
    assert main(["convert", str(folder), str(tmp_path / "mr.nii.gz"), "--series-uid", mr_uid]) == 0
    assert read_image(tmp_path / "mr.nii.gz").shape == (1, 64, 64)


def test_missing_slice_needs_allow_uneven(phantom_dir, tmp_path, capsys):
    folder = tmp_path / "gap"
    shutil.copytree(phantom_dir / "image", folder)
    (folder / "DCM_IMG_00030.dcm").unlink()
    assert main(["convert", str(folder), str(tmp_path / "x.nii.gz")]) == 1
    assert "missing" in capsys.readouterr().err
    with pytest.warns(MedscaleWarning, match="DCM_IMG_00031.dcm -> .*DCM_IMG_00029.dcm"):
        assert main(["convert", str(folder), str(tmp_path / "x.nii.gz"), "--allow-uneven"]) == 0
    assert read_image(tmp_path / "x.nii.gz").shape == (59, 201, 204)


def test_help_has_an_example_and_bad_target_fails(tmp_path, sphere_case, capsys):
    assert main(["convert", "--help"]) == 0
    assert "Example:" in capsys.readouterr().out
    write_image(sphere_case[0], tmp_path / "in.nrrd")
    assert main(["convert", str(tmp_path / "in.nrrd"), str(tmp_path / "out.txt")]) == 1
    assert "error:" in capsys.readouterr().err
