"""Grey level run length matrix (GLRLM) features, IBSI-1 section 3.7.

A run is a maximal line of consecutive ROI voxels with one grey level along a direction. For
each direction, run starts and ends are found with two shifted comparisons over the ROI voxels;
starts and ends are paired by sorting both on (line, position along the line), so that run
lengths come out without walking any line in Python.

Aggregation as for the GLCM: ``2D_avg``, ``2D_comb``, ``2_5D_avg``, ``2_5D_comb``,
``3D_avg``, ``3D_comb``. For merged matrices N_v is the sum of the voxels of the merged
matrices (IBSI-1 3.7, run percentage).

References
----------
Galloway M.M. (1975), Texture analysis using gray level run lengths.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.7.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from medscale.features import texture_common as tc
from medscale.features.registry import FeatureInfo

_FAMILY = "glrlm"
_DEFS = (
    ("rlm_sre", "22OV", "Short runs emphasis: sum of r_.j / j^2 over N_s"),
    ("rlm_lre", "W4KF", "Long runs emphasis: sum of j^2 r_.j over N_s"),
    ("rlm_lgre", "V3SW", "Low grey level run emphasis: sum of r_i. / i^2 over N_s"),
    ("rlm_hgre", "G3QZ", "High grey level run emphasis: sum of i^2 r_i. over N_s"),
    ("rlm_srlge", "HTZT", "Short run low grey level emphasis: sum r_ij / (i^2 j^2) over N_s"),
    ("rlm_srhge", "GD3A", "Short run high grey level emphasis: sum i^2 r_ij / j^2 over N_s"),
    ("rlm_lrlge", "IVPO", "Long run low grey level emphasis: sum j^2 r_ij / i^2 over N_s"),
    ("rlm_lrhge", "3KUM", "Long run high grey level emphasis: sum i^2 j^2 r_ij over N_s"),
    ("rlm_glnu", "R5YN", "Grey level non-uniformity: sum of r_i.^2 over N_s"),
    ("rlm_glnu_norm", "OVBL", "Normalised grey level non-uniformity: sum of r_i.^2 / N_s^2"),
    ("rlm_rlnu", "W92Y", "Run length non-uniformity: sum of r_.j^2 over N_s"),
    ("rlm_rlnu_norm", "IC23", "Normalised run length non-uniformity: sum of r_.j^2 / N_s^2"),
    ("rlm_r_perc", "9ZK5", "Run percentage: N_s / N_v"),
    ("rlm_gl_var", "8CE5", "Grey level variance: sum of (i - mu)^2 p_ij"),
    ("rlm_rl_var", "SXLW", "Run length variance: sum of (j - mu)^2 p_ij"),
    ("rlm_rl_entr", "HJ9O", "Run entropy: -sum of p_ij log2 p_ij"),
)
FEATURES: tuple[FeatureInfo, ...] = tuple(FeatureInfo(n, _FAMILY, c, d) for n, c, d in _DEFS)
_NAMES = tuple(name for name, _, _ in _DEFS)
_GENERIC = dict(zip(tc.MATRIX_FEATURES, _NAMES, strict=True))
_SUFFIXES = {"2D": ("2D_avg", "2D_comb"), "2.5D": ("2_5D_avg", "2_5D_comb"),
             "3D": ("3D_avg", "3D_comb")}


def compute(
    levels: npt.ArrayLike,
    roi: npt.ArrayLike,
    n_levels: int,
    *,
    dimension: str | Sequence[str],
) -> dict[str, float]:
    """GLRLM features of the discretised ROI.

    Parameters
    ----------
    levels : array_like of int, shape (z, y, x)
        Discretised grey levels 1..`n_levels` inside `roi`.
    roi : array_like of bool, shape (z, y, x)
        Intensity mask (after re-segmentation).
    n_levels : int
        Number of grey levels Ng.
    dimension : {"2D", "2.5D", "3D"} or a sequence of them
        Which aggregation variants to return; a sequence shares the in-plane runs.

    Returns
    -------
    dict of str to float
        ``rlm_<name>_2D_avg`` / ``_2D_comb``, ``_2_5D_avg`` / ``_2_5D_comb`` or
        ``_3D_avg`` / ``_3D_comb``; NaN with a `medscale.errors.MedscaleWarning` for an empty
        ROI.

    Examples
    --------
    >>> import numpy as np
    >>> levels = np.array([[[1, 1, 1, 2]]])
    >>> out = compute(levels, levels > 0, 2, dimension="3D")
    >>> round(out["rlm_r_perc_3D_comb"], 3)  # 2 runs along x, 4 along the 12 others
    0.962
    """
    dims = tc.parse_dimensions(dimension)
    padded = tc.prepare(levels, roi, n_levels, margin=1, family=_FAMILY)
    if padded is None:
        return tc.nan_features(_NAMES, [s for d in dims for s in _SUFFIXES[d]])
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        per_slice, *axes = run_matrices(padded, tc.DIRECTIONS_2D, per_slice=True)
        if "2D" in dims:
            stacked = per_slice.reshape(-1, *per_slice.shape[2:])
            out.update(_aggregate(stacked, *axes, "2D_avg"))
            out.update(_aggregate(per_slice.sum(axis=1), *axes, "2D_comb"))
        if "2.5D" in dims:
            merged = per_slice.sum(axis=0)
            out.update(_aggregate(merged, *axes, "2_5D_avg"))
            out.update(_aggregate(merged.sum(axis=0, keepdims=True), *axes, "2_5D_comb"))
    if "3D" in dims:
        per_dir, *axes = run_matrices(padded, tc.DIRECTIONS_3D, per_slice=False)
        out.update(_aggregate(per_dir[0], *axes, "3D_avg"))
        out.update(_aggregate(per_dir[0].sum(axis=0, keepdims=True), *axes, "3D_comb"))
    return out


def _line_order(points: np.ndarray, shape: tuple[int, ...],
                direction: tuple[int, int, int]) -> np.ndarray:
    """Order of `points` (flat indices, increasing) grouped by the line along `direction`.

    Within a line the flat index grows with the position along it, so a stable sort on the
    line alone keeps each line's points in order.
    """
    axis = next(a for a in range(3) if direction[a] != 0)  # its component is +1
    coords = np.unravel_index(points, shape)
    n_t = shape[axis]
    key = np.zeros_like(points)
    for b in range(3):
        if b != axis:
            # line origin along b, shifted to be >= 0
            key = key * (shape[b] + 2 * n_t) + (coords[b] - coords[axis] * direction[b] + n_t)
    if key.size and key.max() < np.iinfo(np.uint16).max:
        key = key.astype(np.uint16)  # radix sort
    return np.argsort(key, kind="stable")


def _runs(
    padded: np.ndarray, direction: tuple[int, int, int], voxels: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """(level, length, z of the run start) of every run along `direction`.

    `voxels` are the flat indices of the ROI voxels of `padded` (computed if not given).
    """
    flat = padded.ravel()
    offset = tc.flat_offset(direction, padded.shape)
    if voxels is None:
        voxels = np.flatnonzero(flat)
    level = flat[voxels]
    starts = voxels[flat[voxels - offset] != level]
    ends = voxels[flat[voxels + offset] != level]
    if direction != (0, 0, 1):  # along x, runs are disjoint flat intervals: already paired
        # Group both by line: the k-th start then pairs the k-th end.
        starts = starts[_line_order(starts, padded.shape, direction)]
        ends = ends[_line_order(ends, padded.shape, direction)]
    length = (ends - starts) // offset + 1
    return flat[starts], length, starts // (padded.shape[1] * padded.shape[2])


def run_matrices(
    padded: np.ndarray,
    directions: Sequence[tuple[int, int, int]],
    *,
    per_slice: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length counts per (slice,) direction.

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Levels with 0 outside the ROI and one outside voxel on every side.
    directions : sequence of (dz, dy, dx)
        Unit directions (first non-zero component +1).
    per_slice : bool
        One matrix per z plane and direction (in-plane directions only) or per direction.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (Z, D, Np, Nu)
        Z = z planes of `padded` when `per_slice` (else 1); entry [..., a, b] counts runs of
        level ``levels[a]`` and length ``lengths[b]``.
    levels : numpy.ndarray of int64, shape (Np,)
        The grey levels present.
    lengths : numpy.ndarray of int64, shape (Nu,)
        The run lengths that occur, sorted.
    """
    voxels = np.flatnonzero(padded.ravel())
    levels, row = tc.present_levels(padded)
    n_levels = len(levels)
    n_r = max(padded.shape)  # no run is longer than the box
    n_z = padded.shape[0] if per_slice else 1
    n_dir = len(directions)
    counts = np.zeros(n_z * n_dir * n_levels * n_r, dtype=np.int64)
    for k, direction in enumerate(directions):  # one direction at a time: bounded memory
        level, length, z = _runs(padded, direction, voxels)
        group = (z * n_dir + k) if per_slice else k
        index = (group * n_levels + row[level]) * n_r + length - 1
        counts += np.bincount(index, minlength=counts.size)
    counts = counts.reshape(n_z, n_dir, n_levels, n_r)
    lengths = np.flatnonzero(counts.any(axis=(0, 1, 2)))
    return counts[..., lengths], levels, lengths + 1


def _aggregate(
    matrices: np.ndarray, levels: np.ndarray, lengths: np.ndarray, suffix: str
) -> dict[str, float]:
    """Features of each non-empty matrix of the stack (rows `levels`, columns `lengths`)."""
    stack = matrices[matrices.sum(axis=(1, 2)) > 0]
    n_voxels = np.einsum("kij,j->k", stack, lengths).astype(np.float64)
    values = tc.matrix_features(stack, n_voxels, lengths, levels)
    return {f"{_GENERIC[g]}_{suffix}": float(np.mean(values[g])) for g in tc.MATRIX_FEATURES}
