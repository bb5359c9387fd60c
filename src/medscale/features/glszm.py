"""Grey level size zone matrix (GLSZM) features, IBSI-1 section 3.8.

A zone is a set of linked ROI voxels of one grey level (8-connected within a slice for 2-D,
26-connected for 3-D). Zones are labelled in one pass (scikit-image `label` joins neighbours of
equal value), and the matrix counts zones by (grey level, size) with `numpy.bincount`.

Aggregation: ``_2D`` features per slice, averaged over slices; ``_2_5D`` the per-slice
matrices merged (N_v summed); ``_3D`` one volumetric matrix.

References
----------
Thibault G. et al. (2013), Advanced statistical matrices for texture characterization.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "glszm"
FEATURES = builtin_features(_FAMILY)
_NAMES = tuple(feature.name for feature in FEATURES)
_GENERIC = dict(zip(tc.MATRIX_FEATURES, _NAMES, strict=True))


def compute(
    levels: npt.ArrayLike,
    roi: npt.ArrayLike,
    n_levels: int,
    *,
    dimension: str | Sequence[str],
) -> dict[str, float]:
    """GLSZM features of the discretised ROI.

    Parameters
    ----------
    levels : array_like of int, shape (z, y, x)
        Discretised grey levels 1..`n_levels` inside `roi`.
    roi : array_like of bool, shape (z, y, x)
        Intensity mask (after re-segmentation).
    n_levels : int
        Number of grey levels Ng.
    dimension : {"2D", "2.5D", "3D"} or a sequence of them
        Which variants to return (``szm_<name>_2D``, ``_2_5D``, ``_3D``).

    Returns
    -------
    dict of str to float
        NaN with a `medscale.errors.MedscaleWarning` for an empty ROI.

    Examples
    --------
    >>> import numpy as np
    >>> levels = np.array([[[1, 1, 2], [1, 2, 2]]])
    >>> out = compute(levels, levels > 0, 2, dimension="3D")
    >>> out["szm_z_perc_3D"]
    0.3333333333333333
    """
    dims = tc.parse_dimensions(dimension)
    padded = tc.prepare(levels, roi, n_levels, margin=1, family=_FAMILY)
    return compute_prepared(padded, n_levels, dimension=dims)


def compute_prepared(
    padded: np.ndarray | None,
    n_levels: int,
    *,
    dimension: str | Sequence[str],
) -> dict[str, float]:
    """`compute` of levels prepared by `texture_common.prepare` (with one outside
    voxel on every side); None, an empty ROI, gives NaN for every feature."""
    dims = tc.parse_dimensions(dimension)
    if padded is None:
        return tc.nan_features(_NAMES, [tc.SUFFIX[d] for d in dims])
    return tc.zone_family_features(
        lambda dimension: size_zone_matrices(padded, dimension=dimension), dims, _GENERIC
    )


def size_zone_matrices(
    padded: np.ndarray, *, dimension: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone counts by (grey level, zone size), per z plane ("2D") or for the volume ("3D").

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Levels with 0 outside the ROI and one outside voxel on every side.
    dimension : {"2D", "3D"}

    Returns
    -------
    matrices : numpy.ndarray of int64, shape (Z, Np, Nu)
        Z = z planes of `padded` for "2D", else 1; one row per grey level present, one column
        per zone size that occurs.
    n_voxels : numpy.ndarray of int64, shape (Z,)
        ROI voxels behind each matrix.
    levels : numpy.ndarray of int64, shape (Np,)
        The grey level of each row.
    sizes : numpy.ndarray of int64, shape (Nu,)
        The zone size of each column.
    """
    labels, n_zones = tc.label_zones(padded, dimension=dimension)
    level, size, slice_index, _ = tc.zone_table(padded, labels, n_zones)
    if dimension == "3D":
        group = np.zeros_like(level)
        n_voxels = np.array([np.count_nonzero(padded)])
    else:
        group = slice_index
        n_voxels = np.count_nonzero(padded, axis=(1, 2))
    matrices, levels, sizes = tc.zone_matrices(level, size, group, len(n_voxels))
    return matrices, n_voxels, levels, sizes


FAMILY = tc.texture_family(
    _FAMILY,
    FEATURES,
    compute_prepared,
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "glszm", suffix_3d="_3D", suffix_2d="_2D"),
)
