"""Tests of medscale.features.glrlm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import random_case

from medscale.errors import MedscaleWarning
from medscale.features import glrlm
from medscale.features import texture_common as tc


def brute_runs(levels, roi, direction):
    """(level, length, z) of every run, walking each line voxel by voxel."""
    nz, ny, nx = levels.shape
    dz, dy, dx = direction
    runs = []
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not roi[z, y, x]:
                    continue
                pz, py, px = z - dz, y - dy, x - dx
                inside = 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx
                if inside and roi[pz, py, px] and levels[pz, py, px] == levels[z, y, x]:
                    continue  # not a run start
                length = 1
                qz, qy, qx = z + dz, y + dy, x + dx
                while (
                    0 <= qz < nz
                    and 0 <= qy < ny
                    and 0 <= qx < nx
                    and roi[qz, qy, qx]
                    and levels[qz, qy, qx] == levels[z, y, x]
                ):
                    length += 1
                    qz, qy, qx = qz + dz, qy + dy, qx + dx
                runs.append((levels[z, y, x], length, z))
    return sorted(runs)


@pytest.mark.parametrize("seed", range(4))
def test_runs_match_brute_force(seed: int) -> None:
    levels, roi = random_case(seed, n_levels=2)  # few levels: long runs
    padded = np.pad(np.where(roi, levels, 0), 1)
    for direction in tc.DIRECTIONS_3D:
        level, length, z = glrlm._runs(padded, direction)
        slow = brute_runs(levels, roi, direction)
        if direction[0] == 0:  # in-plane runs also carry their slice
            fast = sorted(zip(level.tolist(), length.tolist(), (z - 1).tolist(), strict=True))
        else:
            fast = sorted(zip(level.tolist(), length.tolist(), strict=True))
            slow = sorted((lv, n) for lv, n, _ in slow)
        assert fast == slow, direction


@pytest.mark.parametrize("seed", range(3))
def test_matrices_match_brute_force(seed: int) -> None:
    levels, roi = random_case(seed, n_levels=3)
    padded = np.pad(np.where(roi, levels, 0), 1)
    compressed, present, lengths = glrlm.run_matrices(padded, tc.DIRECTIONS_2D, per_slice=True)
    fast = np.zeros((*compressed.shape[:2], 3, lengths.max()), dtype=np.int64)
    fast[:, :, (present - 1)[:, None], lengths - 1] = compressed
    for k, direction in enumerate(tc.DIRECTIONS_2D):
        slow = np.zeros((levels.shape[0], 3, fast.shape[-1]), dtype=np.int64)
        for level, length, z in brute_runs(levels, roi, direction):
            slow[z, level - 1, length - 1] += 1
        np.testing.assert_array_equal(fast[1:-1, k], slow)
    # every ROI voxel is in exactly one run per direction
    lengths = np.arange(1, fast.shape[-1] + 1)
    assert ((fast * lengths).sum(axis=(0, 2, 3)) == roi.sum()).all()


def test_constant_line() -> None:
    levels = np.full((1, 1, 5), 3)
    out = glrlm.compute(levels, levels > 0, 3, dimension="2D")
    # along x one run of 5; along y and the diagonals five runs of 1
    assert out["rlm_r_perc_2D_comb"] == pytest.approx(16 / 20)
    assert out["rlm_r_perc_2D_avg"] == pytest.approx((1 / 5 + 3) / 4)
    assert out["rlm_lre_2D_avg"] == pytest.approx((25 + 3) / 4)
    assert out["rlm_gl_var_2D_comb"] == 0.0
    assert out["rlm_glnu_norm_2D_comb"] == 1.0


def test_single_voxel() -> None:
    levels = np.zeros((3, 3, 3), dtype=int)
    levels[1, 1, 1] = 2
    out = glrlm.compute(levels, levels > 0, 2, dimension=("2D", "2.5D", "3D"))
    assert len(out) == 6 * 16
    assert out["rlm_sre_3D_avg"] == 1.0 and out["rlm_r_perc_2D_comb"] == 1.0
    assert out["rlm_hgre_3D_comb"] == 4.0 and out["rlm_rl_entr_3D_avg"] == 0.0


def test_translation_invariant() -> None:
    levels, roi = random_case(2)
    big_levels = np.ones((8, 9, 10), dtype=int)
    big_roi = np.zeros((8, 9, 10), dtype=bool)
    big_levels[1:6, 3:9, 2:9] = levels
    big_roi[1:6, 3:9, 2:9] = roi
    dims = ("2D", "2.5D", "3D")
    a = glrlm.compute(levels, roi, 4, dimension=dims)
    b = glrlm.compute(big_levels, big_roi, 4, dimension=dims)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_empty_roi_gives_nan_and_warning() -> None:
    levels, roi = random_case(0)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = glrlm.compute(levels, np.zeros_like(roi), 4, dimension="2.5D")
    assert len(out) == 32 and all(math.isnan(v) for v in out.values())
