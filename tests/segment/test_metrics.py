"""Metrics against hand-computed values: offset cubes, shifted spheres with anisotropic spacing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medscale import Mask
from medscale.errors import GeometryError
from medscale.segment import (
    average_surface_distance,
    dice,
    evaluate,
    hausdorff_distance,
    jaccard,
    volume_difference_ml,
)


def _cube(offset: tuple[int, int, int], spacing=(1.0, 1.0, 1.0)) -> Mask:
    array = np.zeros((30, 30, 30), dtype=bool)
    z, y, x = offset
    array[z : z + 10, y : y + 10, x : x + 10] = True
    return Mask(array, spacing=spacing)


def test_two_offset_cubes_exact_overlap() -> None:
    a, b = _cube((5, 5, 5)), _cube((5, 5, 8))  # 10^3 cubes, 7 x 10 x 10 overlap
    assert dice(a, b) == pytest.approx(2 * 700 / 2000)
    assert jaccard(a, b) == pytest.approx(700 / 1300)
    c = _cube((7, 6, 8))  # 8 x 9 x 7 overlap with a
    assert dice(a, c) == pytest.approx(2 * 504 / 2000)
    assert volume_difference_ml(a, b) == 0.0


def test_volume_difference_in_ml_with_spacing() -> None:
    spacing = (2.0, 0.5, 0.5)
    small = np.zeros((10, 10, 10), bool)
    small[:2, :4, :4] = True  # 32 voxels of 0.5 mm³ = 16 mm³
    big = np.zeros((10, 10, 10), bool)
    big[:4, :4, :4] = True  # 64 voxels = 32 mm³
    assert volume_difference_ml(Mask(small, spacing=spacing), Mask(big, spacing=spacing)) == (
        pytest.approx(-0.016)
    )


def _sphere(centre_mm, radius_mm, shape, spacing) -> Mask:
    grids = np.meshgrid(
        *(np.arange(n) * s for n, s in zip(shape, spacing, strict=True)), indexing="ij"
    )
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre_mm, strict=True))
    return Mask(r2 <= radius_mm**2, spacing=spacing)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_hd95_of_shifted_spheres_is_the_shift_in_mm(axis: int) -> None:
    spacing = (1.5, 0.5, 0.75)
    shape = (40, 120, 80)
    centre = np.array([30.0, 30.0, 30.0])
    shift = 4.5
    moved = centre.copy()
    moved[axis] += shift
    a = _sphere(centre, 12.0, shape, spacing)
    b = _sphere(moved, 12.0, shape, spacing)
    # distance from a point of one sphere to the other sphere's surface is ≈ shift·|cos θ|,
    # uniform on [0, shift] over the surface (Archimedes): the 95th percentile is 0.95·shift,
    # the maximum (Hausdorff) is the shift, the mean is shift / 2.
    voxel = max(spacing)
    assert hausdorff_distance(a, b) == pytest.approx(0.95 * shift, abs=voxel)
    assert hausdorff_distance(a, b, percentile=100) == pytest.approx(shift, abs=voxel)
    assert average_surface_distance(a, b) == pytest.approx(shift / 2, abs=0.5 * voxel)
    scores = evaluate(a, b)
    assert set(scores) == {"dice", "jaccard", "hd95_mm", "assd_mm", "volume_difference_ml"}
    assert scores["hd95_mm"] == pytest.approx(hausdorff_distance(a, b))


def test_identical_masks_and_empty_masks() -> None:
    a = _cube((5, 5, 5))
    scores = evaluate(a, a)
    assert scores == {
        "dice": 1.0,
        "jaccard": 1.0,
        "hd95_mm": 0.0,
        "assd_mm": 0.0,
        "volume_difference_ml": 0.0,
    }
    empty = Mask(np.zeros(a.shape, bool))
    scores = evaluate(empty, a)
    assert scores["dice"] == 0.0 and math.isnan(scores["hd95_mm"])
    assert dice(empty, empty) == 1.0


def test_masks_on_different_grids_are_refused() -> None:
    with pytest.raises(GeometryError, match="metrics: .*spacing"):
        dice(_cube((1, 1, 1)), _cube((1, 1, 1), spacing=(2.0, 1.0, 1.0)))


@settings(max_examples=30, deadline=None)
@given(
    arrays(bool, (4, 9, 9)),
    arrays(bool, (4, 9, 9)),
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
)
def test_metric_invariants(a: np.ndarray, b: np.ndarray, shift: tuple[int, int, int]) -> None:
    spacing = (2.0, 0.7, 0.9)
    ma, mb = Mask(a, spacing=spacing), Mask(b, spacing=spacing)
    scores, swapped = evaluate(ma, mb), evaluate(mb, ma)
    assert 0.0 <= scores["jaccard"] <= scores["dice"] <= 1.0
    assert scores["dice"] == pytest.approx(2 * scores["jaccard"] / (1 + scores["jaccard"]))
    for key in ("dice", "jaccard", "hd95_mm", "assd_mm"):  # symmetric
        assert scores[key] == pytest.approx(swapped[key], nan_ok=True)
    assert scores["volume_difference_ml"] == pytest.approx(-swapped["volume_difference_ml"])
    # translating both masks together (inside a larger grid) changes nothing
    big_a, big_b = np.zeros((8, 13, 13), bool), np.zeros((8, 13, 13), bool)
    region = tuple(slice(s, s + n) for s, n in zip(shift, a.shape, strict=True))
    big_a[region], big_b[region] = a, b
    moved = evaluate(Mask(big_a, spacing=spacing), Mask(big_b, spacing=spacing))
    for key in ("dice", "jaccard", "volume_difference_ml"):
        assert moved[key] == pytest.approx(scores[key])
