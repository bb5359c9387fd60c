"""Tests of medscale.features.glszm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import brute_zones, random_case

from medscale.errors import MedscaleWarning
from medscale.features import glszm


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dimension", ["2D", "3D"])
def test_matrices_match_flood_fill(seed: int, dimension: str) -> None:
    levels, roi = random_case(seed, n_levels=3)
    padded = np.pad(np.where(roi, levels, 0), 1)
    compressed, n_voxels, present, sizes = glszm.size_zone_matrices(padded, dimension=dimension)
    fast = np.zeros((compressed.shape[0], 3, sizes.max()), dtype=np.int64)
    fast[:, (present - 1)[:, None], sizes - 1] = compressed
    in_plane = dimension == "2D"
    zones = brute_zones(levels, roi, in_plane=in_plane)
    slow = np.zeros((levels.shape[0] if in_plane else 1, 3, fast.shape[-1]), dtype=np.int64)
    for level, members in zones:
        slow[members[0][0] if in_plane else 0, level - 1, len(members) - 1] += 1
    np.testing.assert_array_equal(fast[1:-1] if in_plane else fast, slow)
    assert n_voxels.sum() == roi.sum()


def test_constant_roi_is_one_zone() -> None:
    levels = np.full((3, 4, 5), 2)
    out = glszm.compute(levels, levels > 0, 2, dimension=("2D", "2.5D", "3D"))
    assert out["szm_z_perc_3D"] == pytest.approx(1 / 60)
    assert out["szm_lze_3D"] == 3600.0 and out["szm_sze_3D"] == pytest.approx(1 / 3600)
    assert out["szm_z_perc_2D"] == pytest.approx(1 / 20)  # one zone per slice
    assert out["szm_glnu_2_5D"] == 3.0 and out["szm_zs_entr_3D"] == 0.0


def test_diagonal_voxels_link() -> None:
    levels = np.zeros((2, 3, 3), dtype=int)
    levels[0, 0, 0] = levels[0, 1, 1] = levels[1, 2, 2] = 1
    out = glszm.compute(levels, levels > 0, 1, dimension=("2D", "3D"))
    assert out["szm_z_perc_3D"] == pytest.approx(1 / 3)  # 26-connected: one zone of 3
    # 2-D: slice 0 has one zone of 2 (8-connected), slice 1 one zone of 1
    assert out["szm_lze_2D"] == pytest.approx((4 + 1) / 2)


def test_translation_invariant() -> None:
    levels, roi = random_case(1)
    big_levels = np.full((7, 8, 9), 4)
    big_roi = np.zeros((7, 8, 9), dtype=bool)
    big_levels[1:6, 2:8, 1:8] = levels
    big_roi[1:6, 2:8, 1:8] = roi
    dims = ("2D", "2.5D", "3D")
    a = glszm.compute(levels, roi, 4, dimension=dims)
    b = glszm.compute(big_levels, big_roi, 4, dimension=dims)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_empty_roi_gives_nan_and_warning() -> None:
    levels, roi = random_case(0)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = glszm.compute(levels, np.zeros_like(roi), 4, dimension="3D")
    assert len(out) == 16 and all(math.isnan(v) for v in out.values())
