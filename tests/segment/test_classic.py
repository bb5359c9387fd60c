"""Threshold, Otsu, clustering, edges, region growing, watershed and contours on phantoms."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, InputError
from medscale.preprocess import structuring_element
from medscale.segment import METHODS, dice, segment
from medscale.segment.methods import seed_ball
from medscale.segment.shape import star_constrain


def _three_classes() -> tuple[Image, np.ndarray]:
    rng = np.random.default_rng(5)
    labels = np.zeros((8, 40, 40), dtype=int)
    labels[:, 10:30, 10:30] = 1
    labels[:, 15:25, 15:25] = 2
    array = np.array([-800.0, 0.0, 600.0])[labels] + rng.normal(0, 30, labels.shape)
    return Image(array.astype(np.float32), spacing=(2.0, 1.0, 1.0)), labels


def test_seed_ball_is_the_ball_in_mm_around_the_seed() -> None:
    volume = Image(np.zeros((9, 21, 21), np.float32), spacing=(2.0, 0.8, 0.8))
    ball = structuring_element(4.0, (2.0, 0.8, 0.8))  # (5, 11, 11)
    around = seed_ball(volume, (4, 10, 10), 4.0)
    assert np.array_equal(around[2:7, 5:16, 5:16], ball) and around.sum() == ball.sum()
    flat = Image(np.zeros((1, 21, 21), np.float32), spacing=(2.0, 0.8, 0.8))
    assert seed_ball(flat, (0, 0, 0), 4.0).sum() == ball[2, 5:, 5:].sum()  # a disk, cut


def test_threshold_otsu_and_multi_otsu() -> None:
    image, labels = _three_classes()
    assert np.array_equal(segment(image, "threshold", lower=300).array, labels == 2)
    assert np.array_equal(segment(image, "otsu").array, labels >= 1) or np.array_equal(
        segment(image, "otsu").array, labels == 2
    )
    for keep, wanted in ((0, 0), (1, 1), (-1, 2)):
        found = segment(image, "multi_otsu", n_classes=3, keep=keep).array
        assert np.count_nonzero(found != (labels == wanted)) <= 3  # a few 4-sigma noise voxels
    with pytest.raises(ConfigError, match="threshold: parameter 'upper' must be >= lower"):
        segment(image, "threshold", lower=10, upper=0)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_clustering_recovers_the_classes(method: str) -> None:
    image, labels = _three_classes()
    for keep, wanted in ((0, 0), (-1, 2)):
        mask = segment(image, method, n_clusters=3, keep=keep)
        assert dice(mask, Mask.like(image, labels == wanted)) > 0.99


def test_region_growing_from_a_seed_alone(sphere_case) -> None:
    image, truth = sphere_case
    mask = segment(image, "region_growing", seed="16,16,16")
    assert dice(mask, truth) > 0.97
    grown = segment(image, "confidence_connected", seed=(16, 16, 16))
    assert dice(grown, truth) > 0.95
    flooded = segment(image, "watershed", seed=(16, 16, 16))
    assert dice(flooded, truth) > 0.95


@pytest.mark.parametrize("method", ["region_growing", "watershed", "geodesic_active_contour"])
def test_seeded_methods_need_a_seed_inside(sphere_case, method: str) -> None:
    image, _ = sphere_case
    with pytest.raises(ConfigError, match=rf"{method}: parameter 'seed' is required") as caught:
        segment(image, method)
    assert "--param" not in str(caught.value)  # the library speaks Python, the CLI translates
    with pytest.raises(ConfigError, match=rf"{method}: parameter 'seed' .* outside"):
        segment(image, method, seed=(40, 1, 1))


def test_star_prior_cuts_a_leak_into_a_touching_wall() -> None:
    z, y, x = np.mgrid[:30, :60, :60]
    ball = (z - 15) ** 2 + (y - 30) ** 2 + (x - 30) ** 2 <= 8**2
    wall = (x >= 38) & (x < 50)  # touches the ball's side
    cut = star_constrain(ball | wall, (15, 30, 30), (1.0, 1.0, 1.0))
    assert dice(Mask(cut), Mask(ball)) > 0.93
    image = Image(np.where(ball | wall, 40.0, -850.0).astype(np.float32))
    grown = segment(image, "region_growing", seed=(15, 30, 30))
    assert dice(grown, Mask(ball)) > 0.93
    leaked = segment(image, "region_growing", seed=(15, 30, 30), leak_ratio=0, lung_ball_mm=0)
    assert dice(leaked, Mask(ball)) < 0.5


def test_edges_fill_a_bright_disk() -> None:
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:64, :64]
    disk = (yy - 32) ** 2 + (xx - 30) ** 2 <= 15**2
    image = Image((np.where(disk, 200.0, 0.0) + rng.normal(0, 5, disk.shape))[None])
    truth = Mask.like(image, disk[None])
    for detector in ("sobel", "gradient", "canny"):
        mask = segment(image, "edges", detector=detector, seed=(0, 32, 30))
        assert dice(mask, truth) > 0.9, detector


def test_chan_vese_is_2d_only_and_segments_a_disk() -> None:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:48, :48]
    disk = (yy - 24) ** 2 + (xx - 20) ** 2 <= 10**2
    image = Image((np.where(disk, 1.0, 0.0) + rng.normal(0, 0.2, disk.shape))[None])
    truth = Mask.like(image, disk[None])
    assert dice(segment(image, "chan_vese"), truth) > 0.95
    assert dice(segment(image, "morphological_chan_vese", seed=(0, 24, 20)), truth) > 0.95
    with pytest.raises(InputError, match="chan_vese: works on 2-D images only"):
        segment(Image(np.zeros((4, 8, 8))), "chan_vese")


def test_3d_active_contours_on_a_sphere(sphere_case) -> None:
    image, truth = sphere_case
    acwe = segment(image, "morphological_chan_vese", seed=(16, 16, 16), iterations=30)
    assert dice(acwe, truth) > 0.95
    gac = segment(image, "geodesic_active_contour", seed=(16, 16, 16), iterations=60)
    assert dice(gac, truth) > 0.9


def test_box_crops_and_pastes_back_and_seed_picks_a_component() -> None:
    array = np.zeros((10, 40, 40), dtype=np.float32)
    array[2:8, 5:15, 5:15] = 100
    array[2:8, 25:35, 25:35] = 100
    image = Image(array, spacing=(2.0, 1.0, 1.0), origin=(5.0, 6.0, 7.0))
    both = segment(image, "otsu")
    assert both.voxel_count == 2 * 600 and both.geometry_equal(image)
    one = segment(image, "otsu", seed=(4, 30, 30))
    assert one.voxel_count == 600 and one.array[4, 30, 30]
    boxed = segment(image, "otsu", box="0,0,0,10,20,20")
    assert boxed.voxel_count == 600 and boxed.array[4, 10, 10]
    with pytest.raises(ConfigError, match="otsu: parameter 'box'"):
        segment(image, "otsu", box=(0, 0, 0, 0, 5, 5))
    with pytest.raises(ConfigError, match="parameter 'seed' .* outside the box"):
        segment(image, "otsu", box=(0, 0, 0, 10, 20, 20), seed=(4, 30, 30))


def test_unknown_method_param_and_nan() -> None:
    image = Image(np.zeros((2, 4, 4)))
    with pytest.raises(ConfigError, match="method 'otzu'; did you mean 'otsu'"):
        segment(image, "otzu")
    with pytest.raises(ConfigError, match="kmeans: unknown parameter 'clusters'"):
        segment(image, "kmeans", clusters=3)
    bad = np.zeros((2, 4, 4))
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="otsu: .*NaN"):
        segment(Image(bad), "otsu")
    assert "unet" in METHODS and "region_growing" in METHODS


def test_star_prior_keeps_a_round_object_seeded_off_centre() -> None:
    z, y, x = np.mgrid[:30, :60, :60]
    ball = (z - 15) ** 2 + (y - 30) ** 2 + (x - 30) ** 2 <= 9**2
    wall = (x >= 39) & (x < 50)
    cut = star_constrain(ball | wall, (15, 25, 26), (1.0, 1.0, 1.0))
    assert dice(Mask(cut), Mask(ball)) > 0.93
    assert dice(Mask(star_constrain(ball, (15, 24, 30), (1.0, 1.0, 1.0))), Mask(ball)) > 0.97
