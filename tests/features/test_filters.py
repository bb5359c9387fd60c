"""IBSI-2 filters: bad input gives a clear ConfigError; rotations and specs behave."""

import numpy as np
import pytest

from medscale.errors import ConfigError
from medscale.features.filters import Boundary, log_filter, mean_filter, wavelet_filter
from medscale.features.filters.laws import parse_kernel
from medscale.features.filters.rotation import right_angle_rotations
from medscale.features.filters.spec import apply_filter, parse_filter_spec
from medscale.features.filters.wavelet import wavelet_bands

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
