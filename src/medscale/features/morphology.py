"""Morphological features (IBSI-1 section 3.1, family ``morph``).

Always computed in 3-D, also for a single slice (a one-slice-thick object). The mesh is the
marching-cubes surface of the morphological mask (see `medscale.features._mesh`); the voxel
point set :math:`X_c` is the set of voxel centres of the morphological mask, and the intensity
features use the voxels of the intensity mask (after re-segmentation).

The density features of the oriented minimum bounding box and of the minimum-volume enclosing
ellipsoid are not standardised (no IBSI reference values) and are left out.

References
----------
Zwanenburg A, et al. IBSI reference manual, arXiv:1612.07003, section "Morphological
features".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import QhullError

from medscale.errors import MedscaleWarning
from medscale.features._autocorrelation import moran_geary
from medscale.features._mesh import Mesh, convex_hull, ellipsoid_area, max_diameter, roi_mesh
from medscale.features.inputs import check_grid
from medscale.features.registry import Family, FeatureInfo, PyradiomicsNames, builtin_features
from medscale.features.statistics import undefined

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings


_FAMILY = "morphology"

FEATURES = builtin_features(_FAMILY)

_NAMES = tuple(info.name for info in FEATURES)


@dataclass(frozen=True)
class _Moments:
    """Centroid (mm) and sample covariance (N - 1, mm^2) of the voxel centres of a mask."""

    count: int
    centroid: np.ndarray
    covariance: np.ndarray


def _moments(mask: np.ndarray, spacing: np.ndarray) -> _Moments:
    """Voxel-centre moments from the mask's 1-D and 2-D projections, in exact integers.

    :math:`\\sum_k i_a` and :math:`\\sum_k i_a i_b` over the set voxels come from the
    projections of the mask onto one axis and onto two, so that no coordinate list is built;
    the covariance numerator :math:`N \\sum i_a i_b - \\sum i_a \\sum i_b` is an exact integer.
    """
    count = int(np.count_nonzero(mask))
    index = [np.arange(n, dtype=np.int64) for n in mask.shape]
    planes = {
        (0, 1): mask.sum(axis=2, dtype=np.int64),
        (0, 2): mask.sum(axis=1, dtype=np.int64),
        (1, 2): mask.sum(axis=0, dtype=np.int64),
    }
    lines = [planes[(0, 1)].sum(axis=1), planes[(0, 1)].sum(axis=0), planes[(0, 2)].sum(axis=0)]
    first = [int(index[a] @ lines[a]) for a in range(3)]
    second = np.empty((3, 3))
    for a in range(3):
        for b in range(a, 3):
            if a == b:
                total = int((index[a] * index[a]) @ lines[a])
            else:
                total = int(index[a] @ planes[(a, b)] @ index[b])
            numerator = count * total - first[a] * first[b]  # exact (Python integers)
            second[a, b] = second[b, a] = (
                numerator / (count * max(count - 1, 1)) * spacing[a] * spacing[b]
            )
    centroid = np.array(first, dtype=np.float64) / count * spacing
    return _Moments(count, centroid, second)


def _weighted_centroid(
    intensity: np.ndarray, mask: np.ndarray, spacing: np.ndarray, total: float
) -> np.ndarray:
    """Intensity-weighted centroid (mm) of the voxels of `mask`; `total` = sum of their values."""
    weights = np.where(mask, intensity, 0.0)
    sums = [
        np.arange(weights.shape[0]) @ weights.sum(axis=(1, 2)),
        np.arange(weights.shape[1]) @ weights.sum(axis=(0, 2)),
        np.arange(weights.shape[2]) @ weights.sum(axis=(0, 1)),
    ]
    return np.array(sums, dtype=np.float64) / total * spacing


def _safe_ratio(
    numerator: float, denominator: float, name: str, reason: str, undefined_names: list[str]
) -> float:
    if not denominator > 0 or not math.isfinite(denominator):
        undefined_names.append(f"{name} ({reason})")
        return float("nan")
    return float(numerator / denominator)


def _shape_features(volume: float, area: float) -> dict[str, float]:
    return {
        "morph_av": area / volume,
        "morph_comp_1": volume / (math.sqrt(math.pi) * area**1.5),
        "morph_comp_2": 36.0 * math.pi * volume**2 / area**3,
        "morph_sph_dispr": area / (36.0 * math.pi * volume**2) ** (1.0 / 3.0),
        "morph_sphericity": (36.0 * math.pi * volume**2) ** (1.0 / 3.0) / area,
        "morph_asphericity": (area**3 / (36.0 * math.pi * volume**2)) ** (1.0 / 3.0) - 1.0,
    }


def _pca_features(
    moments: _Moments, volume: float, area: float, missing: list[str]
) -> dict[str, float]:
    """Axis lengths and ellipsoid densities from the PCA of the voxel centres (mm)."""
    eigenvalues = np.sort(np.linalg.eigvalsh(moments.covariance))[::-1]
    # rounding leaves ~1e-16 relative residue on axes without extent (a line of voxels)
    eigenvalues[eigenvalues <= 1e-12 * max(eigenvalues[0], 0.0)] = 0.0
    major, minor, least = (float(v) for v in eigenvalues)
    a, b, c = 2.0 * math.sqrt(major), 2.0 * math.sqrt(minor), 2.0 * math.sqrt(least)
    why = "the ROI has no extent along a principal axis"
    out = {
        "morph_pca_maj_axis": 2.0 * a,
        "morph_pca_min_axis": 2.0 * b,
        "morph_pca_least_axis": 2.0 * c,
        "morph_pca_elongation": _safe_ratio(
            math.sqrt(minor), math.sqrt(major), "morph_pca_elongation", why, missing
        ),
        "morph_pca_flatness": _safe_ratio(
            math.sqrt(least), math.sqrt(major), "morph_pca_flatness", why, missing
        ),
        "morph_vol_dens_aee": _safe_ratio(
            3.0 * volume, 4.0 * math.pi * a * b * c, "morph_vol_dens_aee", why, missing
        ),
    }
    aee_area = ellipsoid_area(a, b, c) if a > 0 else 0.0
    out["morph_area_dens_aee"] = _safe_ratio(area, aee_area, "morph_area_dens_aee", why, missing)
    return out


def _mesh_box_hull_features(
    mesh: Mesh, spacing: np.ndarray, volume: float, area: float, missing: list[str]
) -> dict[str, float]:
    columns = np.ascontiguousarray(mesh.vertices.T)  # (n, 3) reductions over axis 0 are slow
    extent = columns.max(axis=1) - columns.min(axis=1)
    box_area = 2.0 * (extent[0] * extent[1] + extent[1] * extent[2] + extent[0] * extent[2])
    out = {
        "morph_vol_dens_aabb": volume / float(np.prod(extent)),
        "morph_area_dens_aabb": area / float(box_area),
    }
    try:
        hull = convex_hull(mesh.vertices, grid_mm=tuple(spacing / 2.0))
    except QhullError as err:  # cannot happen for a closed mesh; kept as a guard
        hull_names = ("morph_diam", "morph_vol_dens_conv_hull", "morph_area_dens_conv_hull")
        missing.append(f"{', '.join(hull_names)} (no convex hull: {str(err).splitlines()[0]})")
        return out | dict.fromkeys(hull_names, float("nan"))
    return out | {
        "morph_diam": max_diameter(hull.points),
        "morph_vol_dens_conv_hull": volume / hull.volume,
        "morph_area_dens_conv_hull": area / hull.area,
    }


def _intensity_features(
    moments: _Moments,
    intensity: np.ndarray,
    intensity_mask: np.ndarray,
    spacing: np.ndarray,
    volume: float,
    missing: list[str],
) -> dict[str, float]:
    values = intensity[intensity_mask]
    if values.size == 0:
        for name in ("morph_com", "morph_integ_int", "morph_moran_i", "morph_geary_c"):
            missing.append(f"{name} (the intensity mask is empty)")
        return dict.fromkeys(
            ("morph_com", "morph_integ_int", "morph_moran_i", "morph_geary_c"), float("nan")
        )
    total = float(values.sum())
    if total != 0.0:
        weighted = _weighted_centroid(intensity, intensity_mask, spacing, total)
        com = float(np.linalg.norm(moments.centroid - weighted))
    else:
        missing.append("morph_com (the intensities in the ROI sum to 0)")
        com = float("nan")
    moran, geary = moran_geary(intensity, intensity_mask, tuple(spacing))
    if math.isnan(moran):
        missing.append(
            "morph_moran_i, morph_geary_c (fewer than 2 voxels, or constant "
            "intensity, in the intensity mask)"
        )
    return {
        "morph_com": com,
        "morph_integ_int": volume * float(values.mean()),
        "morph_moran_i": moran,
        "morph_geary_c": geary,
    }


def compute(
    morph_mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    intensity: np.ndarray,
    intensity_mask: np.ndarray,
) -> dict[str, float]:
    """Morphological features of an ROI.

    Parameters
    ----------
    morph_mask : numpy.ndarray, shape (z, y, x), bool
        Morphological mask (not re-segmented). A single slice (z = 1) is meshed as a
        one-slice-thick object.
    spacing_mm : (float, float, float)
        Voxel spacing in mm, (z, y, x).
    intensity : numpy.ndarray, shape (z, y, x), float
        Intensities (interpolated and rounded, not re-segmented or discretised).
    intensity_mask : numpy.ndarray, shape (z, y, x), bool
        Intensity mask (after re-segmentation), on the same grid.

    Returns
    -------
    dict[str, float]
        The 25 ``morph_*`` features: volumes in mm^3, areas in mm^2, lengths in mm,
        ``morph_av`` in 1/mm, ``morph_integ_int`` in intensity x mm^3, the rest
        dimensionless. Features the input leaves undefined (empty mask; a flat principal
        axis; a constant ROI for Moran / Geary) are NaN, with a `MedscaleWarning`.

    Raises
    ------
    InputError
        Arrays of different shapes or not 3-D, or a bad spacing.

    Notes
    -----
    Volume, area, bounding box and convex hull use the mesh; centroid and PCA
    (eigenvalues of the sample covariance, N - 1, of the voxel centres) use the morphological
    mask; the AEE has semi-axes :math:`2\\sqrt{\\lambda}`. Moran's I and Geary's C are exact
    (see `medscale.features._autocorrelation`).

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.zeros((5, 5, 5), bool); cube[1:4, 1:4, 1:4] = True
    >>> ramp = np.indices(cube.shape)[2] * 10.0  # intensity rising along x
    >>> out = compute(cube, (1.0, 1.0, 1.0), intensity=ramp, intensity_mask=cube)
    >>> out["morph_vol_approx"], round(out["morph_volume"], 2), out["morph_moran_i"] > 0
    (27.0, 23.17, True)
    """
    check_grid(
        "morphology.compute",
        spacing_mm,
        morph_mask=morph_mask,
        intensity=intensity,
        intensity_mask=intensity_mask,
    )
    morph = np.asarray(morph_mask, dtype=bool)
    roi = np.asarray(intensity_mask, dtype=bool)
    image = np.asarray(intensity, dtype=np.float64)
    if not morph.any():
        return undefined(_NAMES, "the morphological mask is empty")
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    mesh = roi_mesh(morph, tuple(spacing))
    volume, area = mesh.volume, mesh.area
    moments = _moments(morph, spacing)
    missing: list[str] = []
    features: dict[str, float] = {
        "morph_volume": volume,
        "morph_vol_approx": float(moments.count * np.prod(spacing)),
        "morph_area_mesh": area,
    }
    features.update(_shape_features(volume, area))
    features.update(_mesh_box_hull_features(mesh, spacing, volume, area, missing))
    features.update(_pca_features(moments, volume, area, missing))
    features.update(_intensity_features(moments, image, roi, spacing, volume, missing))
    if missing:
        warnings.warn("undefined, set to NaN: " + "; ".join(missing), MedscaleWarning, stacklevel=2)
    return {name: features[name] for name in _NAMES}


#: A shape family's ``compute(morph_mask, spacing_mm, *, intensity, intensity_mask)``.
ShapeCompute = Callable[..., dict[str, float]]


def shape_family(
    name: str,
    features: tuple[FeatureInfo, ...],
    compute: ShapeCompute,
    *,
    pyradiomics: PyradiomicsNames,
    ibsi: bool = True,
) -> Family:
    """The `Family` of a shape family: ``compute(morph_mask, spacing_mm, *, intensity,
    intensity_mask)`` of the ROI's bounding box (``needs=("box",)``)."""

    def from_box(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
        box = inputs.box
        return compute(
            box.morph_mask,
            box.spacing_mm,
            intensity=box.intensity,
            intensity_mask=box.intensity_mask,
        )

    return Family(
        name=name,
        features=features,
        needs=("box",),
        compute=from_box,
        pyradiomics=pyradiomics,
        ibsi=ibsi,
    )


FAMILY = shape_family(
    _FAMILY,
    FEATURES,
    compute,
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "shape", tables=("3D",)),
)
