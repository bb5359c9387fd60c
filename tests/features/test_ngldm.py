"""Tests of medscale.features.ngldm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import random_case

from medscale.errors import MedscaleWarning
from medscale.features import ngldm


def brute_dependence(levels, roi, n_levels, *, in_plane, alpha=0):
    """Voxel counts by (level, 1 + dependent ROI neighbours), explicit loops (IBSI-1 3.11)."""
    nz, ny, nx = levels.shape
    steps = [
        (dz, dy, dx)
        for dz in ((0,) if in_plane else (-1, 0, 1))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dz, dy, dx) != (0, 0, 0)
    ]
    counts = {}
    for z, y, x in zip(*np.nonzero(roi), strict=True):
        j = 1 + sum(
            1
            for dz, dy, dx in steps
            if 0 <= z + dz < nz
            and 0 <= y + dy < ny
            and 0 <= x + dx < nx
            and roi[z + dz, y + dy, x + dx]
            and abs(levels[z + dz, y + dy, x + dx] - levels[z, y, x]) <= alpha
        )
        key = (z if in_plane else 0, levels[z, y, x] - 1, j - 1)
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("in_plane", [True, False])
@pytest.mark.parametrize("alpha", [0, 1])
def test_matrices_match_brute_force(seed: int, in_plane: bool, alpha: int) -> None:
    levels, roi = random_case(seed, n_levels=3)
    padded = np.pad(np.where(roi, levels, 0), 1)
    compressed, present = ngldm.dependence_matrices(padded, alpha=alpha, in_plane=in_plane)
    fast = np.zeros((compressed.shape[0], 3, compressed.shape[2]), dtype=np.int64)
    fast[:, present - 1] = compressed
    if in_plane:
        fast = fast[1:-1]
    slow = np.zeros_like(fast)
    for key, value in brute_dependence(levels, roi, 3, in_plane=in_plane, alpha=alpha).items():
        slow[key] = value
    np.testing.assert_array_equal(fast, slow)


def test_constant_block() -> None:
    levels = np.full((3, 3, 3), 1)
    out = ngldm.compute(levels, levels > 0, 1, dimension="3D")
    # dependences: 8 corners 8, 12 edges 12, 6 faces 18, 1 centre 27
    j = np.array([8] * 8 + [12] * 12 + [18] * 6 + [27])
    assert out["ngl_hde_3D"] == pytest.approx(np.mean(j**2))
    assert out["ngl_lde_3D"] == pytest.approx(np.mean(1.0 / j**2))
    assert out["ngl_dc_perc_3D"] == 1.0 and out["ngl_gl_var_3D"] == 0.0
    assert out["ngl_dc_energy_3D"] == pytest.approx((8**2 + 12**2 + 6**2 + 1) / 27**2)


def test_single_voxel() -> None:
    levels = np.zeros((1, 3, 3), dtype=int)
    levels[0, 1, 1] = 1
    out = ngldm.compute(levels, levels > 0, 1, dimension=("2D", "2.5D", "3D"))
    assert len(out) == 3 * 17
    assert out["ngl_lde_2D"] == 1.0 and out["ngl_dc_entr_3D"] == 0.0


def test_larger_distance() -> None:
    levels, roi = random_case(4, n_levels=2)
    near = ngldm.compute(levels, roi, 2, dimension="3D")
    far = ngldm.compute(levels, roi, 2, dimension="3D", distance=2)
    assert far["ngl_hde_3D"] > near["ngl_hde_3D"]


def test_empty_roi_gives_nan_and_warning() -> None:
    levels, roi = random_case(0)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = ngldm.compute(levels, np.zeros_like(roi), 4, dimension="3D")
    assert len(out) == 17 and all(math.isnan(v) for v in out.values())
