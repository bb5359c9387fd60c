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
from medscale.features.registry import Family, builtin_features, texture_suffixes

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings

_FAMILY = "gldzm"
FEATURES = builtin_features(_FAMILY)
_NAMES = tuple(feature.name for feature in FEATURES)
_GENERIC = dict(zip(tc.MATRIX_FEATURES, _NAMES, strict=True))


def compute(
    levels: npt.ArrayLike,
    roi: npt.ArrayLike,
    n_levels: int,
    *,
    dimension: str | Sequence[str],
    morph_roi: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """GLDZM features of the discretised ROI.

    Parameters
    ----------
    levels : array_like of int, shape (z, y, x)
        Discretised grey levels 1..`n_levels` inside `roi`.
    roi : array_like of bool, shape (z, y, x)
        Intensity mask (after re-segmentation): defines the zones.
    n_levels : int
        Number of grey levels Ng.
    dimension : {"2D", "2.5D", "3D"} or a sequence of them
        Which variants to return (``dzm_<name>_2D``, ``_2_5D``, ``_3D``).
    morph_roi : array_like of bool, shape (z, y, x), optional
        Morphological mask: defines the distance to the ROI edge (IBSI-1 3.9). Default `roi`.

    Returns
    -------
    dict of str to float
        NaN with a `medscale.errors.MedscaleWarning` for an empty ROI.

    Raises
    ------
    MaskError
        When an intensity-mask voxel lies outside the morphological mask.

    Examples
    --------
    >>> import numpy as np
    >>> levels = np.ones((3, 3, 3), dtype=int)
    >>> compute(levels, levels > 0, 1, dimension="3D")["dzm_sde_3D"]  # one zone, on the edge
    1.0
    """
    dims = tc.parse_dimensions(dimension)
    roi = np.asarray(roi)
    padded = tc.prepare(levels, roi, n_levels, margin=1, family=_FAMILY)
    if padded is None:
        return tc.nan_features(_NAMES, [tc.SUFFIX[d] for d in dims])
    morph = roi if morph_roi is None else np.asarray(morph_roi)
    if morph.shape != roi.shape:
        raise GeometryError(
            f"gldzm: morph_roi shape {morph.shape} differs from roi shape {roi.shape}"
        )
    if morph.dtype != bool:
        raise MaskError(f"gldzm: morph_roi must be a boolean mask; got dtype {morph.dtype}")
    if np.any(roi & ~morph):
        raise MaskError("gldzm: the intensity mask has voxels outside the morphological mask")
    return compute_prepared(padded, roi, morph, dimension=dims)


def compute_prepared(
    padded: np.ndarray | None,
    roi: np.ndarray,
    morph_roi: np.ndarray,
    *,
    dimension: str | Sequence[str],
) -> dict[str, float]:
    """`compute` of levels prepared by `texture_common.prepare` from `roi` (one outside voxel on
    every side; None, an empty ROI, gives NaN for every feature), `morph_roi` holding `roi`."""
    dims = tc.parse_dimensions(dimension)
    if padded is None:
        return tc.nan_features(_NAMES, [tc.SUFFIX[d] for d in dims])

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
    matrices : numpy.ndarray of int64, shape (Z, Np, Nu)
        One row per grey level present, one column per zone distance that occurs.
    n_voxels : numpy.ndarray of int64, shape (Z,)
    levels : numpy.ndarray of int64, shape (Np,)
        The grey level of each row.
    steps : numpy.ndarray of int64, shape (Nu,)
        The zone distance of each column.
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
    if dimension == "3D":
        group = np.zeros_like(level)
        n_voxels = np.array([np.count_nonzero(padded)])
    else:
        group = slice_index
        n_voxels = np.count_nonzero(padded, axis=(1, 2))
    matrices, levels, steps = tc.zone_matrices(level, zone_distance, group, len(n_voxels))
    return matrices, n_voxels, levels, steps


def _compute_family(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
    box = inputs.box
    found: dict[str, float] = {}
    for dimension in settings.texture.dimensions:
        found.update(
            compute_prepared(
                inputs.texture, box.intensity_mask, box.morph_mask, dimension=dimension
            )
        )
    return found


FAMILY = Family(
    name=_FAMILY,
    features=FEATURES,
    needs=("texture", "box"),
    compute=_compute_family,
    suffixes=texture_suffixes,
)
