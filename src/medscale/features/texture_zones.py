"""Zones of the size- and distance-zone families (GLSZM, GLDZM): labelling and counting.

A zone is a set of linked voxels of one grey level (8-connected in-plane, 26-connected in 3-D).
`label_zones` finds them, `zone_table` tabulates each zone's level, size and slice, and
`zone_matrices` counts zones by (grey level, size or distance), keeping only the levels and
values that occur. Re-exported by `medscale.features.texture_common`.

References
----------
IBSI-1 (arXiv:1612.07003) sections 3.9 (GLSZM) and 3.10 (GLDZM).
"""

from __future__ import annotations

import numpy as np


def label_zones(padded: np.ndarray, *, dimension: str) -> tuple[np.ndarray, int]:
    """Label zones: linked voxels of one grey level (8-connected in 2-D, 26-connected in 3-D).

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Grey levels, 0 outside the ROI, with at least one outside voxel on every side
        (as returned by `prepare`).
    dimension : {"2D", "2.5D", "3D"}
        "2D" and "2.5D" link voxels within an axial slice only.

    Returns
    -------
    labels : numpy.ndarray of int, same shape
        0 outside the ROI, zones numbered 1..n.
    n : int
        Number of zones.
    """
    from skimage.measure import label  # noqa: PLC0415 - heavy import kept local

    if dimension == "3D":
        labels, count = label(padded, background=0, connectivity=3, return_num=True)
        return labels, int(count)
    # Slices stacked vertically are kept apart by their all-zero padding rows.
    z, y, x = padded.shape
    labels, count = label(padded.reshape(z * y, x), background=0, connectivity=2, return_num=True)
    return labels.reshape(z, y, x), int(count)


def zone_table(
    padded: np.ndarray, labels: np.ndarray, n_zones: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per zone: grey level, size (voxels), slice index and flat index of the voxels by zone.

    Returns
    -------
    level : numpy.ndarray, shape (n_zones,)
    size : numpy.ndarray, shape (n_zones,)
    slice_index : numpy.ndarray, shape (n_zones,)
        z index (in `padded`) of the zone's first voxel; meaningful for in-plane zones.
    flat : numpy.ndarray
        Flat indices of all labelled voxels (to pair with ``labels.ravel()[flat]``).
    """
    flat = np.flatnonzero(labels.ravel())
    lab = labels.ravel()[flat]
    size = np.bincount(lab, minlength=n_zones + 1)[1:]
    first = np.full(n_zones + 1, -1, dtype=np.int64)
    first[lab[::-1]] = flat[::-1]
    first = first[1:]
    level = padded.ravel()[first]
    slice_index = first // (padded.shape[1] * padded.shape[2])
    return level, size, slice_index, flat


def compress_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct positive integers of `values` (sorted) and each value's index among them.

    A counting version of ``numpy.unique(values, return_inverse=True)``: O(n + max value).
    """
    present = np.bincount(values) > 0
    distinct = np.flatnonzero(present)
    column = np.cumsum(present) - 1
    return distinct, column[values]


def zone_matrices(
    level: np.ndarray, value: np.ndarray, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone counts by (grey level, value) per group, keeping only the levels and values that
    occur.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (n_groups, Np, Nu)
    i_values : numpy.ndarray, shape (Np,)
        The grey level of each row.
    j_values : numpy.ndarray, shape (Nu,)
        The sorted distinct values (zone sizes or distances): column k holds ``j_values[k]``.
    """
    i_values, row = compress_values(level)
    j_values, column = compress_values(value)
    n_i, n_j = len(i_values), len(j_values)
    index = (group * n_i + row) * n_j + column
    counts = np.bincount(index, minlength=n_groups * n_i * n_j)
    return counts.reshape(n_groups, n_i, n_j), i_values, j_values


def zone_stack(
    padded: np.ndarray,
    level: np.ndarray,
    value: np.ndarray,
    slice_index: np.ndarray,
    dimension: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`zone_matrices` of the zones of `padded` (grey `level`, `value`, z plane `slice_index`
    each) per z plane for ``"2D"``, for the volume for ``"3D"``.

    Returns
    -------
    matrices : numpy.ndarray of int64, shape (Z, Np, Nu)
    n_voxels : numpy.ndarray of int64, shape (Z,)
        ROI voxels behind each matrix.
    i_values, j_values : numpy.ndarray
        The grey level of each row, the value of each column.
    """
    if dimension == "3D":
        group = np.zeros_like(level)
        n_voxels = np.array([np.count_nonzero(padded)])
    else:
        group = slice_index
        n_voxels = np.count_nonzero(padded, axis=(1, 2))
    matrices, i_values, j_values = zone_matrices(level, value, group, len(n_voxels))
    return matrices, n_voxels, i_values, j_values
