"""Active contours on anisotropic voxels: a sphere at 2.5 x 0.8 x 0.8 mm against the truth and
against the same sphere sampled isotropically."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError
from medscale.segment import dice, segment
from medscale.segment.contours import isotropic

RADIUS_MM = 8.0
EXTENT_MM = (40.0, 32.0, 32.0)
ANISOTROPIC = (2.5, 0.8, 0.8)
ISOTROPIC = (0.8, 0.8, 0.8)


def _centres(n: int, spacing: float, centre: float) -> np.ndarray:
    return (np.arange(n) + 0.5) * spacing - centre


def _sphere(spacing: tuple[float, float, float], seed: int = 0) -> tuple[Image, Mask, tuple]:
    """A noisy CT-like sphere with partial-volume voxels (5^3 sub-samples) and its true mask."""
    shape = tuple(round(e / s) for e, s in zip(EXTENT_MM, spacing, strict=True))
    sub = (np.arange(5) + 0.5) / 5 - 0.5
    fine = [
        (_centres(n, s, e / 2)[:, None] + sub[None, :] * s).ravel()
        for n, s, e in zip(shape, spacing, EXTENT_MM, strict=True)
    ]
    z, y, x = np.ix_(*fine)
    inside = z**2 + y**2 + x**2 <= RADIUS_MM**2
    fraction = inside.reshape(shape[0], 5, shape[1], 5, shape[2], 5).mean(axis=(1, 3, 5))
    z, y, x = np.ix_(
        *(_centres(n, s, e / 2) for n, s, e in zip(shape, spacing, EXTENT_MM, strict=True))
    )
    truth = z**2 + y**2 + x**2 <= RADIUS_MM**2
    rng = np.random.default_rng(seed)
    array = -800.0 + 840.0 * fraction + rng.normal(0, 60, shape)
    image = Image(array.astype(np.float32), spacing=spacing, origin=(10.0, -20.0, 5.0))
    return image, Mask.like(image, truth), tuple(n // 2 for n in shape)


def _volume_ml(mask: Mask) -> float:
    return mask.voxel_count * mask.voxel_volume_mm3 / 1000.0


def _on_anisotropic_grid(mask: Mask) -> np.ndarray:
    """An isotropic result sampled (nearest) at the anisotropic voxel centres."""
    index = [
        np.clip(np.rint(_centres(round(e / a), a, 0) / i - 0.5).astype(int), 0, n - 1)
        for e, a, i, n in zip(EXTENT_MM, ANISOTROPIC, ISOTROPIC, mask.shape, strict=True)
    ]
    return mask.array[np.ix_(*index)]


@pytest.fixture(scope="module")
def spheres() -> dict[str, tuple[Image, Mask, tuple]]:
    return {"anisotropic": _sphere(ANISOTROPIC), "isotropic": _sphere(ISOTROPIC)}


@pytest.mark.parametrize(
    ("method", "params", "min_dice", "volume_rel"),
    [
        ("morphological_chan_vese", {"iterations": 40}, 0.97, 0.05),
        # the geodesic contour stops a little inside the blurred edge (about -5 to -8 %)
        ("geodesic_active_contour", {"iterations": 60}, 0.94, 0.10),
    ],
)
def test_anisotropic_sphere_matches_truth_and_isotropic_case(
    spheres, method: str, params: dict, min_dice: float, volume_rel: float
) -> None:
    results = {}
    for name, (image, truth, seed) in spheres.items():
        mask = segment(image, method, seed=seed, **params)
        assert mask.geometry_equal(image, tol_mm=0)
        assert dice(mask, truth) >= min_dice, name
        assert _volume_ml(mask) == pytest.approx(_volume_ml(truth), rel=volume_rel), name
        results[name] = mask
    aniso, iso = results["anisotropic"], results["isotropic"]
    assert dice(aniso, spheres["anisotropic"][1]) == pytest.approx(
        dice(iso, spheres["isotropic"][1]), abs=0.03
    )
    assert _volume_ml(aniso) == pytest.approx(_volume_ml(iso), rel=0.05)
    sampled = Mask.like(aniso, _on_anisotropic_grid(iso))
    assert dice(aniso, sampled) >= 0.95


def test_resampling_removes_the_voxel_bias_of_the_library(spheres) -> None:
    """scikit-image on the raw 2.5 x 0.8 x 0.8 mm voxels shrinks the sphere (the old way)."""
    from skimage.segmentation import morphological_chan_vese

    image, truth, seed = spheres["anisotropic"]
    array = image.array.astype(np.float64)
    array = (array - array.min()) / np.ptp(array)
    start = np.zeros(image.shape, dtype=bool)
    z, y, x = np.ogrid[: image.shape[0], : image.shape[1], : image.shape[2]]
    start[
        ((z - seed[0]) * 2.5) ** 2 + ((y - seed[1]) * 0.8) ** 2 + ((x - seed[2]) * 0.8) ** 2 <= 25
    ] = 1
    raw = Mask.like(image, morphological_chan_vese(array, 40, init_level_set=start).astype(bool))
    ours = segment(image, "morphological_chan_vese", seed=seed, iterations=40)
    assert dice(ours, truth) > dice(raw, truth) + 0.04
    assert _volume_ml(raw) < 0.9 * _volume_ml(truth)


def test_isotropic_grid_maps_seeds_and_voxels_back_exactly() -> None:
    rng = np.random.default_rng(1)
    image = Image(rng.normal(0, 1, (4, 6, 5)), spacing=(2.4, 0.8, 0.8), origin=(1.0, 2.0, 3.0))
    grid = isotropic(image, voxel_mm=None, op="test")
    assert grid.image.spacing == pytest.approx(ISOTROPIC)
    assert grid.image.shape == (12, 6, 5) and grid.image.origin == image.origin
    assert grid.seed((3, 5, 4)) == (9, 5, 4)
    # iso voxel 3k lies on original slice k: linear resampling then nearest gives it back
    np.testing.assert_allclose(grid.to_original(grid.image.array), image.array, atol=1e-12)
    same = isotropic(Image(image.array, spacing=(0.8, 0.8, 0.8)), voxel_mm=None, op="test")
    assert same.image.array is not None and same.image.shape == image.shape
    np.testing.assert_array_equal(same.to_original(same.image.array), image.array)


def test_coarser_voxel_size_and_2d_non_square_pixels() -> None:
    image, truth, seed = _sphere(ANISOTROPIC, seed=3)
    coarse = segment(image, "morphological_chan_vese", seed=seed, iterations=30, voxel_mm=1.25)
    assert dice(coarse, truth) > 0.95
    yy, xx = np.mgrid[:60, :30]
    disk = ((yy - 30) * 0.5) ** 2 + ((xx - 15) * 1.0) ** 2 <= 10**2  # a circle in mm
    rng = np.random.default_rng(4)
    plane = Image(
        (np.where(disk, 1.0, 0.0) + rng.normal(0, 0.2, disk.shape))[None], spacing=(1.0, 0.5, 1.0)
    )
    truth_2d = Mask.like(plane, disk[None])
    assert dice(segment(plane, "chan_vese"), truth_2d) > 0.93
    assert dice(segment(plane, "morphological_chan_vese", seed=(0, 30, 15)), truth_2d) > 0.93
    grown = segment(plane, "geodesic_active_contour", seed=(0, 30, 15), iterations=80)
    assert dice(grown, truth_2d) > 0.85


@pytest.mark.parametrize(
    ("method", "key", "value"),
    [
        ("morphological_chan_vese", "voxel_mm", 0.0),
        ("morphological_chan_vese", "voxel_mm", -1.0),
        ("morphological_chan_vese", "radius_mm", 0.0),
        ("geodesic_active_contour", "voxel_mm", -0.5),
        ("geodesic_active_contour", "sigma_mm", 0.0),
        ("geodesic_active_contour", "alpha", -1.0),
        ("chan_vese", "voxel_mm", 0.0),
    ],
)
def test_bad_sizes_name_the_method_and_parameter(method: str, key: str, value: float) -> None:
    image = Image(np.zeros((1 if method == "chan_vese" else 4, 8, 8)), spacing=(2.0, 1.0, 1.0))
    seed = (0, 4, 4)
    with pytest.raises(ConfigError, match=rf"{method}: parameter '{key}' must be > 0"):
        segment(image, method, seed=seed, **{key: value})
