"""What the six IBSI texture families share: input checks, cropping, directions, zones, and the
features of run-, zone-, distance- and dependence-count matrices. (Zone labelling and counting
live in `medscale.features.texture_zones`, re-exported here.)

All arrays are (z, y, x). The families take discretised grey levels ``levels`` (1..Ng inside the
ROI) and a boolean ROI mask; `prepare` crops both to the ROI's bounding box, pads it with a
margin of "outside" voxels (level 0) so that no neighbour look-up wraps around, and returns one
integer array in which 0 means "not in the ROI".

References
----------
Zwanenburg A. et al., The Image Biomarker Standardisation Initiative, IBSI reference manual,
arXiv:1612.07003, sections 3.6-3.11 (texture matrices and feature aggregation).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from medscale.errors import ConfigError, GeometryError, InputError, MaskError, MedscaleWarning
from medscale.features.registry import (
    Family,
    FeatureInfo,
    PyradiomicsNames,
    averaged_texture_suffixes,
    dimension_suffixes,
    texture_suffixes,
)
from medscale.features.texture_zones import compress_values as compress_values
from medscale.features.texture_zones import label_zones as label_zones
from medscale.features.texture_zones import zone_matrices as zone_matrices
from medscale.features.texture_zones import zone_stack as zone_stack
from medscale.features.texture_zones import zone_table as zone_table

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings

logger = logging.getLogger(__name__)

DIMENSIONS: tuple[str, ...] = ("2D", "2.5D", "3D")

# Offsets (dz, dy, dx) of the unique directions (first non-zero component positive, so that
# each flat C-order offset is positive). 2-D: in the axial (y, x) plane.
DIRECTIONS_2D: tuple[tuple[int, int, int], ...] = ((0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1))
DIRECTIONS_3D: tuple[tuple[int, int, int], ...] = DIRECTIONS_2D + tuple(
    (1, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
)

# Generic names of the 16 features shared by GLRLM, GLSZM, GLDZM and NGLDM ("j" is the run
# length, zone size, zone distance or dependence count).
MATRIX_FEATURES: tuple[str, ...] = (
    "small_j",
    "large_j",
    "low_grey",
    "high_grey",
    "small_j_low_grey",
    "small_j_high_grey",
    "large_j_low_grey",
    "large_j_high_grey",
    "glnu",
    "glnu_norm",
    "jnu",
    "jnu_norm",
    "perc",
    "gl_var",
    "j_var",
    "j_entr",
)


def generic_names(features: Sequence[FeatureInfo]) -> dict[str, str]:
    """`MATRIX_FEATURES` -> the ids of the first 16 `features` (a family that has them in
    that order: GLRLM, GLSZM, GLDZM, NGLDM)."""
    return dict(zip(MATRIX_FEATURES, (info.name for info in features[:16]), strict=True))


def parse_dimensions(dimension: str | Sequence[str]) -> tuple[str, ...]:
    """The requested dimensions as a tuple, each one of ``"2D"``, ``"2.5D"``, ``"3D"``.

    Raises
    ------
    ConfigError
        For an unknown dimension.
    """
    wanted = (dimension,) if isinstance(dimension, str) else tuple(dimension)
    for item in wanted:
        if item not in DIMENSIONS:
            raise ConfigError(
                f"texture dimension must be one of {', '.join(DIMENSIONS)}; got {item!r}"
            )
    return wanted


def prepare(
    levels: npt.ArrayLike,
    roi: npt.ArrayLike,
    n_levels: int,
    *,
    margin: int = 1,
    family: str = "texture",
) -> np.ndarray | None:
    """Crop to the ROI, pad with `margin` outside voxels and set level 0 outside the ROI.

    Parameters
    ----------
    levels : array_like of int, shape (z, y, x)
        Discretised grey levels, 1..`n_levels` inside `roi` (anything outside).
    roi : array_like of bool, shape (z, y, x)
        Intensity mask.
    n_levels : int
        Number of grey levels Ng.
    margin : int
        Voxels of padding on each side (at least the neighbourhood distance).
    family : str
        Family name used in messages.

    Returns
    -------
    numpy.ndarray of int64, shape (z + 2 margin, y + 2 margin, x + 2 margin) of the ROI box, or
    None when the ROI is empty (a `MedscaleWarning` is issued).

    Raises
    ------
    GeometryError
        When `levels` and `roi` are not 3-D arrays of the same shape.
    MaskError
        When `roi` is not boolean.
    InputError
        When a level inside the ROI lies outside 1..`n_levels`.
    """
    return _prepare(levels, roi, n_levels, margin=margin, family=family)


def _prepare(
    levels: npt.ArrayLike, roi: npt.ArrayLike, n_levels: int, *, margin: int, family: str
) -> np.ndarray | None:
    levels = np.asarray(levels)
    roi = np.asarray(roi)
    if levels.ndim != 3 or roi.shape != levels.shape:
        raise GeometryError(
            f"{family}: levels and roi must be 3-D (z, y, x) arrays of one shape; got "
            f"{levels.shape} and {roi.shape}"
        )
    if roi.dtype != bool:
        raise MaskError(f"{family}: roi must be a boolean mask; got dtype {roi.dtype}")
    if int(n_levels) < 1:
        raise ConfigError(f"{family}: n_levels must be a positive integer; got {n_levels!r}")
    if not np.issubdtype(levels.dtype, np.integer):
        raise InputError(f"{family}: levels must be integers; got dtype {levels.dtype}")
    if not roi.any():
        warn_undefined(f"{family}: the ROI is empty, every feature is undefined")
        return None
    box = bbox(roi)
    inside = levels[box][roi[box]]
    low, high = int(inside.min()), int(inside.max())
    if low < 1 or high > n_levels:
        raise InputError(
            f"{family}: grey levels inside the ROI must lie in 1..{n_levels}; found {low}..{high}"
        )
    cropped = np.where(roi[box], levels[box], 0).astype(np.int64)
    return np.pad(cropped, margin)


def bbox(mask: np.ndarray, *, margin: int = 0) -> tuple[slice, ...]:
    """Slices of the bounding box of the True voxels of `mask`, widened by `margin`."""
    slices = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        lo = max(int(hit[0]) - margin, 0)
        hi = min(int(hit[-1]) + 1 + margin, mask.shape[axis])
        slices.append(slice(lo, hi))
    return tuple(slices)


def directions(dimension: str) -> tuple[tuple[int, int, int], ...]:
    """The 4 in-plane (``"2D"``, ``"2.5D"``) or 13 volumetric (``"3D"``) unique directions."""
    return DIRECTIONS_3D if dimension == "3D" else DIRECTIONS_2D


def flat_offset(direction: tuple[int, int, int], shape: tuple[int, ...], distance: int = 1) -> int:
    """Offset in a C-order flattened array of `shape` of a step `distance` along `direction`."""
    dz, dy, dx = direction
    return distance * (dz * shape[1] * shape[2] + dy * shape[2] + dx)


def warn_undefined(message: str) -> None:
    """Issue the `MedscaleWarning` that goes with a NaN feature value."""
    logger.debug(message)
    warnings.warn(message, MedscaleWarning, stacklevel=3)


def nan_features(names: Sequence[str], suffixes: Sequence[str]) -> dict[str, float]:
    """Every ``name_suffix`` set to NaN."""
    return {f"{name}_{suffix}": float("nan") for suffix in suffixes for name in names}


def averaged(values: dict[str, np.ndarray], names: dict[str, str], suffix: str) -> dict[str, float]:
    """Mean over the stack of each ``values[key]``, named ``<names[key]>_<suffix>``."""
    means = np.stack([values[key] for key in names]).mean(axis=1)
    return {f"{name}_{suffix}": float(m) for name, m in zip(names.values(), means, strict=True)}


def xlog2x(p: np.ndarray) -> np.ndarray:
    """Elementwise p * log2(p) with 0 * log2(0) = 0."""
    log = np.zeros(np.shape(p), dtype=np.float64)
    np.log2(p, out=log, where=p > 0)
    return log * p


def matrix_features(
    matrix: np.ndarray,
    n_voxels: np.ndarray,
    j_values: np.ndarray | None = None,
    i_values: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The 16 features shared by run-length, size-zone, distance-zone and dependence matrices.

    Parameters
    ----------
    matrix : numpy.ndarray, shape (K, Ng, Nj)
        K count matrices; row i-1 holds grey level i, column j-1 the run length, zone size,
        zone distance or dependence count j.
    n_voxels : numpy.ndarray, shape (K,)
        Number of voxels behind each matrix (summed over merged matrices).
    j_values : numpy.ndarray, shape (Nj,), optional
        The value j of each column when the columns are not 1..Nj (a compressed matrix that
        keeps only the values that occur).
    i_values : numpy.ndarray, shape (Ng,), optional
        The grey level of each row when the rows are not 1..Ng (only the levels present).

    Returns
    -------
    dict of str to numpy.ndarray of shape (K,)
        Keys `MATRIX_FEATURES`; NaN for an empty matrix.

    Notes
    -----
    With :math:`N_s = \\sum_{ij} m_{ij}`, :math:`p_{ij} = m_{ij} / N_s` and marginals
    :math:`m_{i.}`, :math:`m_{.j}` (IBSI-1 sections 3.7-3.11): small / large emphasis
    :math:`\\sum_j m_{.j} j^{\\mp 2} / N_s`, grey level non-uniformity
    :math:`\\sum_i m_{i.}^2 / N_s`, percentage :math:`N_s / N_v`, variances
    :math:`\\sum (x - \\mu)^2 p_{ij}`, entropy :math:`-\\sum p_{ij} \\log_2 p_{ij}`.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    _, n_g, n_j = matrix.shape
    if i_values is None:
        i = np.arange(1, n_g + 1, dtype=np.float64)
    else:
        i = np.asarray(i_values, dtype=np.float64)
    if j_values is None:
        j = np.arange(1, n_j + 1, dtype=np.float64)
    else:
        j = np.asarray(j_values, dtype=np.float64)
    n_s = matrix.sum(axis=(1, 2))
    empty = n_s == 0
    n_s_safe = np.where(empty, 1.0, n_s)
    row = matrix.sum(axis=2) / n_s_safe[:, None]  # p_i.
    col = matrix.sum(axis=1) / n_s_safe[:, None]  # p_.j
    i2, j2 = i * i, j * j

    def joint(weight_i: np.ndarray, weight_j: np.ndarray) -> np.ndarray:
        return np.einsum("kij,i,j->k", matrix, weight_i, weight_j) / n_s_safe

    mu_i = row @ i
    mu_j = col @ j
    p = matrix / n_s_safe[:, None, None]
    out = {
        "small_j": col @ (1.0 / j2),
        "large_j": col @ j2,
        "low_grey": row @ (1.0 / i2),
        "high_grey": row @ i2,
        "small_j_low_grey": joint(1.0 / i2, 1.0 / j2),
        "small_j_high_grey": joint(i2, 1.0 / j2),
        "large_j_low_grey": joint(1.0 / i2, j2),
        "large_j_high_grey": joint(i2, j2),
        "glnu": (row**2).sum(axis=1) * n_s,
        "glnu_norm": (row**2).sum(axis=1),
        "jnu": (col**2).sum(axis=1) * n_s,
        "jnu_norm": (col**2).sum(axis=1),
        "perc": n_s / np.where(n_voxels > 0, n_voxels, 1.0),
        "gl_var": (row * (i[None, :] - mu_i[:, None]) ** 2).sum(axis=1),
        "j_var": (col * (j[None, :] - mu_j[:, None]) ** 2).sum(axis=1),
        "j_entr": -xlog2x(p).sum(axis=(1, 2)),
    }
    for value in out.values():
        value[empty] = np.nan
    return out


def present_levels(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grey levels present in the ROI and a row lookup, so that matrices need one row per
    level that occurs (not Ng rows).

    Returns
    -------
    levels : numpy.ndarray of int64, shape (Np,)
        Sorted distinct levels > 0 of `padded`.
    row : numpy.ndarray of int64, shape (max level + 1,)
        ``row[v]`` is the row of level v (``row[0]`` is -1).
    """
    present = np.bincount(padded.ravel()) > 0
    present[0] = False
    return np.flatnonzero(present), np.cumsum(present) - 1


def zone_features(
    matrices: np.ndarray,
    n_voxels: np.ndarray,
    i_values: np.ndarray,
    j_values: np.ndarray,
    names: dict[str, str],
    suffix: str,
) -> dict[str, float]:
    """Features of the non-empty matrices of a stack, averaged, named ``<names[g]>_<suffix>``.

    `i_values` holds the grey level of each row, `j_values` the zone size (or distance) of each
    column of `matrices`.
    """
    keep = n_voxels > 0
    values = matrix_features(matrices[keep], n_voxels[keep].astype(np.float64), j_values, i_values)
    return averaged(values, names, suffix)


ZoneMatrices = Callable[[str], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def zone_family_features(
    matrices: ZoneMatrices, dims: Sequence[str], names: dict[str, str]
) -> dict[str, float]:
    """The ``_2D`` (per slice, averaged), ``_2_5D`` (slices merged) and ``_3D`` features of a
    zone family (GLSZM, GLDZM) whose ``matrices(dimension)`` gives (matrices, n_voxels, levels,
    zone values) per z plane for ``"2D"``, for the volume for ``"3D"``."""
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        per_slice, n_voxels, zone_levels, zone_values = matrices("2D")
        if "2D" in dims:
            out.update(zone_features(per_slice, n_voxels, zone_levels, zone_values, names, "2D"))
        if "2.5D" in dims:
            merged = per_slice.sum(axis=0, keepdims=True)
            total = n_voxels.sum(keepdims=True)
            out.update(zone_features(merged, total, zone_levels, zone_values, names, "2_5D"))
    if "3D" in dims:
        out.update(zone_features(*matrices("3D"), names, "3D"))
    return out


FeaturesOfLevels = Callable[..., dict[str, float]]
"""``(padded, n_levels, dims, **options) -> features``: a texture family's features of levels
prepared by `prepare` (never None) for the dimensions `dims` (parsed)."""


@dataclass(frozen=True)
class TextureFamily:
    """A texture family as its module declares it, and what is made of that declaration.

    The module writes the one thing that is its own, the features of prepared levels
    (`features_of`); `compute` (levels and ROI in, outside the pipeline), `compute_prepared`
    (prepared levels, or None for an empty ROI) and the registered `Family` are the same for
    every texture family and are written here once.

    Attributes
    ----------
    name : str
        The family's name (``"glcm"`` ...).
    features : tuple of FeatureInfo
        Its feature table.
    features_of : FeaturesOfLevels
        Its features of prepared levels; the keyword options it takes (``distance`` ...) are
        those of `compute`.
    averaged : bool
        Whether each dimension gives two ids per feature, averaged over directions and merged
        (``_avg``, ``_comb``: GLCM, GLRLM), else one (``_2D``, ``_2_5D``, ``_3D``).
    """

    name: str
    features: tuple[FeatureInfo, ...]
    features_of: FeaturesOfLevels
    averaged: bool = False

    def compute(
        self,
        levels: npt.ArrayLike,
        roi: npt.ArrayLike,
        n_levels: int,
        *,
        dimension: str | Sequence[str],
        **options: Any,
    ) -> dict[str, float]:
        """The family's features of the discretised ROI.

        Parameters
        ----------
        levels : array_like of int, shape (z, y, x)
            Discretised grey levels 1..`n_levels` inside `roi`.
        roi : array_like of bool, shape (z, y, x)
            Intensity mask (after re-segmentation).
        n_levels : int
            Number of grey levels Ng.
        dimension : {"2D", "2.5D", "3D"} or a sequence of them
            Which aggregation variants to return; a sequence shares the in-plane work.
        **options
            The family's own options (GLCM: ``distance``, ``symmetric``; NGTDM: ``distance``;
            NGLDM: ``distance``, ``alpha``); a ``distance`` also widens the crop's margin.

        Returns
        -------
        dict of str to float
            ``<prefix>_<name>_<suffix>`` for each feature and `registry.dimension_suffixes`;
            undefined values (an empty ROI, no neighbour) are NaN with a
            `medscale.errors.MedscaleWarning`.
        """
        margin = max(int(options.get("distance", 1)), 1)
        padded = prepare(levels, roi, n_levels, margin=margin, family=self.name)
        return self.compute_prepared(padded, n_levels, dimension=dimension, **options)

    def compute_prepared(
        self,
        padded: np.ndarray | None,
        n_levels: int,
        *,
        dimension: str | Sequence[str],
        **options: Any,
    ) -> dict[str, float]:
        """`compute` of levels prepared by `prepare` (with a margin of at least the options'
        ``distance``); None, an empty ROI, gives NaN for every feature."""
        dims = parse_dimensions(dimension)
        if padded is None:
            suffixes = dimension_suffixes(dims, averaged=self.averaged)
            return nan_features([info.name for info in self.features], suffixes)
        return self.features_of(padded, n_levels, dims, **options)

    def family(
        self,
        *,
        pyradiomics: PyradiomicsNames | None = None,
        needs: tuple[str, ...] = ("roi", "texture"),
        options: Callable[[FamilyInputs], dict[str, Any]] | None = None,
    ) -> Family:
        """The registered `Family`: `compute_prepared` of the shared texture input
        (``inputs.texture``, margin 1) once per dimension of ``settings.texture.dimensions``,
        with the keyword options `options` makes of the inputs (none by default)."""

        def compute(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
            extra = {} if options is None else options(inputs)
            found: dict[str, float] = {}
            for dimension in settings.texture.dimensions:
                found.update(
                    self.compute_prepared(
                        inputs.texture, inputs.roi.n_levels, dimension=dimension, **extra
                    )
                )
            return found

        return Family(
            name=self.name,
            features=self.features,
            needs=needs,
            compute=compute,
            suffixes=averaged_texture_suffixes if self.averaged else texture_suffixes,
            pyradiomics=pyradiomics,
        )
