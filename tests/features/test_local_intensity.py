"""Local intensity peaks: IBSI digital phantom, brute-force sphere means, kernel geometry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from ibsi_reference import matches, reference_rows, reference_values

from medscale.errors import InputError, MedscaleWarning
from medscale.features import local_intensity
from medscale.io import read_image, read_mask


@pytest.fixture(scope="module")
def dig(shared_data: Path) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    folder = shared_data / "ibsi1" / "digital_phantom"
    image = read_image(folder / "phantom.nii.gz")
    mask = read_mask(folder / "mask.nii.gz").array.astype(bool)
    out = local_intensity.compute(image.array.astype(np.float64), mask, image.spacing)
    return out, reference_values(shared_data, "dig")


@pytest.mark.parametrize("name", [info.name for info in local_intensity.FEATURES])
def test_digital_phantom(dig, name: str) -> None:
    computed, reference = dig
    value, tolerance = reference[name]
    assert matches(computed[name], value, tolerance), (name, computed[name], value, tolerance)


def brute_force_means(image: np.ndarray, mask: np.ndarray, spacing) -> np.ndarray:
    """Sphere means by explicit distances from each ROI voxel to every image voxel."""
    grid = np.indices(image.shape).reshape(3, -1).T * np.asarray(spacing)
    flat = image.ravel()
    means = []
    for centre in np.argwhere(mask) * np.asarray(spacing):
        near = np.sum((grid - centre) ** 2, axis=1) <= local_intensity.SPHERE_RADIUS_MM**2
        means.append(flat[near].mean())
    return np.array(means)


@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (3.0, 0.8, 0.8), (5.0, 1.1, 0.7)])
@pytest.mark.parametrize("at_edge", [True, False], ids=["sphere-cut-by-edge", "interior"])
def test_sphere_means_match_brute_force(spacing, at_edge: bool) -> None:
    rng = np.random.default_rng(8)
    image = rng.normal(0, 100, (11, 40, 40) if not at_edge else (9, 22, 24))
    mask = np.zeros(image.shape, bool)
    if at_edge:  # reaches the image edge in x: spheres are truncated there
        mask[2:7, 4:15, 10:23] = rng.random((5, 11, 13)) < 0.5
    else:  # every sphere lies inside the image
        mask[4:7, 15:25, 15:25] = rng.random((3, 10, 10)) < 0.5
    expected = brute_force_means(image, mask, spacing)
    got = local_intensity.sphere_means(image, mask, spacing)
    assert np.allclose(got, expected, rtol=0, atol=1e-9)
    out = local_intensity.compute(image, mask, spacing)
    assert out["loc_peak_glob"] == pytest.approx(expected.max(), abs=1e-9)
    assert out["loc_peak_loc"] == pytest.approx(expected[np.argmax(image[mask])], abs=1e-9)


@pytest.mark.parametrize("shape", [(1, 40, 44), (2, 30, 30)], ids=["one-slice", "two-slices"])
def test_thin_images_match_brute_force(shape) -> None:
    """Kernel planes beyond the image's few slices are dropped: same means."""
    rng = np.random.default_rng(9)
    image = rng.normal(0, 100, shape)
    mask = np.zeros(shape, bool)
    mask[:, 8:30, 10:28] = rng.random((shape[0], 22, 18)) < 0.6
    spacing = (1.0, 0.5, 0.5)  # 13 kernel planes, 1 or 2 image slices
    expected = brute_force_means(image, mask, spacing)
    got = local_intensity.sphere_means(image, mask, spacing)
    assert np.allclose(got, expected, rtol=0, atol=1e-9)


def test_kernel_holds_the_lattice_points_of_the_sphere() -> None:
    kernel = local_intensity.sphere_kernel((1.0, 1.0, 1.0))
    r = local_intensity.SPHERE_RADIUS_MM
    assert r == pytest.approx(6.2035, abs=1e-4)
    assert kernel.shape == (13, 13, 13)
    span = np.arange(-7, 8)
    z, y, x = np.meshgrid(span, span, span, indexing="ij")
    assert kernel.sum() == np.sum(z**2 + y**2 + x**2 <= r**2)
    # about 1 cm^3 of 1 mm^3 voxels
    assert kernel.sum() == pytest.approx(1000, rel=0.03)  # 1021 lattice points


def test_ties_take_the_highest_local_mean() -> None:
    image = np.zeros((5, 30, 30))
    image[2, 5, 5] = image[2, 20, 20] = 10.0
    image[2, 21, 20] = 4.0  # raises the sphere mean around the second maximum
    mask = image > 0
    means = local_intensity.sphere_means(image, mask, (2.0, 1.0, 1.0))
    out = local_intensity.compute(image, mask, (2.0, 1.0, 1.0))
    at_max = image[mask] == 10.0
    assert out["loc_peak_loc"] == pytest.approx(means[at_max].max())
    assert means[at_max].max() > means[at_max].min()


def test_constant_image_and_single_slice() -> None:
    image = np.full((1, 40, 40), 42.0)
    mask = np.zeros(image.shape, bool)
    mask[0, 10:30, 12:20] = True
    out = local_intensity.compute(image, mask, (5.0, 0.7, 0.7))
    assert out == {"loc_peak_loc": pytest.approx(42.0), "loc_peak_glob": pytest.approx(42.0)}


def test_voxels_outside_the_roi_count() -> None:
    image = np.zeros((7, 7, 7))
    image[3, 3, 4] = 100.0  # outside the ROI, within the sphere of the ROI voxel
    mask = np.zeros(image.shape, bool)
    mask[3, 3, 3] = True
    n_sphere = local_intensity.sphere_kernel((2.0, 2.0, 2.0)).sum()
    out = local_intensity.compute(image, mask, (2.0, 2.0, 2.0))
    assert out["loc_peak_glob"] == pytest.approx(100.0 / n_sphere)


def test_empty_mask_and_bad_input() -> None:
    image = np.zeros((3, 3, 3))
    with pytest.warns(MedscaleWarning, match="empty"):
        out = local_intensity.compute(image, image > 0, (1, 1, 1))
    assert all(math.isnan(v) for v in out.values())
    with pytest.raises(InputError, match="one grid"):
        local_intensity.compute(image, np.ones((3, 3, 2), bool), (1, 1, 1))
    image[1, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        local_intensity.compute(image, np.ones((3, 3, 3), bool), (1, 1, 1))


def test_feature_table_matches_the_reference_ids_and_codes(shared_data: Path) -> None:
    rows = [r for r in reference_rows(shared_data, "dig") if r["feature"].startswith("loc_")]
    assert {info.name: info.ibsi_code for info in local_intensity.FEATURES} == {
        r["feature"]: r["ibsi_tag"] for r in rows
    }
    assert all(info.family == rows[0]["feature_family"] for info in local_intensity.FEATURES)


@pytest.mark.parametrize(
    "shape, kernel_shape",
    [((7, 9, 11), (3, 5, 5)), ((4, 30, 31), (1, 7, 7)), ((10, 10, 10), (4, 4, 4))],
)
def test_fft_convolution_matches_scipy_signal(shape, kernel_shape):
    from scipy.signal import fftconvolve

    from medscale.features.local_intensity import _convolve_same

    rng = np.random.default_rng(3)
    values, kernel = rng.normal(size=shape), rng.random(kernel_shape)
    np.testing.assert_allclose(
        _convolve_same(values, kernel), fftconvolve(values, kernel, mode="same"), atol=1e-12
    )
