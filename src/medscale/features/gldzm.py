"""Grey level distance zone matrix (GLDZM) features, IBSI-1 section 3.9.

Zones are those of the GLSZM (linked voxels of one grey level in the intensity mask). The
distance of a zone is the smallest distance of its voxels to the edge of the *morphological*
mask, counted in Manhattan steps (6-connected in 3-D, 4-connected in-plane for 2-D) so that
voxels on the edge have distance 1. The distance map is `scipy.ndimage.distance_transform_cdt`
(taxicab) of the morphological mask padded with background, which equals the IBSI
erosion-counting definition; the zone minimum is one `numpy.minimum.at`.

Aggregation: ``_2D`` per slice, averaged; ``_2_5D`` slices merged; ``_3D`` volumetric.

References
----------
Thibault G. et al. (2014), Advanced statistical matrices for texture characterization.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.9.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from medscale.errors import GeometryError, MaskError
from medscale.features import texture_common as tc
from medscale.features.registry import builtin_features

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs

_FAMILY = "gldzm"
FEATURES = builtin_features(_FAMILY)
_GENERIC = tc.generic_names(FEATURES)


def compute(
    levels: npt.ArrayLike,
    roi: npt.ArrayLike,
    n_levels: int,
    *,
    dimension: str | Sequence[str],
    morph_roi: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """GLDZM features of the discretised ROI: `texture_common.TextureFamily.compute`, whose
    intensity mask `roi` defines the zones, and `morph_roi` (boolean, holding `roi`; default
    `roi`) the distance to the ROI edge (IBSI-1 3.9).

    Raises
    ------
    GeometryError, MaskError
        When `morph_roi` is not a boolean mask of the shape of `roi` that holds it.

    Examples
    --------
    >>> import numpy as np
    >>> levels = np.ones((3, 3, 3), dtype=int)
    >>> compute(levels, levels > 0, 1, dimension="3D")["dzm_sde_3D"]  # one zone, on the edge
    1.0
    """
    roi = np.asarray(roi)
    padded = tc.prepare(levels, roi, n_levels, margin=1, family=_FAMILY)
    if padded is None:
        return compute_prepared(None, n_levels, dimension=dimension)
    morph = roi if morph_roi is None else np.asarray(morph_roi)
    if morph.shape != roi.shape:
        raise GeometryError(
            f"gldzm: morph_roi shape {morph.shape} differs from roi shape {roi.shape}"
        )
    if morph.dtype != bool:
        raise MaskError(f"gldzm: morph_roi must be a boolean mask; got dtype {morph.dtype}")
    if np.any(roi & ~morph):
        raise MaskError("gldzm: the intensity mask has voxels outside the morphological mask")
    return compute_prepared(padded, n_levels, dimension=dimension, masks=(roi, morph))


def _features(
    padded: np.ndarray, n_levels: int, dims: tuple[str, ...], *, masks: tuple[np.ndarray, ...]
) -> dict[str, float]:
    """GLDZM features of levels prepared from the intensity mask ``masks[0]``, with the
    distances to the edge of the morphological mask ``masks[1]`` (which holds it)."""
    roi, morph_roi = masks

    def matrices(dim: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        distance = _distance_on_crop(morph_roi, roi, in_plane=dim == "2D")
        return distance_zone_matrices(padded, distance, dimension=dim)

    return tc.zone_family_features(matrices, dims, _GENERIC)


def edge_distance(mask: np.ndarray, *, in_plane: bool) -> np.ndarray:
    """Manhattan distance of each mask voxel to the mask edge (1 on the edge, 0 outside).

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (z, y, x)
    in_plane : bool
        Count steps within each axial slice only (4-connected) instead of 6-connected.

    Returns
    -------
    numpy.ndarray of int32, same shape
        Voxels beyond the array border count as outside the mask.
    """
    structure = ndimage.generate_binary_structure(3, 1)
    if in_plane:
        structure[0] = structure[2] = False
    padded = np.pad(mask, 1)
    distance = ndimage.distance_transform_cdt(padded, metric=structure)
    return distance[1:-1, 1:-1, 1:-1].astype(np.int32)


def _distance_on_crop(morph: np.ndarray, roi: np.ndarray, *, in_plane: bool) -> np.ndarray:
    """Edge distance of the morphological mask on the padded crop of `roi` (see `prepare`)."""
    morph_box = tc.bbox(morph)
    distance_box = edge_distance(morph[morph_box], in_plane=in_plane)
    # The ROI box lies inside the morphological box (the ROI is inside the mask).
    inner = tuple(
        slice(r.start - m.start, r.stop - m.start)
        for r, m in zip(tc.bbox(roi), morph_box, strict=True)
    )
    return np.pad(distance_box[inner], 1)


def distance_zone_matrices(
    padded: np.ndarray, distance: np.ndarray, *, dimension: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone counts by (grey level, zone distance), per z plane ("2D") or for the volume.

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Levels with 0 outside the intensity mask and one outside voxel on every side.
    distance : numpy.ndarray of int, same shape
        Edge distance of each voxel (>= 1 inside the intensity mask).
    dimension : {"2D", "3D"}

    Returns
    -------
    matrices, n_voxels, levels, steps
        As `texture_zones.zone_stack`; column k of each matrix counts the zones at distance
        ``steps[k]`` from the edge.
    """
    labels, n_zones = tc.label_zones(padded, dimension=dimension)
    level, _, slice_index, flat = tc.zone_table(padded, labels, n_zones)
    zone_distance = np.full(n_zones, np.iinfo(np.int32).max, dtype=np.int64)
    # same dtypes on both sides: numpy's fast ufunc.at path (a mixed int32 / int64 call is
    # ~30x slower)
    np.minimum.at(
        zone_distance,
        (labels.ravel()[flat] - 1).astype(np.int64),
        distance.ravel()[flat].astype(np.int64),
    )
    return tc.zone_stack(padded, level, zone_distance, slice_index, dimension)


def _box_masks(inputs: FamilyInputs) -> dict[str, tuple[np.ndarray, ...]]:
    return {"masks": (inputs.box.intensity_mask, inputs.box.morph_mask)}


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features)
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(needs=("roi", "texture", "box"), options=_box_masks)
