"""Denoising steps: analytic Gaussian kernel, median against SciPy, noise reduction, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medscale import Image
from medscale.errors import ConfigError, InputError
from medscale.preprocess import bilateral, gaussian, median


def _sampled_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    n = np.arange(-radius, radius + 1)
    kernel = np.exp(-(n**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def test_gaussian_of_impulse_is_the_sampled_kernel_in_mm() -> None:
    array = np.zeros((21, 21, 41))
    array[10, 10, 20] = 1.0
    image = Image(array, spacing=(2.0, 1.0, 0.5))
    out = gaussian(image, sigma_mm=2.0).array
    kz, ky, kx = (_sampled_kernel(2.0 / s) for s in (2.0, 1.0, 0.5))
    expected = np.zeros_like(array)
    rz, ry, rx = len(kz) // 2, len(ky) // 2, len(kx) // 2
    expected[10 - rz : 10 + rz + 1, 10 - ry : 10 + ry + 1, 20 - rx : 20 + rx + 1] = (
        kz[:, None, None] * ky[None, :, None] * kx[None, None, :]
    )
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


def test_gaussian_per_axis_sigma_and_2d_stays_in_plane() -> None:
    array = np.zeros((1, 15, 15), dtype=np.float32)
    array[0, 7, 7] = 1
    out = gaussian(Image(array, spacing=(5.0, 1.0, 1.0)), sigma_mm=(3.0, 1.0, 1.5)).array[0]
    expected = np.outer(_sampled_kernel(1.0), _sampled_kernel(1.5))
    ry, rx = expected.shape[0] // 2, expected.shape[1] // 2
    np.testing.assert_allclose(out[7 - ry : 7 + ry + 1, 7 - rx : 7 + rx + 1], expected, atol=1e-7)
    assert out.dtype == np.float32


@pytest.mark.parametrize("sigma", [-1.0, 0.0, (1.0, -1.0, 1.0)])
def test_gaussian_rejects_bad_sigma_naming_step_and_parameter(sigma) -> None:
    with pytest.raises(ConfigError, match=r"gaussian: parameter 'sigma_mm'"):
        gaussian(Image(np.zeros((3, 4, 4))), sigma_mm=sigma)


def test_nan_image_is_refused_naming_the_step() -> None:
    array = np.zeros((3, 4, 4))
    array[1, 1, 1] = np.nan
    for step in (gaussian, median, bilateral):
        with pytest.raises(InputError, match=rf"{step.__name__}: .*1 NaN"):
            step(Image(array))


def test_median_matches_scipy_and_removes_salt() -> None:
    rng = np.random.default_rng(3)
    array = rng.integers(0, 100, (10, 12, 14)).astype(np.int16)
    out = median(Image(array), size=3).array
    expected = ndimage.median_filter(array, size=3, mode="nearest")
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.int16
    flat = np.full((1, 9, 9), 10.0)
    flat[0, 4, 4] = 1000.0
    assert median(Image(flat), size=3).array.max() == 10.0


@pytest.mark.parametrize("size", [2, 4, 0, -3])
def test_median_even_size_is_an_error(size: int) -> None:
    with pytest.raises(ConfigError, match=r"median: parameter 'size' must be an odd"):
        median(Image(np.zeros((3, 4, 4))), size=size)


def _step_phantom(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = np.zeros((12, 40, 40), dtype=np.float32)
    clean[:, :, 20:] = 200.0
    return clean, (clean + rng.normal(0, noise, clean.shape)).astype(np.float32)


def test_bilateral_keeps_edges_that_gaussian_blurs() -> None:
    clean, noisy = _step_phantom(10.0)
    image = Image(noisy, spacing=(1.0, 1.0, 1.0))
    edge_bilateral = bilateral(image, sigma_mm=2.0, sigma_intensity=30.0).array
    edge_gaussian = gaussian(image, sigma_mm=2.0).array
    # contrast across the edge, one voxel either side
    jump_b = (edge_bilateral[:, :, 20] - edge_bilateral[:, :, 19]).mean()
    jump_g = (edge_gaussian[:, :, 20] - edge_gaussian[:, :, 19]).mean()
    assert jump_b > 180 > 100 > jump_g
    flat_noise = edge_bilateral[:, :, 25:35].std()
    assert flat_noise < 0.5 * noisy[:, :, 25:35].std()
