"""Tests of medscale.features.glcm: IBSI digital phantom, brute-force cross-checks, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from texture_reference import random_case

from medscale.errors import MedscaleWarning
from medscale.features import glcm
from medscale.features import texture_common as tc


def brute_glcm(levels, roi, directions, n_max, *, per_slice):
    """Pairs counted voxel by voxel (symmetric)."""
    nz, ny, nx = levels.shape
    out = np.zeros((nz if per_slice else 1, len(directions), n_max, n_max), dtype=np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not roi[z, y, x]:
                    continue
                for k, (dz, dy, dx) in enumerate(directions):
                    for sign in (1, -1):
                        z2, y2, x2 = z + sign * dz, y + sign * dy, x + sign * dx
                        if 0 <= z2 < nz and 0 <= y2 < ny and 0 <= x2 < nx and roi[z2, y2, x2]:
                            out[
                                z if per_slice else 0,
                                k,
                                levels[z, y, x] - 1,
                                levels[z2, y2, x2] - 1,
                            ] += 1
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dimension", ["2D", "3D"])
def test_matrices_match_brute_force(seed: int, dimension: str) -> None:
    levels, roi = random_case(seed)
    padded = np.pad(np.where(roi, levels, 0), 1)
    dirs = tc.directions(dimension)
    per_slice = dimension == "2D"
    compressed, present = glcm.glcm_matrices(padded, dirs, per_slice=per_slice)
    fast = np.zeros((*compressed.shape[:2], 4, 4), dtype=np.int64)
    fast[:, :, (present - 1)[:, None], present - 1] = compressed
    slow = brute_glcm(levels, roi, dirs, 4, per_slice=per_slice)
    if per_slice:
        fast = fast[1:-1]  # padding planes
    np.testing.assert_array_equal(fast, slow)


def test_absent_levels_do_not_change_features() -> None:
    """Rows of levels absent from the ROI are dropped; the features keep the real levels."""
    levels, roi = random_case(1)
    spread = np.where(levels > 2, levels + 5, levels)  # levels 1, 2, 8, 9 of Ng = 9
    dense = np.zeros((1, 9, 9))
    compressed, present = glcm.glcm_matrices(np.pad(np.where(roi, spread, 0), 1), tc.DIRECTIONS_3D)
    dense[0][np.ix_(present - 1, present - 1)] = compressed[0].sum(axis=0)
    via_dense = glcm.glcm_features(dense, 9)
    via_compressed = glcm.glcm_features(compressed[0].sum(axis=0, keepdims=True), 9, present)
    for name, value in via_dense.items():
        assert via_compressed[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name


def test_features_match_direct_formulas() -> None:
    """Features of one matrix against plain loops over its cells (IBSI-1 3.6 definitions)."""
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 5, size=(4, 4))
    counts = counts + counts.T
    p = counts / counts.sum()
    got = {k: v[0] for k, v in glcm.glcm_features(counts[None], 4).items()}
    i, j = np.meshgrid(np.arange(1, 5), np.arange(1, 5), indexing="ij")
    mu = (i * p).sum()
    sigma2 = ((i - mu) ** 2 * p).sum()
    assert got["cm_joint_avg"] == pytest.approx(mu)
    assert got["cm_contrast"] == pytest.approx(((i - j) ** 2 * p).sum())
    assert got["cm_inv_diff_norm"] == pytest.approx((p / (1 + abs(i - j) / 4)).sum())
    assert got["cm_corr"] == pytest.approx(((i - mu) * (j - mu) * p).sum() / sigma2)
    assert got["cm_clust_prom"] == pytest.approx(((i + j - 2 * mu) ** 4 * p).sum())
    diff = np.array([p[abs(i - j) == k].sum() for k in range(4)])
    assert got["cm_inv_var"] == pytest.approx((diff[1:] / np.arange(1, 4) ** 2).sum())
    pi = p.sum(axis=1)
    hx = -(pi[pi > 0] * np.log2(pi[pi > 0])).sum()
    hxy = -(p[p > 0] * np.log2(p[p > 0])).sum()
    outer = np.outer(pi, pi)
    hxy1 = -(p[outer > 0] * np.log2(outer[outer > 0])).sum()
    hxy2 = -(outer[outer > 0] * np.log2(outer[outer > 0])).sum()
    assert got["cm_info_corr1"] == pytest.approx((hxy - hxy1) / hx)
    assert got["cm_info_corr2"] == pytest.approx(math.sqrt(1 - math.exp(-2 * (hxy2 - hxy))))


def test_constant_roi_correlation_is_undefined() -> None:
    levels = np.full((3, 4, 4), 2)
    with pytest.warns(MedscaleWarning) as record:
        out = glcm.compute(levels, levels > 0, 3, dimension="3D")
    messages = " ".join(str(w.message) for w in record)
    assert "cm_corr" in messages and "cm_info_corr1" in messages
    assert math.isnan(out["cm_info_corr1_3D_avg"])
    assert out["cm_joint_max_3D_comb"] == 1.0
    assert out["cm_joint_avg_3D_avg"] == 2.0
    assert out["cm_contrast_3D_comb"] == 0.0
    assert math.isnan(out["cm_corr_3D_comb"])


def test_single_voxel_is_undefined() -> None:
    levels = np.zeros((3, 3, 3), dtype=int)
    levels[1, 1, 1] = 1
    with pytest.warns(MedscaleWarning, match="no pair"):
        out = glcm.compute(levels, levels > 0, 1, dimension=("2D", "3D"))
    assert len(out) == 4 * 25
    assert all(math.isnan(v) for v in out.values())


def test_translation_and_padding_invariant() -> None:
    levels, roi = random_case(3)
    big_levels = np.zeros((9, 12, 11), dtype=int)
    big_roi = np.zeros((9, 12, 11), dtype=bool)
    big_levels[2:7, 4:10, 1:8] = levels
    big_roi[2:7, 4:10, 1:8] = roi
    a = glcm.compute(levels, roi, 4, dimension=("2D", "2.5D", "3D"))
    b = glcm.compute(big_levels, big_roi, 4, dimension=("2D", "2.5D", "3D"))
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12), key


def test_dimension_subsets_agree() -> None:
    levels, roi = random_case(5)
    both = glcm.compute(levels, roi, 4, dimension=("2D", "2.5D"))
    two = glcm.compute(levels, roi, 4, dimension="2D")
    assert set(two) == {k for k in both if "_2D_" in k}
    assert all(two[k] == both[k] for k in two)


def test_bad_input_is_reported() -> None:
    from medscale.errors import ConfigError, GeometryError, InputError, MaskError

    levels, roi = random_case(0)
    with pytest.raises(ConfigError, match="dimension"):
        glcm.compute(levels, roi, 4, dimension="4D")
    with pytest.raises(GeometryError):
        glcm.compute(levels[:, :, :3], roi, 4, dimension="3D")
    with pytest.raises(MaskError):
        glcm.compute(levels, roi.astype(int), 4, dimension="3D")
    with pytest.raises(InputError, match="1..3"):
        glcm.compute(levels, roi, 3, dimension="3D")


def test_empty_roi_gives_nan_and_warning() -> None:
    levels, roi = random_case(0)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = glcm.compute(levels, np.zeros_like(roi), 4, dimension="3D")
    assert len(out) == 50 and all(math.isnan(v) for v in out.values())


def test_distance_two_matches_brute_force() -> None:
    levels, roi = random_case(6)
    padded = np.pad(np.where(roi, levels, 0), 2)
    compressed, present = glcm.glcm_matrices(padded, tc.DIRECTIONS_3D, distance=2)
    fast = np.zeros((1, 13, 4, 4), dtype=np.int64)
    fast[:, :, (present - 1)[:, None], present - 1] = compressed
    doubled = [tuple(2 * c for c in d) for d in tc.DIRECTIONS_3D]
    np.testing.assert_array_equal(fast, brute_glcm(levels, roi, doubled, 4, per_slice=False))
    out = glcm.compute(levels, roi, 4, dimension="3D", distance=2)
    assert out["cm_joint_max_3D_comb"] > 0


def test_too_many_grey_levels_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from medscale.errors import ConfigError

    monkeypatch.setattr(glcm, "MAX_CELLS", 1000)
    levels = np.arange(1, 41).reshape(1, 5, 8)
    with pytest.raises(ConfigError, match="40 grey levels present"):
        glcm.compute(levels, levels > 0, 40, dimension="3D")
