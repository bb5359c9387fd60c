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

import numpy as np

from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "glszm"
FEATURES = builtin_features(_FAMILY)
_GENERIC = tc.generic_names(FEATURES)


def _features(padded: np.ndarray, n_levels: int, dims: tuple[str, ...]) -> dict[str, float]:
    """GLSZM features of prepared levels."""
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
    matrices, n_voxels, levels, sizes
        As `texture_zones.zone_stack`; column k of each matrix counts the zones of size
        ``sizes[k]``.
    """
    labels, n_zones = tc.label_zones(padded, dimension=dimension)
    level, size, slice_index, _ = tc.zone_table(padded, labels, n_zones)
    return tc.zone_stack(padded, level, size, slice_index, dimension)


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features)
compute = TEXTURE.compute
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "glszm", suffix_3d="_3D", suffix_2d="_2D")
)
