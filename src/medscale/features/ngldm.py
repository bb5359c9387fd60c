"""Neighbouring grey level dependence matrix (NGLDM) features, IBSI-1 section 3.11.

The dependence j_k of ROI voxel k is 1 plus the number of ROI neighbours (Chebyshev distance
`distance`, in-plane for 2-D) whose grey level differs from k's by at most `alpha`. Counts come
from one vectorised comparison per half-neighbourhood offset (each equal pair is added to both
voxels); the matrix counts voxels by (grey level, dependence) with `numpy.bincount`.

Aggregation: ``_2D`` per slice, averaged; ``_2_5D`` slices merged; ``_3D`` volumetric.

References
----------
Sun C., Wee W.G. (1983), Neighboring gray level dependence matrix for texture classification.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.11.
"""

from __future__ import annotations

import numpy as np

from medscale.errors import ConfigError
from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "ngldm"
FEATURES = builtin_features(_FAMILY)
_GENERIC = tc.generic_names(FEATURES)


def _features(
    padded: np.ndarray, n_levels: int, dims: tuple[str, ...], *, distance: int = 1, alpha: int = 0
) -> dict[str, float]:
    """NGLDM features of prepared levels; `distance` is the Chebyshev radius of the
    neighbourhood (voxels), `alpha` the coarseness (largest grey level difference of dependent
    voxels)."""
    distance, alpha = int(distance), int(alpha)
    if distance < 1 or alpha < 0:
        raise ConfigError(f"ngldm: need distance >= 1 and alpha >= 0; got {distance}, {alpha}")
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        per_slice, present = dependence_matrices(
            padded, distance=distance, alpha=alpha, in_plane=True
        )
        if "2D" in dims:
            out.update(_aggregate(per_slice, present, "2D"))
        if "2.5D" in dims:
            out.update(_aggregate(per_slice.sum(axis=0, keepdims=True), present, "2_5D"))
    if "3D" in dims:
        volume, present = dependence_matrices(
            padded, distance=distance, alpha=alpha, in_plane=False
        )
        out.update(_aggregate(volume, present, "3D"))
    return out


def _half_offsets(distance: int, in_plane: bool) -> list[tuple[int, int, int]]:
    """Neighbour offsets within Chebyshev `distance` whose first non-zero component is > 0."""
    span = range(-distance, distance + 1)
    z_span = [0] if in_plane else list(span)
    offsets = [(dz, dy, dx) for dz in z_span for dy in span for dx in span]
    return [o for o in offsets if o > (0, 0, 0)]


def dependence_matrices(
    padded: np.ndarray, *, distance: int = 1, alpha: int = 0, in_plane: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Voxel counts by (grey level, dependence), per z plane (`in_plane`) or for the volume.

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Levels with 0 outside the ROI and at least `distance` outside voxels on every side.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (Z, Np, Nn)
        Z = z planes of `padded` if `in_plane`, else 1; column j - 1 holds dependence j, Nn the
        largest dependence.
    levels : numpy.ndarray of int64, shape (Np,)
        The grey level of each row (the levels present in the ROI).
    """
    flat = padded.ravel()
    dependence = np.ones(flat.size, dtype=np.int64)
    for direction in _half_offsets(distance, in_plane):
        offset = tc.flat_offset(direction, padded.shape)
        a, b = flat[:-offset], flat[offset:]
        same = (a > 0) & (b > 0) & (np.abs(a - b) <= alpha)
        dependence[:-offset] += same
        dependence[offset:] += same
    voxels = np.flatnonzero(flat)
    level = flat[voxels]
    j = dependence[voxels]
    n_z = padded.shape[0] if in_plane else 1
    group = voxels // (padded.shape[1] * padded.shape[2]) if in_plane else 0
    n_n = int(j.max())
    present, row = tc.present_levels(padded)
    n_p = len(present)
    index = (group * n_p + row[level]) * n_n + j - 1
    counts = np.bincount(index, minlength=n_z * n_p * n_n)
    return counts.reshape(n_z, n_p, n_n), present


def _aggregate(matrices: np.ndarray, levels: np.ndarray, suffix: str) -> dict[str, float]:
    """Features of each non-empty matrix (rows = `levels`), averaged."""
    stack = matrices[matrices.sum(axis=(1, 2)) > 0]
    n_voxels = stack.sum(axis=(1, 2)).astype(np.float64)
    values = tc.matrix_features(stack, n_voxels, None, levels)
    out = tc.averaged(values, _GENERIC, suffix)
    energy = ((stack / n_voxels[:, None, None]) ** 2).sum(axis=(1, 2))
    out[f"ngl_dc_energy_{suffix}"] = float(np.mean(energy))
    return out


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features)
compute = TEXTURE.compute
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "gldm", suffix_3d="_3D", suffix_2d="_2D")
)
