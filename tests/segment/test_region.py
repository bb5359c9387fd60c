"""Region growing's leak priors: the lung-contact sphere (rolling ball + sphere fit) on phantoms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage

from medscale import Image, Mask
from medscale.errors import ConfigError, MedscaleDeprecationWarning
from medscale.preprocess.morphology import structuring_element
from medscale.segment import (
    METHODS,
    LeakPriors,
    confidence_connected,
    dice,
    region_growing,
    segment,
)
from medscale.segment.shape import contact_sphere_constrain, fit_sphere, rolling_ball_closing

SPACING = (2.0, 0.8, 0.8)


def _juxtapleural(centre_x: float = 34.0, radius_mm: float = 8.0) -> tuple[Image, np.ndarray]:
    """Lung (-850 HU) with a chest-wall slab (40 HU, x >= 40) and a 40 HU sphere sunk in it."""
    rng = np.random.default_rng(3)
    z, y, x = np.indices((24, 64, 64)) * np.asarray(SPACING)[:, None, None, None]
    centre = np.array([12 * SPACING[0], 32 * SPACING[1], centre_x * SPACING[2]])
    sphere = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius_mm**2
    wall = x >= 40 * SPACING[2]
    array = np.where(sphere | wall, 40.0, -850.0) + rng.normal(0, 15, sphere.shape)
    return Image(array.astype(np.float32), spacing=SPACING), sphere


def test_sphere_sunk_in_a_wall_of_the_same_intensity_is_cut_from_it() -> None:
    image, sphere = _juxtapleural()
    seed = (12, 32, 34)
    grown = segment(image, "region_growing", seed=seed)
    assert dice(grown, Mask.like(image, sphere)) >= 0.9
    # without the priors, growing floods the wall: the failure the prior exists for
    leaked = segment(image, "region_growing", seed=seed, lung_ball_mm=0, leak_ratio=0)
    assert dice(leaked, Mask.like(image, sphere)) < 0.3
    confident = segment(image, "confidence_connected", seed=seed)
    assert dice(confident, Mask.like(image, sphere)) >= 0.9


@pytest.mark.parametrize("seed", [(12, 32, 30), (12, 36, 32), (11, 28, 33), (13, 32, 38)])
def test_contact_prior_recentres_an_off_centre_seed(seed: tuple[int, int, int]) -> None:
    image, sphere = _juxtapleural()  # the sphere's centre is voxel (12, 32, 34), radius 8 mm
    assert dice(segment(image, "region_growing", seed=seed), Mask.like(image, sphere)) > 0.97


def test_a_lone_sphere_in_lung_is_unchanged_by_the_prior() -> None:
    image, sphere = _juxtapleural(centre_x=20.0)  # 20 voxels (16 mm) from the wall
    array = image.array.copy()
    array[:, :, 40:] = -850.0
    lone = Image(array, spacing=SPACING)
    with_prior = segment(lone, "region_growing", seed=(12, 32, 20))
    without = segment(lone, "region_growing", seed=(12, 32, 20), lung_ball_mm=0)
    assert np.array_equal(with_prior.array, without.array)
    assert dice(with_prior, Mask.like(lone, sphere)) > 0.95


@pytest.mark.parametrize("semi_axes_mm", [(12.0, 6.0, 6.0), (18.0, 5.0, 5.0), (6.0, 10.0, 5.0)])
def test_an_isolated_elongated_object_keeps_its_poles(semi_axes_mm) -> None:
    # a region that fills its convex hull has not leaked: the star prior (which assumes a
    # round lesion) is skipped; forced on (convex_skip=0) it cuts the poles
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[:24, :40, :40]
    a, b, c = semi_axes_mm
    inside = ((z - 12) * 2.0 / a) ** 2 + ((y - 20) / b) ** 2 + ((x - 20) / c) ** 2 <= 1
    values = np.where(inside, 60, -700) + rng.normal(0, 15, inside.shape)
    image = Image(values.astype(np.int16), spacing=(2.0, 1.0, 1.0))
    truth = Mask(inside, spacing=(2.0, 1.0, 1.0))
    assert dice(segment(image, "region_growing", seed=(12, 20, 20)), truth) > 0.99
    forced = segment(image, "region_growing", seed=(12, 20, 20), convex_skip=0)
    assert dice(forced, truth) < 0.9


def test_an_elongated_object_in_one_slice_keeps_its_poles() -> None:
    rng = np.random.default_rng(4)
    y, x = np.mgrid[:60, :60]
    inside = ((y - 30) / 20.0) ** 2 + ((x - 30) / 6.0) ** 2 <= 1
    values = np.where(inside, 60, -700) + rng.normal(0, 15, inside.shape)
    image = Image(values.astype(np.int16)[None], spacing=(1.0, 0.7, 0.7))
    truth = Mask(inside[None], spacing=(1.0, 0.7, 0.7))
    assert dice(segment(image, "region_growing", seed=(0, 30, 30)), truth) > 0.98
    forced = segment(image, "region_growing", seed=(0, 30, 30), convex_skip=0)
    assert dice(forced, truth) < 0.8


def test_fit_sphere_recovers_a_cap_despite_outliers() -> None:
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(300, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    cap = directions[directions[:, 2] < 0.2]  # a bit more than half the sphere
    points = np.array([5.0, -2.0, 7.0]) + 6.0 * cap + rng.normal(0, 0.1, cap.shape)
    outliers = rng.uniform(-30, 30, (15, 3))
    centre, radius = fit_sphere(np.vstack([points, outliers]))
    assert np.allclose(centre, [5.0, -2.0, 7.0], atol=0.2)
    assert radius == pytest.approx(6.0, abs=0.2)


def test_rolling_ball_closing_matches_scipy_and_keeps_a_convex_body() -> None:
    z, y, x = np.indices((20, 40, 40))
    slab = x < 25
    dent = (z - 10) ** 2 + (y - 20) ** 2 + (x - 25) ** 2 <= 5**2
    spacing = (2.0, 1.0, 1.0)
    closed = rolling_ball_closing(slab & ~dent, spacing, radius_mm=6.0)
    ball = structuring_element(6.0, spacing)
    pad = [(n // 2 + 1,) * 2 for n in ball.shape]
    padded = np.pad(slab & ~dent, pad, mode="edge")
    reference = ndimage.binary_closing(padded, ball)[tuple(slice(p, -p) for p, _ in pad)]
    assert np.array_equal(closed, reference)
    filled = (closed & dent).sum()
    assert not (closed & ~slab).any() and 0 < filled < (slab & dent).sum()
    box = (z >= 5) & (z < 15) & (y >= 10) & (y < 30) & (x >= 10) & (x < 30)
    assert np.array_equal(rolling_ball_closing(box, (1.0, 1.0, 1.0), radius_mm=8.0), box)


def test_contact_prior_declines_without_a_lung_surface() -> None:
    region = np.zeros((10, 20, 20), bool)
    region[2:8, 5:15, 5:15] = True
    dark = np.zeros_like(region)
    assert contact_sphere_constrain(region, dark, (5, 10, 10), (1.0, 1.0, 1.0)) is None


@pytest.mark.parametrize(
    ("method", "param", "value"),
    [
        ("region_growing", "lung_ball_mm", -1.0),
        ("region_growing", "contact_reach", 0.5),
        ("confidence_connected", "sphere_margin", -0.1),
        ("confidence_connected", "radius_mm", 0.0),
    ],
)
def test_prior_parameters_out_of_range_name_the_parameter(
    method: str, param: str, value: float
) -> None:
    image, _ = _juxtapleural()
    with pytest.raises(ConfigError, match=rf"{method}: parameter '{param}'"):
        segment(image, method, seed=(12, 32, 34), **{param: value})


@pytest.mark.parametrize("method", ["region_growing", "confidence_connected"])
def test_leak_priors_are_one_dataclass_given_flat_by_segment(method: str) -> None:
    image, _ = _juxtapleural()
    seed = (12, 32, 34)
    priors = LeakPriors(lung_ball_mm=0, leak_ratio=0, recentre=False)
    function = {"region_growing": region_growing, "confidence_connected": confidence_connected}
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        direct = function[method](image, seed=seed, priors=priors)
        flat = segment(image, method, seed=seed, lung_ball_mm="0", leak_ratio=0, recentre="no")
        given = segment(image, method, seed=seed, priors=priors)
    assert np.array_equal(direct.array, flat.array) and np.array_equal(direct.array, given.array)
    assert not np.array_equal(direct.array, segment(image, method, seed=seed).array)
    # the function's keywords before LeakPriors still work, with a warning
    with pytest.warns(MedscaleDeprecationWarning, match=rf"{method}\(lung_ball_mm=..., "):
        old = function[method](image, seed=seed, lung_ball_mm=0, leak_ratio=0, recentre=False)
    assert np.array_equal(old.array, direct.array)
    with pytest.raises(ConfigError, match="give priors= or its fields"):
        function[method](image, seed=seed, priors=priors, leak_ratio=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'leak_rato'"):
        function[method](image, seed=seed, leak_rato=0)
    with pytest.raises(ConfigError, match="give 'priors' or its fields"):
        segment(image, method, seed=seed, priors=priors, leak_ratio=0)
    with pytest.raises(ConfigError, match="'priors' must be a LeakPriors"):
        segment(image, method, seed=seed, priors="0")
    # --list and the parsers see the fields, with the dataclass's defaults, not `priors`
    parameters = METHODS.get(method).parameters
    assert "priors" not in parameters
    assert {key: parameters[key].default for key in vars(LeakPriors())} == vars(LeakPriors())


def test_confidence_connected_on_thick_slices_stays_in_the_lesion() -> None:
    # 5 mm slices, 0.6 mm pixels: a neighbourhood of voxels (SimpleITK's) reaches the lung
    # through the slices; the ball in mm does not
    rng = np.random.default_rng(1)
    spacing = (5.0, 0.6, 0.6)
    z, y, x = np.indices((12, 80, 80)) * np.asarray(spacing)[:, None, None, None]
    ball = (z - 30.0) ** 2 + (y - 24.0) ** 2 + (x - 24.0) ** 2 <= 9.0**2
    array = np.where(ball, 30.0, -850.0) + rng.normal(0, 20, ball.shape)
    image = Image(array.astype(np.float32), spacing=spacing)
    grown = segment(image, "confidence_connected", seed=(6, 40, 40))
    assert dice(grown, Mask.like(image, ball)) > 0.9


def test_a_band_that_excludes_the_seed_is_a_clear_error() -> None:
    image, _ = _juxtapleural()
    seed = (12, 32, 34)  # inside the 40 HU sphere
    with pytest.raises(
        ConfigError, match=r"seed voxel \(12, 32, 34\) has value .* outside the band"
    ):
        region_growing(image, seed=seed, lower=500.0, upper=900.0)
