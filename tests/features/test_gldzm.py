"""Tests of medscale.features.gldzm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import brute_zones, random_case

from medscale.errors import MedscaleWarning
from medscale.features import gldzm


def erosion_distance(mask, *, in_plane):
    """IBSI-1 3.9: erode (4/6-connected) until empty, adding 1 to the surviving voxels."""
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(3, 1)
    if in_plane:
        structure[0] = structure[2] = False
    distance = np.zeros(mask.shape, dtype=int)
    current = mask.copy()
    while current.any():
        distance += current
        current = ndimage.binary_erosion(current, structure, border_value=0)
    return distance


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("in_plane", [True, False])
def test_edge_distance_matches_erosion(seed: int, in_plane: bool) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((6, 9, 8)) < 0.85
    np.testing.assert_array_equal(
        gldzm.edge_distance(mask, in_plane=in_plane), erosion_distance(mask, in_plane=in_plane)
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dimension", ["2D", "3D"])
def test_matrices_match_flood_fill(seed: int, dimension: str) -> None:
    levels, roi = random_case(seed, n_levels=2)
    morph = roi | (np.random.default_rng(seed + 10).random(roi.shape) < 0.5)
    in_plane = dimension == "2D"
    distance = erosion_distance(morph, in_plane=in_plane)
    padded = np.pad(np.where(roi, levels, 0), 1)
    fast_distance = gldzm._distance_on_crop(morph, roi, in_plane=in_plane)
    compressed, _, present, steps = gldzm.distance_zone_matrices(
        padded, fast_distance, dimension=dimension
    )
    fast = np.zeros((compressed.shape[0], 2, steps.max()), dtype=np.int64)
    fast[:, (present - 1)[:, None], steps - 1] = compressed
    slow = np.zeros((levels.shape[0] if in_plane else 1, 2, fast.shape[-1]), dtype=np.int64)
    for level, members in brute_zones(levels, roi, in_plane=in_plane):
        zone_distance = min(distance[m] for m in members)
        slow[members[0][0] if in_plane else 0, level - 1, zone_distance - 1] += 1
    np.testing.assert_array_equal(fast[1:-1] if in_plane else fast, slow)


def test_morphological_mask_sets_the_distance() -> None:
    levels = np.ones((5, 5, 5), dtype=int)
    roi = np.zeros((5, 5, 5), dtype=bool)
    roi[2, 2, 2] = True  # one voxel at the centre of a 5^3 morphological cube
    out = gldzm.compute(levels, roi, 1, dimension="3D", morph_roi=np.ones_like(roi))
    assert out["dzm_lde_3D"] == 9.0  # distance 3 to the edge of the cube
    alone = gldzm.compute(levels, roi, 1, dimension="3D")
    assert alone["dzm_lde_3D"] == 1.0


def test_intensity_mask_outside_morphological_mask_is_an_error() -> None:
    from medscale.errors import MaskError

    levels, roi = random_case(0)
    with pytest.raises(MaskError, match="outside the morphological"):
        gldzm.compute(levels, roi, 4, dimension="3D", morph_roi=np.zeros_like(roi))


def test_empty_roi_gives_nan_and_warning() -> None:
    levels, roi = random_case(0)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = gldzm.compute(levels, np.zeros_like(roi), 4, dimension=("2D", "2.5D"))
    assert len(out) == 32 and all(math.isnan(v) for v in out.values())
