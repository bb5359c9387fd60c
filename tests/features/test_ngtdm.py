"""Tests of medscale.features.ngtdm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import random_case

from medscale.errors import MedscaleWarning
from medscale.features import ngtdm


def brute_ngtdm(levels, roi, n_levels, *, in_plane):
    """s_i and n_i per slice (or volume) from explicit neighbour loops (IBSI-1 3.10)."""
    nz, ny, nx = levels.shape
    groups = nz if in_plane else 1
    s = np.zeros((groups, n_levels))
    n = np.zeros((groups, n_levels), dtype=np.int64)
    steps = [
        (dz, dy, dx)
        for dz in ((0,) if in_plane else (-1, 0, 1))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dz, dy, dx) != (0, 0, 0)
    ]
    for z, y, x in zip(*np.nonzero(roi), strict=True):
        values = [
            levels[z + dz, y + dy, x + dx]
            for dz, dy, dx in steps
            if 0 <= z + dz < nz
            and 0 <= y + dy < ny
            and 0 <= x + dx < nx
            and roi[z + dz, y + dy, x + dx]
        ]
        if values:
            g = z if in_plane else 0
            s[g, levels[z, y, x] - 1] += abs(levels[z, y, x] - np.mean(values))
            n[g, levels[z, y, x] - 1] += 1
    return s, n


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("in_plane", [True, False])
def test_vectors_match_brute_force(seed: int, in_plane: bool) -> None:
    levels, roi = random_case(seed)
    padded = np.pad(np.where(roi, levels, 0), 1)
    s_present, n_present, present = ngtdm.ngtdm_vectors(padded, in_plane=in_plane)
    s = np.zeros((s_present.shape[0], 4))
    n = np.zeros((s_present.shape[0], 4), dtype=np.int64)
    s[:, present - 1], n[:, present - 1] = s_present, n_present
    s_ref, n_ref = brute_ngtdm(levels, roi, 4, in_plane=in_plane)
    if in_plane:
        s, n = s[1:-1], n[1:-1]
    np.testing.assert_allclose(s, s_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(n, n_ref)


def test_features_match_direct_formulas() -> None:
    s = np.array([1.0, 0.0, 0.625, 1.825])
    n = np.array([2, 0, 1, 1])
    got = {k: v[0] for k, v in ngtdm.ngtdm_features(s[None], n[None]).items()}
    p = n / n.sum()
    i = np.arange(1, 5)
    present = np.flatnonzero(p)
    ps = (p * s).sum()
    assert got["ngt_coarseness"] == pytest.approx(1 / ps)
    spread = sum(p[a] * p[b] * (i[a] - i[b]) ** 2 for a in present for b in present)
    assert got["ngt_contrast"] == pytest.approx(spread / (3 * 2) * s.sum() / n.sum())
    busy = sum(abs(i[a] * p[a] - i[b] * p[b]) for a in present for b in present)
    assert got["ngt_busyness"] == pytest.approx(ps / busy)
    complexity = (
        sum(
            abs(i[a] - i[b]) * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b])
            for a in present
            for b in present
        )
        / n.sum()
    )
    assert got["ngt_complexity"] == pytest.approx(complexity)
    strength = sum((p[a] + p[b]) * (i[a] - i[b]) ** 2 for a in present for b in present)
    assert got["ngt_strength"] == pytest.approx(strength / s.sum())


def test_constant_roi_limits() -> None:
    levels = np.full((3, 3, 3), 2)
    out = ngtdm.compute(levels, levels > 0, 2, dimension="3D")
    assert out == {
        "ngt_coarseness_3D": 1e6,
        "ngt_contrast_3D": 0.0,
        "ngt_busyness_3D": 0.0,
        "ngt_complexity_3D": 0.0,
        "ngt_strength_3D": 0.0,
    }


def test_isolated_voxels_are_undefined() -> None:
    levels = np.zeros((3, 3, 3), dtype=int)
    levels[0, 0, 0] = levels[2, 2, 2] = 1
    with pytest.warns(MedscaleWarning, match="no ROI voxel has an ROI neighbour"):
        out = ngtdm.compute(levels, levels > 0, 1, dimension=("2D", "3D"))
    assert len(out) == 10 and all(math.isnan(v) for v in out.values())


def test_neighbours_outside_roi_do_not_count() -> None:
    levels = np.array([[[1, 3, 5]]])
    roi = np.array([[[True, True, False]]])
    s, n, present = ngtdm.ngtdm_vectors(np.pad(np.where(roi, levels, 0), 1), in_plane=False)
    assert present.tolist() == [1, 3]
    assert s[0].tolist() == [2.0, 2.0] and n.sum() == 2


def test_distance_two_neighbourhood() -> None:
    levels = np.array([[[1, 5, 9, 2]]])
    s, n, present = ngtdm.ngtdm_vectors(np.pad(levels, 2), distance=2, in_plane=False)
    # level 1: neighbours 5, 9 -> mean 7; level 2: neighbours 5, 9 -> mean 7
    # level 5: neighbours 1, 9, 2 -> 4; level 9: neighbours 1, 5, 2 -> 8/3
    assert present.tolist() == [1, 2, 5, 9] and n.tolist() == [[1, 1, 1, 1]]
    np.testing.assert_allclose(s[0], [6.0, 5.0, 1.0, 9 - 8 / 3])
