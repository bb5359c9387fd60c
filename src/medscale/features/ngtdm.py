"""Neighbourhood grey tone difference matrix (NGTDM) features, IBSI-1 section 3.10.

For each ROI voxel k with at least one ROI neighbour (Chebyshev distance `distance`, in-plane
for 2-D), the mean grey level of its ROI neighbours is X_k = S_k / W_k. Neighbour sums S_k and
counts W_k come from separable box sums (`scipy.ndimage.correlate1d`) of the levels and of the
mask, minus the centre. s_i = sum |i - X_k| over voxels of level i, n_i = their number.

Aggregation: ``_2D`` per slice, averaged; ``_2_5D`` s_i and n_i summed over slices; ``_3D``.

References
----------
Amadasun M., King R. (1989), Textural features corresponding to textural properties.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.10.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "ngtdm"
FEATURES = builtin_features(_FAMILY)
_NAMES = tuple(feature.name for feature in FEATURES)
MAX_COARSENESS = 1.0e6


def _features(
    padded: np.ndarray, n_levels: int, dims: tuple[str, ...], *, distance: int = 1
) -> dict[str, float]:
    """NGTDM features of prepared levels; `distance` is the Chebyshev radius of the
    neighbourhood (voxels)."""
    distance = int(distance)
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        s, n, present = ngtdm_vectors(padded, distance=distance, in_plane=True)
        if "2D" in dims:
            out.update(_aggregate(s, n, present, "2D"))
        if "2.5D" in dims:
            out.update(
                _aggregate(
                    s.sum(axis=0, keepdims=True), n.sum(axis=0, keepdims=True), present, "2_5D"
                )
            )
    if "3D" in dims:
        s, n, present = ngtdm_vectors(padded, distance=distance, in_plane=False)
        out.update(_aggregate(s, n, present, "3D"))
    return out


def ngtdm_vectors(
    padded: np.ndarray, *, distance: int = 1, in_plane: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s_i and n_i per z plane (`in_plane`) or for the volume, of `padded` (levels with 0
    outside the ROI and at least `distance` outside voxels on every side).

    Returns
    -------
    s : numpy.ndarray of float64, shape (Z, Np)
        Sum of |i - mean neighbour level| over voxels of level i with an ROI neighbour.
    n : numpy.ndarray of int64, shape (Z, Np)
        Number of those voxels. Z = z planes of `padded` if `in_plane`, else 1.
    levels : numpy.ndarray of int64, shape (Np,)
        The grey level i of each column (the levels present in the ROI).
    """
    inside = (padded > 0).astype(np.int64)
    box = np.ones(2 * distance + 1, dtype=np.int64)
    level_sum, count = padded, inside
    axes = (1, 2) if in_plane else (0, 1, 2)
    for axis in axes:
        level_sum = ndimage.correlate1d(level_sum, box, axis=axis, mode="constant")
        count = ndimage.correlate1d(count, box, axis=axis, mode="constant")
    voxels = np.flatnonzero(padded.ravel())
    level = padded.ravel()[voxels]
    neighbours = count.ravel()[voxels] - 1
    has = neighbours > 0
    voxels, level, neighbours = voxels[has], level[has], neighbours[has]
    mean = (level_sum.ravel()[voxels] - level) / neighbours
    present, row = tc.present_levels(padded)
    n_p = len(present)
    n_z = padded.shape[0] if in_plane else 1
    group = voxels // (padded.shape[1] * padded.shape[2]) if in_plane else 0
    index = group * n_p + row[level]
    size = n_z * n_p
    s = np.bincount(index, weights=np.abs(level - mean), minlength=size)
    n = np.bincount(index, minlength=size)
    return s.reshape(n_z, n_p), n.reshape(n_z, n_p), present


def ngtdm_features(
    s: np.ndarray, n: np.ndarray, levels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The 5 IBSI NGTDM features of each (s_i, n_i) pair of a stack.

    Parameters
    ----------
    s, n : numpy.ndarray, shape (K, Ng)
        Every row has at least one voxel (n.sum(axis=1) > 0).
    levels : numpy.ndarray, shape (Ng,), optional
        Grey level of each column; default 1..Ng.

    Returns
    -------
    dict of str to numpy.ndarray of shape (K,)

    Notes
    -----
    p_i = n_i / N_v,c; N_g,p = number of levels with p_i > 0. Coarseness is capped at 10^6;
    contrast and busyness are 0 when N_g,p = 1; strength is 0 when sum s_i = 0 (IBSI-1 3.10).
    """
    s = np.asarray(s, dtype=np.float64)
    n_vc = n.sum(axis=1).astype(np.float64)
    p = n / n_vc[:, None]
    present = p > 0
    n_gp = present.sum(axis=1)
    i = (np.arange(1, s.shape[1] + 1) if levels is None else np.asarray(levels)).astype(float)
    both = present[:, :, None] & present[:, None, :]
    di = i[:, None] - i[None, :]
    ps = p * s
    ps_sum = ps.sum(axis=1)
    s_sum = s.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        coarseness = np.where(ps_sum > 0, 1.0 / ps_sum, MAX_COARSENESS)
        spread = (p[:, :, None] * p[:, None, :] * di**2).sum(axis=(1, 2))
        contrast = np.where(n_gp > 1, spread / (n_gp * (n_gp - 1)) * s_sum / n_vc, 0.0)
        ip = i * p
        busy_den = np.where(both, np.abs(ip[:, :, None] - ip[:, None, :]), 0.0).sum(axis=(1, 2))
        busyness = np.where((n_gp > 1) & (busy_den > 0), ps_sum / busy_den, 0.0)
        p_pair = p[:, :, None] + p[:, None, :]
        ratio = (ps[:, :, None] + ps[:, None, :]) / np.where(both, p_pair, 1.0)
        complexity = np.where(both, np.abs(di) * ratio, 0.0).sum(axis=(1, 2)) / n_vc
        strength_num = np.where(both, p_pair * di**2, 0.0).sum(axis=(1, 2))
        strength = np.where(s_sum > 0, strength_num / s_sum, 0.0)
    return {
        "ngt_coarseness": coarseness,
        "ngt_contrast": contrast,
        "ngt_busyness": busyness,
        "ngt_complexity": complexity,
        "ngt_strength": strength,
    }


def _aggregate(s: np.ndarray, n: np.ndarray, levels: np.ndarray, suffix: str) -> dict[str, float]:
    """Features of each row with voxels, averaged; NaN + warning when there is none."""
    keep = n.sum(axis=1) > 0
    if not keep.any():
        tc.warn_undefined(f"ngtdm ({suffix}): no ROI voxel has an ROI neighbour; NGTDM undefined")
        return tc.nan_features(_NAMES, [suffix])
    s, n = s[keep], n[keep]
    chunk = max(1, 4_000_000 // n.shape[1] ** 2)  # bounded memory for the pairwise terms
    parts = [
        ngtdm_features(s[k : k + chunk], n[k : k + chunk], levels) for k in range(0, len(n), chunk)
    ]
    values = {name: np.concatenate([part[name] for part in parts]) for name in _NAMES}
    return tc.averaged(values, {name: name for name in _NAMES}, suffix)


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features)
compute = TEXTURE.compute
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "ngtdm", suffix_3d="_3D", suffix_2d="_2D")
)
