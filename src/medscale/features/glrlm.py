"""Grey level run length matrix (GLRLM) features, IBSI-1 section 3.7.

A run is a maximal line of consecutive ROI voxels with one grey level along a direction. For
each direction the padded box is rearranged (transposed, and sheared with a pad-and-reshape for
diagonals) so that its lines lie end to end in one flat array, separated by outside voxels;
run starts and ends are then two shifted comparisons, and they pair up in flat order. No line
is walked in Python and nothing is sorted.

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

from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "glrlm"
FEATURES = builtin_features(_FAMILY)
_GENERIC = tc.generic_names(FEATURES)


def _features(padded: np.ndarray, n_levels: int, dims: tuple[str, ...]) -> dict[str, float]:
    """GLRLM features of prepared levels (2D and 2.5D share the in-plane runs)."""
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        per_slice, run_levels, lengths = run_matrices(padded, tc.DIRECTIONS_2D, per_slice=True)
        if "2D" in dims:
            stacked = per_slice.reshape(-1, *per_slice.shape[2:])
            groups = [(stacked, "2D_avg"), (per_slice.sum(axis=1), "2D_comb")]
            out.update(_aggregate(groups, run_levels, lengths))
        if "2.5D" in dims:
            merged = per_slice.sum(axis=0)
            groups = [(merged, "2_5D_avg"), (merged.sum(axis=0, keepdims=True), "2_5D_comb")]
            out.update(_aggregate(groups, run_levels, lengths))
    if "3D" in dims:
        per_dir, run_levels, lengths = run_matrices(padded, tc.DIRECTIONS_3D, per_slice=False)
        groups = [(per_dir[0], "3D_avg"), (per_dir[0].sum(axis=0, keepdims=True), "3D_comb")]
        out.update(_aggregate(groups, run_levels, lengths))
    return out


def _shear(array: np.ndarray, row_axis: int, col_axis: int) -> np.ndarray:
    """Shift each row r of `col_axis` by r, so that lines along (row +1, col -1) become lines
    along `row_axis` alone: ``out[.., r, .., c, ..] = array[.., r, .., c - R - r, ..]`` (zero
    outside), R = the number of rows. A pad and two reshapes, no index arrays."""
    other = 3 - row_axis - col_axis
    moved = array.transpose(other, row_axis, col_axis)
    n_o, n_r, n_c = moved.shape
    width = n_c + 2 * n_r
    wide = np.zeros((n_o, n_r, width), dtype=moved.dtype)
    wide[:, :, n_r : n_r + n_c] = moved
    sheared = wide.reshape(n_o, n_r * width)[:, : n_r * (width - 1)].reshape(n_o, n_r, width - 1)
    return sheared.transpose(np.argsort((other, row_axis, col_axis)))


def _lines(padded: np.ndarray, direction: tuple[int, int, int]) -> np.ndarray:
    """`padded` rearranged so that the lines along `direction` run along the last axis.

    In-plane directions keep z as the first axis. Every line starts and ends with an outside
    (0) voxel, because `padded` has a margin of them on every side.
    """
    dz, dy, dx = direction
    array = padded
    if dz == 0 and dy == 0:
        return array
    if dz == 0:
        if dx != 0:
            array = _shear(array[:, :, ::-1] if dx == 1 else array, 1, 2)
        return np.ascontiguousarray(array.transpose(0, 2, 1))
    if dy != 0:
        array = _shear(array[:, ::-1, :] if dy == 1 else array, 0, 1)
    if dx != 0:
        array = _shear(array[:, :, ::-1] if dx == 1 else array, 0, 2)
    return np.ascontiguousarray(array.transpose(1, 2, 0))


def _runs(padded: np.ndarray, direction: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """(level, length, z of the run) of every run along `direction`.

    The array is rearranged (`_lines`) so that each line is a contiguous stretch of the flat
    array between outside voxels: run starts and ends then pair up in flat order.
    """
    lines = _lines(padded, direction)
    flat = lines.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1])  # a run ends at c or one starts at c + 1
    starts = change[flat[change + 1] != 0] + 1
    ends = change[flat[change] != 0]
    z = starts // (lines.shape[1] * lines.shape[2])  # meaningful for in-plane directions
    return flat[starts], ends - starts + 1, z


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
    levels, row = tc.present_levels(padded)
    n_levels = len(levels)
    # rows 1..Np (0 outside) in the smallest integer type: less memory to move per direction
    compact = (row + 1).astype(np.min_scalar_type(n_levels))[padded]
    n_r = max(padded.shape)  # no run is longer than the box
    n_z = padded.shape[0] if per_slice else 1
    n_dir = len(directions)
    counts = np.zeros(n_z * n_dir * n_levels * n_r, dtype=np.int64)
    for k, direction in enumerate(directions):  # one direction at a time: bounded memory
        level, length, z = _runs(compact, direction)
        group = (z * n_dir + k) if per_slice else k
        index = (group * n_levels + level.astype(np.int64) - 1) * n_r + length - 1
        counts += np.bincount(index, minlength=counts.size)
    counts = counts.reshape(n_z, n_dir, n_levels, n_r)
    lengths = np.flatnonzero(counts.any(axis=(0, 1, 2)))
    return counts[..., lengths], levels, lengths + 1


def _aggregate(
    groups: list[tuple[np.ndarray, str]], levels: np.ndarray, lengths: np.ndarray
) -> dict[str, float]:
    """For each (matrices, suffix): the features of its non-empty matrices (rows `levels`,
    columns `lengths`), averaged. The groups go through `matrix_features` together: one set
    of NumPy calls instead of one per group, most of the time on small ROIs."""
    stacks = [matrices[matrices.sum(axis=(1, 2)) > 0] for matrices, _ in groups]
    stack = np.concatenate(stacks)
    n_voxels = np.einsum("kij,j->k", stack, lengths).astype(np.float64)
    values = tc.matrix_features(stack, n_voxels, lengths, levels)
    out: dict[str, float] = {}
    bounds = np.cumsum([0, *map(len, stacks)])
    for (_, suffix), first, last in zip(groups, bounds[:-1], bounds[1:], strict=True):
        part = {key: column[first:last] for key, column in values.items()}
        out.update(tc.averaged(part, _GENERIC, suffix))
    return out


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features, averaged=True)
compute = TEXTURE.compute
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "glrlm", suffix_3d="_3D_avg", suffix_2d="_2D_avg")
)
