"""IBSI-2 filters: bad input gives a clear ConfigError; rotations and specs behave."""

import warnings

import numpy as np
import pytest

from medscale.errors import ConfigError
from medscale.features.filters import Boundary, log_filter, mean_filter, wavelet_filter
from medscale.features.filters.laws import parse_kernel
from medscale.features.filters.rotation import right_angle_rotations
from medscale.features.filters.spec import apply_filter, parse_filter_spec
from medscale.features.filters.wavelet import decimated_mask, wavelet_bands

RNG = np.random.default_rng(0)
VOLUME = RNG.normal(size=(12, 14, 16))


def test_boundary_names_map_to_scipy_modes():
    assert Boundary.coerce("mirror").ndimage_mode == "reflect"
    assert Boundary.coerce("PERIODIC").ndimage_mode == "wrap"
    with pytest.raises(ConfigError, match="unknown boundary 'reflect'"):
        Boundary.coerce("reflect")


def test_the_24_cube_rotations_are_distinct_and_invertible():
    pairs = list(right_angle_rotations(two_d=False))
    assert len(pairs) == 24
    seen = {forward(VOLUME[:8, :8, :8]).tobytes() for forward, _ in pairs}
    assert len(seen) == 24
    for forward, inverse in pairs:
        np.testing.assert_array_equal(inverse(forward(VOLUME)), VOLUME)


def test_anisotropic_voxels_are_refused_in_3d_but_fine_in_plane():
    with pytest.raises(ConfigError, match="isotropic"):
        log_filter(VOLUME, sigma_mm=2.0, spacing_mm=(3.0, 1.0, 1.0))
    response = log_filter(VOLUME, sigma_mm=2.0, spacing_mm=(3.0, 1.0, 1.0), two_d=True)
    assert response.shape == VOLUME.shape


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: log_filter(VOLUME, sigma_mm=0.0, spacing_mm=(1.0, 1.0, 1.0)),
            "sigma_mm must be > 0",
        ),
        (lambda: mean_filter(VOLUME, support=4), "odd"),
        (lambda: mean_filter(VOLUME, support=15), "larger than the image"),
        (lambda: wavelet_filter(VOLUME, name="db99x", band="LLL"), "unknown wavelet"),
        (lambda: wavelet_filter(VOLUME, name="haar", band="LX"), "L and H"),
        (lambda: parse_kernel("E5L5", two_d=False), "unknown Laws kernel"),
        (lambda: parse_filter_spec("gabor:sigma_mm=1"), "'wavelength_mm' is required"),
        (lambda: parse_filter_spec("wavelet:levle=2"), "did you mean 'level'"),
        (lambda: parse_filter_spec("log:sigma_mm=1,dims=4"), "dims must be 2 or 3"),
        (
            lambda: apply_filter(VOLUME, (1.0, 1.0, 1.0), "wavelet:name=db4,level=4,decimated=1"),
            "larger than the level-4 grid",
        ),
    ],
)
def test_bad_input_is_a_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_rotation_invariant_wavelet_ignores_a_quarter_turn():
    cube = VOLUME[:12, :12, :12]
    spec = "wavelet:name=db2,band=LHL,rot_inv=true,boundary=periodic"
    direct = apply_filter(cube, (1.0, 1.0, 1.0), spec)
    turned = apply_filter(np.rot90(cube, 1, (1, 2)).copy(), (1.0, 1.0, 1.0), spec)
    np.testing.assert_allclose(np.rot90(direct, 1, (1, 2)), turned, atol=1e-10)


@pytest.mark.parametrize("level", [1, 2])
def test_wavelet_bands_equal_the_single_band_filter(level):
    bands = dict(wavelet_bands(VOLUME, name="coif1", level=level, boundary="mirror"))
    assert sorted(bands) == sorted(a + b + c for a in "LH" for b in "LH" for c in "LH")
    for band, response in bands.items():
        expected = wavelet_filter(VOLUME, name="coif1", band=band, level=level, boundary="mirror")
        np.testing.assert_allclose(response, expected, atol=1e-12)


def _pywt_band(volume, name, band, level, mode, axes=(0, 1, 2)):
    import pywt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pywt: "level too high" on small arrays
        coeffs = pywt.wavedecn(volume, name, mode=mode, level=level, axes=axes)
    if set(band) == {"L"}:
        return coeffs[0]
    # pywt keys run over the given axes (z, y, x); band letters read x, y, z
    return coeffs[1]["".join("a" if c == "L" else "d" for c in band[::-1])]


@pytest.mark.parametrize("name", ["haar", "db2", "coif1", "db3"])
@pytest.mark.parametrize(
    ("boundary", "mode"),
    [("zero", "zero"), ("nearest", "constant"), ("mirror", "symmetric"), ("periodic", "periodic")],
)
@pytest.mark.parametrize("level", [1, 2])
def test_decimated_wavelet_equals_pywavelets_wavedecn(name, boundary, mode, level):
    volume = VOLUME[:11, :14, :13]  # odd and even lengths
    for band in ("LLL", "LHL", "HHL", "HHH"):
        spec = f"wavelet:name={name},band={band},level={level},boundary={boundary},decimated=true"
        got = apply_filter(volume, (1.0, 1.0, 1.0), spec)
        expected = _pywt_band(volume, name, band, level, mode)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_decimated_2d_wavelet_keeps_the_slices():
    got = apply_filter(VOLUME, (2.0, 1.0, 1.0), "wavelet:name=db2,band=HL,dims=2,decimated=true")
    expected = _pywt_band(VOLUME, "db2", "HL", 1, "zero", axes=(1, 2))
    assert got.shape == (VOLUME.shape[0], *expected.shape[1:])
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_decimated_mask_follows_the_coefficient_centres():
    # haar: coefficient o is centred between voxels 2o and 2o + 1
    mask = np.zeros((4, 8, 8), dtype=bool)
    mask[:, 2:4, 4:7] = True
    down = decimated_mask(mask, name="haar", two_d=True)
    assert down.shape == (4, 4, 4)
    expected = np.zeros((4, 4), dtype=bool)
    expected[1, 2:4] = True  # x voxels 4,5 -> o=2 (full), 6,7 -> o=3 (half: kept)
    np.testing.assert_array_equal(down[0], expected)
    # coif1 (6 taps): 8 + 5 = 13 // 2 = 6 coefficients, centres 2o - 1.5
    assert decimated_mask(mask, name="coif1").shape == (4, 6, 6)
    assert decimated_mask(mask, name="coif1", level=2).shape == (4, 5, 5)


def test_decimated_with_rotation_invariance_is_refused():
    with pytest.raises(ConfigError, match="decimated=true does not take rot_inv"):
        parse_filter_spec("wavelet:name=haar,band=LLH,rot_inv=true,decimated=true")


@pytest.mark.parametrize("boundary", ["zero", "mirror", "periodic"])
def test_gabor_shared_spectrum_equals_one_fftconvolve_per_orientation(boundary):
    from scipy import signal

    from medscale.features.filters import gabor_filter
    from medscale.features.filters.base import pad
    from medscale.features.filters.gabor import PLANES, gabor_kernel

    volume = VOLUME[:10, :13, :12]
    step = np.pi / 3  # 6 orientations: 3 pairs theta, theta + pi
    expected = np.zeros_like(volume)
    for angle in np.arange(0.0, 2.0 * np.pi - 1e-9, step):
        kernel = gabor_kernel(sigma_vox=1.2, wavelength_vox=3.0, gamma=0.7, theta=angle)
        radius = kernel.shape[0] // 2
        for plane in PLANES:
            padded = pad(volume, radius, Boundary.coerce(boundary), plane)
            shape = [1, 1, 1]
            shape[plane[0]], shape[plane[1]] = kernel.shape
            out = signal.fftconvolve(padded, kernel.reshape(shape), mode="valid", axes=plane)
            expected += np.abs(out)
    expected /= 6 * 3
    got = gabor_filter(
        volume,
        sigma_mm=1.2,
        wavelength_mm=3.0,
        gamma=0.7,
        spacing_mm=(1.0, 1.0, 1.0),
        boundary=boundary,
        rot_inv=True,
        theta_step=step,
        orthogonal_planes=True,
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_gabororientation_weights_pair_theta_with_theta_plus_pi():
    from medscale.features.filters.gabor import orientation_weights

    pairs = orientation_weights(np.arange(0.0, 2.0 * np.pi - 1e-9, np.pi / 8))
    assert [w for _, w in pairs] == [2] * 8
    assert orientation_weights(np.arange(0.0, 2.0 * np.pi - 1e-9, 2.0 * np.pi / 3)) == [
        (0.0, 1),
        (pytest.approx(2.0 * np.pi / 3), 1),
        (pytest.approx(4.0 * np.pi / 3), 1),
    ]


def test_gabor_keeps_float32_within_float32_rounding():
    from medscale.features.filters import gabor_filter

    params = {
        "sigma_mm": 2.0,
        "wavelength_mm": 3.0,
        "gamma": 1.5,
        "spacing_mm": (1.0, 1.0, 1.0),
        "boundary": "mirror",
        "rot_inv": True,
        "orthogonal_planes": True,
    }
    double = gabor_filter(VOLUME, **params)
    single = gabor_filter(VOLUME.astype(np.float32), **params)
    assert double.dtype == np.float64 and single.dtype == np.float32
    assert np.abs(single - double).max() < 1e-5 * np.ptp(double)


def test_a_decimated_wavelet_is_not_rotation_invariant():
    with pytest.raises(ConfigError, match="cannot be rotation invariant"):
        wavelet_filter(VOLUME, name="haar", band="LLH", decimated=True, rot_inv=True)
