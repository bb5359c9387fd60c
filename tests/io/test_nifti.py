"""NaN and ±Inf survive a NIfTI round trip (ITK 5.4 alone reads them back as 0)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medscale import Image, InputError
from medscale.io import read_image, write_image
from medscale.io.nifti import parse_header, read_payload, restore_non_finite


def _image(array: np.ndarray) -> Image:
    angle = np.deg2rad(30)
    x_axis = [np.cos(angle), np.sin(angle), 0.0]
    y_axis = [-np.sin(angle), np.cos(angle), 0.0]
    direction = np.array([[0.0, 0.0, 1.0], y_axis, x_axis]).T  # columns: axes z, y, x
    return Image(array, spacing=(2.0, 0.75, 0.5), origin=(-10.0, 4.5, 80.0), direction=direction)


def _with_non_finite(dtype: type) -> np.ndarray:
    array = np.random.default_rng(3).normal(0, 100, (4, 5, 6)).astype(dtype)
    array[0, 1, 2] = np.nan
    array[3, 4, 5] = np.inf
    array[2, 0, 0] = -np.inf
    array[1, 1, 1] = 0.0  # a real zero stays zero
    return array


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_round_trip(tmp_path, suffix, dtype):
    image = _image(_with_non_finite(dtype))
    back = read_image(write_image(image, tmp_path / f"image{suffix}"))
    assert back.array.dtype == dtype
    np.testing.assert_array_equal(back.array, image.array)  # NaN == NaN for this assert
    assert np.isnan(back.array[0, 1, 2]) and back.array[3, 4, 5] == np.inf
    assert back.array[2, 0, 0] == -np.inf and back.array[1, 1, 1] == 0.0
    assert back.geometry_equal(image, tol_mm=1e-4)


def test_one_slice_image_round_trip(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    array[0, 2, 1] = np.nan
    back = read_image(write_image(_image(array), tmp_path / "slice.nii.gz"))
    assert back.shape == (1, 3, 4)
    np.testing.assert_array_equal(back.array, array)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 2**16),
    fraction=st.floats(0.0, 1.0),
)
def test_round_trip_property(tmp_path, shape, seed, fraction):
    rng = np.random.default_rng(seed)
    array = rng.normal(0, 1, shape).astype(np.float32)
    array[rng.random(shape) < fraction] = np.nan
    back = read_image(write_image(_image(array), tmp_path / "random.nii"))
    np.testing.assert_array_equal(back.array, array)


def _set_scaling(path: Path, slope: float, intercept: float) -> None:
    raw = bytearray(path.read_bytes())
    raw[112:120] = struct.pack("<2f", slope, intercept)
    path.write_bytes(bytes(raw))


def test_scaled_payload_keeps_nan_and_scales_the_rest(tmp_path):
    stored = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    stored[1, 2, 3] = np.nan
    path = write_image(_image(stored), tmp_path / "scaled.nii")
    _set_scaling(path, 2.0, -1.0)
    back = read_image(path)
    expected = stored * 2.0 - 1.0
    np.testing.assert_allclose(back.array, expected, rtol=1e-6)
    assert np.isnan(back.array[1, 2, 3])


def test_integer_image_is_left_to_simpleitk(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = write_image(_image(array), tmp_path / "labels.nii.gz")
    assert read_payload(path) is None
    np.testing.assert_array_equal(read_image(path).array, array)


def _nifti1_header(order: str, datatype: int, dims: tuple[int, ...]) -> bytes:
    header = bytearray(348)
    header[0:4] = struct.pack(order + "i", 348)
    header[40:56] = struct.pack(order + "8h", len(dims), *dims, *([1] * (7 - len(dims))))
    header[70:72] = struct.pack(order + "h", datatype)
    header[108:120] = struct.pack(order + "3f", 352.0, 0.0, 0.0)
    return bytes(header)


def _nifti2_header(datatype: int, dims: tuple[int, ...], slope: float, intercept: float) -> bytes:
    header = bytearray(540)
    header[0:4] = struct.pack("<i", 540)
    header[4:12] = b"n+2\0\r\n\x1a\n"
    header[12:14] = struct.pack("<h", datatype)
    header[16:80] = struct.pack("<8q", len(dims), *dims, *([1] * (7 - len(dims))))
    header[168:192] = struct.pack("<q2d", 544, slope, intercept)
    return bytes(header)


def test_parse_header_both_byte_orders_and_nifti2():
    little = parse_header(_nifti1_header("<", 16, (6, 5, 4)))
    big = parse_header(_nifti1_header(">", 64, (6, 5, 4, 1)))
    assert little is not None and big is not None
    assert (little.dtype, little.offset, little.n_voxels) == (np.dtype("<f4"), 352, 120)
    assert (big.dtype, big.n_voxels, big.slope) == (np.dtype(">f8"), 120, 0.0)
    second = parse_header(_nifti2_header(64, (7, 3, 2), 0.5, 2.0))
    assert second is not None
    assert (second.dtype, second.offset, second.n_voxels) == (np.dtype("<f8"), 544, 42)
    assert (second.slope, second.intercept) == (0.5, 2.0)
    assert parse_header(_nifti1_header("<", 4, (6, 5, 4))) is None  # int16: nothing to restore
    with pytest.raises(InputError, match="sizeof_hdr"):
        parse_header(bytes(348))


def test_nifti2_gz_payload_is_read_in_order(tmp_path):
    values = np.array([1.5, np.nan, np.inf, -np.inf, 2.5, 0.0], dtype=np.float64)
    path = tmp_path / "hand.nii.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(_nifti2_header(64, (3, 2, 1), 0.0, 0.0) + bytes(4) + values.tobytes())
    np.testing.assert_array_equal(read_payload(path), values)


def test_truncated_payload_names_the_file(tmp_path):
    path = write_image(_image(_with_non_finite(np.float32)), tmp_path / "cut.nii")
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(InputError, match="cut.nii: voxel data truncated"):
        read_payload(path)


def test_payload_that_disagrees_with_the_image_is_refused(tmp_path):
    array = _with_non_finite(np.float32)
    path = write_image(_image(array), tmp_path / "image.nii")
    other = _image(np.where(np.isfinite(array), array + 1, 0).astype(np.float32))
    with pytest.raises(InputError, match="disagrees"):
        restore_non_finite(path, other)
