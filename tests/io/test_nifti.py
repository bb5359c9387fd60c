"""Float NIfTI decoded by medscale: equal bit for bit to SimpleITK on finite voxels, NaN/±Inf kept
(ITK 5.4 alone reads them back as 0), geometry from SimpleITK, other files left to SimpleITK."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medscale import GeometryError, Image, InputError
from medscale.io import nifti, read_image, write_image
from medscale.io.formats import image_shape
from medscale.io.nifti import itk_scaling, parse_header, read_float_nifti, read_payload
from medscale.io.sitk_bridge import from_sitk

ROTATED_AFFINE = np.array(  # 30 degrees about z, spacing (0.5, 0.75, 2.0), LPS origin
    [[0.5 * 0.866025, -0.75 * 0.5, 0.0, -10.0], [0.5 * 0.5, 0.75 * 0.866025, 0.0, 4.5],
     [0.0, 0.0, 2.0, 80.0]]
)  # fmt: skip


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


def _nifti1_header(order: str, datatype: int, dims: tuple[int, ...], **fields: float) -> bytes:
    """A NIfTI-1 header (348 bytes) with sform and qform set from ROTATED_AFFINE."""
    header = bytearray(348)
    bitpix = {4: 16, 16: 32, 64: 64}[datatype]
    header[0:4] = struct.pack(order + "i", 348)
    header[40:56] = struct.pack(order + "8h", len(dims), *dims, *([1] * (7 - len(dims))))
    header[70:74] = struct.pack(order + "2h", datatype, bitpix)
    header[76:108] = struct.pack(order + "8f", 1.0, 0.5, 0.75, 2.0, 1, 1, 1, 1)
    scaling = (fields.get("slope", 0.0), fields.get("inter", 0.0))
    header[108:120] = struct.pack(order + "3f", fields.get("offset", 352.0), *scaling)
    header[252:256] = struct.pack(order + "2h", 1, 1)
    quatern_d = -np.sin(np.deg2rad(75))  # RAS rotation: 30 degrees then 180 about z = -150
    ras_offset = (10.0, -4.5, 80.0)  # NIfTI world is RAS: x and y negated from LPS
    header[256:280] = struct.pack(order + "6f", 0.0, 0.0, quatern_d, *ras_offset)
    ras = ROTATED_AFFINE * np.array([[-1.0], [-1.0], [1.0]])
    header[280:328] = struct.pack(order + "12f", *ras.ravel())
    header[344:348] = b"n+1\0"
    return bytes(header)


def _nifti2_header(datatype: int, dims: tuple[int, ...], slope: float, intercept: float) -> bytes:
    header = bytearray(540)
    header[0:4] = struct.pack("<i", 540)
    header[4:12] = b"n+2\0\r\n\x1a\n"
    header[12:16] = struct.pack("<2h", datatype, {4: 16, 16: 32, 64: 64}[datatype])
    header[16:80] = struct.pack("<8q", len(dims), *dims, *([1] * (7 - len(dims))))
    header[104:168] = struct.pack("<8d", 1.0, 0.5, 0.75, 2.0, 1, 1, 1, 1)
    header[168:192] = struct.pack("<q2d", 544, slope, intercept)
    header[344:352] = struct.pack("<2i", 0, 1)
    ras = ROTATED_AFFINE * np.array([[-1.0], [-1.0], [1.0]])
    header[400:496] = struct.pack("<12d", *ras.ravel())
    return bytes(header)


def _write(path: Path, header: bytes, payload: np.ndarray, *, gap: int = 4) -> Path:
    content = header + bytes(gap) + payload.tobytes()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(content, compresslevel=1))
    else:
        path.write_bytes(content)
    return path


def _finite_payload(dtype: str, n: int) -> np.ndarray:
    """Normal values plus the awkward finite ones: -0.0, a subnormal, huge and tiny numbers."""
    values = np.random.default_rng(n).normal(0, 1000, n).astype(dtype)
    tiny = np.finfo(np.dtype(dtype)).smallest_subnormal
    values[:5] = [-0.0, tiny, 1e30, -1e-30, 0.0]
    return values


def _assert_same_bits(ours: Image, path: Path) -> None:
    theirs = from_sitk(sitk.ReadImage(str(path)))
    assert ours.array.dtype == theirs.array.dtype and ours.shape == theirs.shape
    bits = {4: np.uint32, 8: np.uint64}[ours.array.dtype.itemsize]
    np.testing.assert_array_equal(ours.array.view(bits), theirs.array.view(bits))
    assert ours.spacing == theirs.spacing and ours.origin == theirs.origin
    assert ours.direction == theirs.direction


SCALINGS = [(0.0, 0.0), (1.0, 0.0), (2.0, -1.0), (0.3, 0.7), (-1.7, 1e6), (0.0, 3.0),
            (1e-20, 5.0), (np.nan, 1.0), (np.inf, 2.0), (2.0, np.inf), (1.0, 1e-17)]  # fmt: skip


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("code", [16, 64])
@pytest.mark.parametrize("scaling", SCALINGS, ids=str)
def test_decoder_equals_simpleitk_bit_for_bit(tmp_path, suffix, order, code, scaling):
    dims = (6, 5, 4)
    payload = _finite_payload(order + nifti.FLOAT_CODES[code], 120)
    if scaling != (0.0, 0.0):
        payload[2] = 7.5  # 1e30 * 1e6 would overflow float32 differently from a cast
    header = _nifti1_header(order, code, dims, slope=scaling[0], inter=scaling[1])
    path = _write(tmp_path / f"image{suffix}", header, payload)
    image = read_float_nifti(path)
    assert image is not None and image.shape == (4, 5, 6)
    _assert_same_bits(image, path)


@pytest.mark.parametrize("dims", [(6, 5), (6, 5, 1), (6, 5, 4, 1), (6, 1, 4), (6, 5, 4, 1, 1)])
def test_two_dimensional_and_trailing_one_dimensions(tmp_path, dims):
    n = int(np.prod(dims))
    path = _write(tmp_path / "flat.nii", _nifti1_header("<", 16, dims), _finite_payload("<f4", n))
    image = read_image(path)
    assert image.array.size == n
    _assert_same_bits(image, path)


@pytest.mark.parametrize(("offset", "gap"), [(0.0, 0), (348.0, 0), (360.0, 12), (352.9, 4)])
def test_vox_offset_read_as_niftilib_does(tmp_path, offset, gap):
    header = _nifti1_header("<", 16, (6, 5, 4), offset=offset)  # below 348 means 348
    path = _write(tmp_path / "offset.nii", header, _finite_payload("<f4", 120), gap=gap)
    _assert_same_bits(read_image(path), path)


@pytest.mark.parametrize("magic", [b"ni1\0", bytes(4)])
def test_header_without_single_file_magic_is_left_to_simpleitk(tmp_path, magic):
    header = bytearray(_nifti1_header("<", 16, (6, 5, 4)))
    header[344:348] = magic
    path = _write(tmp_path / "pair.nii", bytes(header), _finite_payload("<f4", 120))
    assert read_float_nifti(path) is None and read_payload(path) is None


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti2_payload_decoded_but_refused_as_simpleitk_cannot_place_it(tmp_path, suffix):
    payload = _finite_payload("<f8", 42)
    payload[[7, 20]] = [np.nan, -np.inf]
    path = _write(tmp_path / f"two{suffix}", _nifti2_header(64, (7, 3, 2), 0.5, 2.0), payload)
    values = read_payload(path)
    assert values is not None and np.isnan(values[7]) and values[20] == -np.inf
    np.testing.assert_array_equal(values, payload * 0.5 + 2.0)
    with pytest.raises(InputError, match=f"two{suffix}: NIfTI-2 file"):
        read_image(path)  # no geometry without ITK, which reads NIfTI-1 only


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("order", ["<", ">"])
def test_non_finite_kept_where_simpleitk_reads_zero(tmp_path, suffix, order):
    payload = _finite_payload(order + "f4", 120)
    payload[[10, 50, 119]] = [np.nan, np.inf, -np.inf]
    path = _write(tmp_path / f"nan{suffix}", _nifti1_header(order, 16, (6, 5, 4)), payload)
    ours = read_image(path).array.ravel()
    theirs = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).ravel()
    assert (theirs[[10, 50, 119]] == 0).all()  # ITK 5.4's behaviour this module works around
    assert np.isnan(ours[10]) and ours[50] == np.inf and ours[119] == -np.inf
    finite = np.isfinite(payload)
    np.testing.assert_array_equal(ours[finite].view(np.uint32), theirs[finite].view(np.uint32))


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


def test_integer_image_is_left_to_simpleitk(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    path = write_image(_image(array), tmp_path / "labels.nii.gz")
    assert read_payload(path) is None and read_float_nifti(path) is None
    back = read_image(path)
    assert back.array.dtype == np.int16
    np.testing.assert_array_equal(back.array, array)


def test_four_and_one_dimensional_files_fail_as_before(tmp_path):
    four = _write(tmp_path / "four.nii", _nifti1_header("<", 16, (3, 2, 2, 2)), np.ones(24, "<f4"))
    assert read_float_nifti(four) is None
    with pytest.raises(GeometryError, match="4-D"):
        read_image(four)
    one = _write(tmp_path / "one.nii", _nifti1_header("<", 16, (24,)), np.ones(24, "<f4"))
    with pytest.raises(InputError, match="one.nii"):
        read_image(one)


def test_content_not_its_name_says_whether_it_is_compressed_as_for_simpleitk(tmp_path):
    payload = _finite_payload("<f4", 30)
    plain = _write(tmp_path / "plain.nii", _nifti1_header("<", 16, (5, 3, 2)), payload)
    misnamed = plain.rename(tmp_path / "plain.nii.gz")  # ITK's gzread takes plain bytes too
    _assert_same_bits(read_image(misnamed), misnamed)
    packed = _write(tmp_path / "packed.nii.gz", _nifti1_header("<", 16, (5, 3, 2)), payload)
    with pytest.raises(InputError, match="packed.nii: cannot read"):  # as SimpleITK refuses it
        read_image(packed.rename(tmp_path / "packed.nii"))


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_the_nii_beside_a_nii_gz_is_not_read_instead(tmp_path, dtype):
    wanted = _image(np.arange(24, dtype=dtype).reshape(2, 3, 4))
    path = write_image(wanted, tmp_path / "scan.nii.gz")
    beside = Image(np.full((3, 4, 5), 7, dtype=dtype), spacing=(1.0, 1.0, 1.0))
    write_image(beside, tmp_path / "scan.nii")
    itk_voxels = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    assert itk_voxels.shape == (2, 3, 4) and (itk_voxels == 7).all()  # ITK 5.4: scan.nii's
    back = read_image(path)
    np.testing.assert_array_equal(back.array, wanted.array)
    assert back.geometry_equal(wanted, tol_mm=1e-4)
    assert image_shape(path) == (2, 3, 4)
    np.testing.assert_array_equal(read_image(tmp_path / "scan.nii").array, beside.array)


def test_standard_library_zlib_gives_the_same_voxels(tmp_path, monkeypatch):
    payload = _finite_payload("<f4", 120)
    payload[3] = np.nan
    path = _write(tmp_path / "z.nii.gz", _nifti1_header("<", 16, (6, 5, 4)), payload)
    fast = read_payload(path)
    monkeypatch.setattr(nifti, "_zlib", zlib)
    np.testing.assert_array_equal(read_payload(path), fast)
    np.testing.assert_array_equal(fast, payload)


def test_itk_scaling_rules():
    assert itk_scaling(0.0, 0.0) is None and itk_scaling(1.0, 0.0) is None
    assert itk_scaling(0.0, 3.0) == (1.0, 3.0)  # ITK keeps the intercept of a zero slope
    assert itk_scaling(np.nan, 1.0) == (1.0, 1.0) and itk_scaling(2.0, np.inf) == (2.0, 0.0)
    assert itk_scaling(1.0, 1e-17) is None and itk_scaling(-0.5, 0.0) == (-0.5, 0.0)


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


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_truncated_payload_names_the_file(tmp_path, suffix):
    header = _nifti1_header("<", 16, (6, 5, 4))
    path = _write(tmp_path / f"cut{suffix}", header, _finite_payload("<f4", 118))
    with pytest.raises(InputError, match=f"cut{suffix}: voxel data truncated"):
        read_image(path)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = _write(tmp_path / "bad.nii.gz", _nifti1_header("<", 16, (6, 5, 4)), np.ones(120, "f4"))
    raw = bytearray(path.read_bytes())
    raw[-30:-10] = bytes(20)
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="bad.nii.gz"):
        read_image(path)
