"""Round trips through the project's DICOM writers (io.dicom_write) and these readers."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask

dicom_write = pytest.importorskip("medscale.io.dicom_write")
from medscale.io.dicom import read_dicom  # noqa: E402
from medscale.io.rtstruct import read_rtstruct_mask  # noqa: E402


def _direction(tilt_degrees: float, spin_degrees: float) -> np.ndarray:
    """Columns (z, y, x): a right-handed frame rotated about Z by spin, then about X by tilt."""
    tilt, spin = np.deg2rad(tilt_degrees), np.deg2rad(spin_degrees)
    about_z = np.array(
        [[np.cos(spin), -np.sin(spin), 0], [np.sin(spin), np.cos(spin), 0], [0, 0, 1]]
    )
    about_x = np.array(
        [[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]]
    )
    rotation = about_x @ about_z  # columns: world directions of x, y, z
    return rotation[:, ::-1]


@pytest.mark.parametrize(("tilt", "spin"), [(0, 0), (0, 25), (30, -40), (90, 0)])
def test_series_and_rtstruct_round_trip(tmp_path, tilt, spin):
    rng = np.random.default_rng(abs(tilt * 1000 + spin))
    array = rng.integers(-1000, 2000, (6, 30, 40)).astype(np.int16)
    image = Image(
        array,
        spacing=(2.0, 0.8, 0.7),
        origin=(10.0, -20.0, 30.0),
        direction=_direction(tilt, spin),
        meta={"modality": "CT"},
    )
    z, y, x = np.mgrid[:6, :30, :40]
    ring = (np.abs(np.hypot(y - 15, x - 20) - 7) < 3) & (z > 0) & (z < 5)
    mask = Mask.like(image, ring)
    files = dicom_write.write_dicom_series(image, tmp_path / "series")
    back = read_dicom(tmp_path / "series")
    assert back.geometry_equal(image, tol_mm=1e-3)
    np.testing.assert_array_equal(back.array, image.array)
    dicom_write.write_rtstruct(mask, files, tmp_path / "rs.dcm", roi_name="ring")
    read = read_rtstruct_mask(tmp_path / "rs.dcm", back, roi="ring")
    np.testing.assert_array_equal(read.array, mask.array)  # holes (the ring's inside) kept
