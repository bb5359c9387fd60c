"""2-D shape features of a single-slice ROI (family ``morphology_2d``, ids ``morph_2d_*``).

For projection images (X-ray, ultrasound, one slice: ``Image`` with z = 1) the 3-D
morphology of IBSI-1 measures a one-slice-thick slab, which says little about the shape in
the picture. This family measures the ROI in its plane. **It is not standardised by IBSI**:
the features have no IBSI code (``ibsi_code`` is ``""``), and their definitions follow the
3-D ones of IBSI-1 section 3.1 where one exists:

- the contour is the marching-squares iso-line at 0.5 of the mask padded with background
  (`skimage.measure.find_contours`, ROI pixels 8-connected), in mm from the pixel spacing;
  the contour area is its signed (shoelace) area, holes subtracted; the perimeter is the
  length of the contour after two passes of a closed [1, 2, 1] / 4 vertex smoothing, holes
  included. On a binary mask the raw marching-squares line is a staircase of 45-degree
  chamfers that overestimates a disc's circumference by 6-10 %; the smoothing brings it within
  about 1.5 % (discs of radius >= 3 pixels) while a straight edge keeps its length (a
  rectangle loses about 0.5 pixel per corner);
- perimeter-to-area ratio and circularity :math:`4\\pi A / P^2` take the length *and* the
  enclosed area of the smoothed contour, so that circularity never exceeds 1 (the
  isoperimetric inequality; the smoothing shrinks tiny ROIs a lot, and mixing its length with
  the raw contour's area would give values above 1 for a ROI of 2-3 pixels);
- major / minor axis lengths are :math:`4\\sqrt{\\lambda}` of the sample covariance (N - 1)
  of the pixel centres in mm (as IBSI's TDIC / P9VJ in 3-D), elongation
  :math:`\\sqrt{\\lambda_{minor} / \\lambda_{major}}`;
- the maximum diameter (Feret) is the largest distance between two vertices of the convex
  hull of the contour (as IBSI's L0JK on the mesh);
- the convex hull area density (solidity) is contour area / hull area;
- the centroid shift is the distance between the centroid of the ROI pixel centres and the
  intensity-weighted centroid of the intensity-mask pixels (as IBSI's KLMA).

A one-pixel ROI has no measurable shape: everything but the pixel-count area is NaN, with a
`MedscaleWarning`, as are all features of an ROI that spans more than one slice.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from medscale.errors import MedscaleWarning
from medscale.features.inputs import check_grid
from medscale.features.morphology import shape_family
from medscale.features.registry import PyradiomicsNames, builtin_features
from medscale.features.statistics import undefined

_FAMILY = "morphology_2d"
_NOT_IBSI = ""  # not standardised by IBSI: no code
SMOOTHING_PASSES = 2  # [1, 2, 1] / 4 passes over the contour vertices before measuring length

FEATURES = builtin_features(_FAMILY)

_NAMES = tuple(info.name for info in FEATURES)


def contours_mm(mask: np.ndarray, spacing_yx: tuple[float, float]) -> list[np.ndarray]:
    """Closed marching-squares contours (mm, (y, x)) of a 2-D mask, islands counter-clockwise.

    The mask is padded with one pixel of background, so every contour is closed (last point
    equals the first); coordinates are relative to the centre of pixel [0, 0].
    """
    from skimage.measure import find_contours

    padded = np.pad(mask, 1).astype(np.float64)
    found = find_contours(padded, 0.5, fully_connected="high", positive_orientation="high")
    scale = np.asarray(spacing_yx, dtype=np.float64)
    return [(contour - 1.0) * scale for contour in found]


def _signed_area(contour: np.ndarray) -> float:
    y, x = contour[:, 0], contour[:, 1]
    return 0.5 * float(np.dot(y[:-1], x[1:]) - np.dot(y[1:], x[:-1]))


def _smoothed(contour: np.ndarray, *, passes: int = SMOOTHING_PASSES) -> np.ndarray:
    """A closed contour after `passes` of [1, 2, 1] / 4 vertex smoothing (closed again)."""
    points = contour[:-1]
    for _ in range(passes):
        points = (np.roll(points, 1, axis=0) + 2.0 * points + np.roll(points, -1, axis=0)) / 4.0
    return np.concatenate([points, points[:1]])


def _length(contour: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(contour, axis=0), axis=1).sum())


def _hull_features(points: np.ndarray, area: float, missing: list[str]) -> dict[str, float]:
    from scipy.spatial import ConvexHull, QhullError

    from medscale.features._mesh import max_diameter

    try:
        hull = ConvexHull(points)
    except QhullError:  # collinear contour points: cannot happen for a padded mask's contour
        missing.append("morph_2d_area_dens_conv_hull (the contour spans no area)")
        return {"morph_2d_diam": max_diameter(points), "morph_2d_area_dens_conv_hull": float("nan")}
    return {
        "morph_2d_diam": max_diameter(points[hull.vertices]),
        "morph_2d_area_dens_conv_hull": area / float(hull.volume),
    }


def _pca_features(points: np.ndarray, missing: list[str]) -> dict[str, float]:
    centred = points - points.mean(axis=0)
    covariance = centred.T @ centred / (len(points) - 1)
    eigenvalues = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    eigenvalues[eigenvalues <= 1e-12 * max(eigenvalues[0], 0.0)] = 0.0
    major, minor = (float(v) for v in eigenvalues)
    if major > 0:
        elongation = math.sqrt(minor / major)
    else:
        missing.append("morph_2d_pca_elongation (no extent along the major axis)")
        elongation = float("nan")
    return {
        "morph_2d_pca_maj_axis": 4.0 * math.sqrt(major),
        "morph_2d_pca_min_axis": 4.0 * math.sqrt(minor),
        "morph_2d_pca_elongation": elongation,
    }


def _com(
    points: np.ndarray,
    image: np.ndarray,
    roi: np.ndarray,
    spacing_yx: np.ndarray,
    missing: list[str],
) -> float:
    values = image[roi]
    total = float(values.sum())
    if values.size == 0 or total == 0.0:
        missing.append("morph_2d_com (empty intensity mask, or intensities summing to 0)")
        return float("nan")
    weighted = (np.argwhere(roi) * spacing_yx * values[:, None]).sum(axis=0) / total
    return float(np.linalg.norm(points.mean(axis=0) - weighted))


def compute(
    morph_mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    intensity: np.ndarray,
    intensity_mask: np.ndarray,
) -> dict[str, float]:
    """2-D shape features of an ROI that lies in one slice.

    Parameters
    ----------
    morph_mask : numpy.ndarray, shape (z, y, x), bool
        Morphological mask; its set pixels must all lie in one slice (other slices, e.g.
        padding, may be present but empty).
    spacing_mm : (float, float, float)
        Voxel spacing in mm, (z, y, x); z is ignored.
    intensity : numpy.ndarray, shape (z, y, x), float
        Intensities (not re-segmented or discretised), for the centroid shift.
    intensity_mask : numpy.ndarray, shape (z, y, x), bool
        Intensity mask (after re-segmentation), same grid.

    Returns
    -------
    dict[str, float]
        The 11 ``morph_2d_*`` features (see the module docstring): areas in mm^2, lengths in
        mm, ``morph_2d_perim_area`` in 1/mm, the rest dimensionless. NaN with a
        `MedscaleWarning` where undefined (empty ROI, ROI over several slices, one pixel).

    Raises
    ------
    InputError
        Arrays of different shapes or not 3-D, or a bad spacing.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((1, 6, 6), bool); square[0, 1:5, 1:5] = True
    >>> out = compute(square, (1.0, 2.0, 2.0), intensity=np.ones(square.shape),
    ...               intensity_mask=square)
    >>> out["morph_2d_area_pixel"], out["morph_2d_area_contour"], out["morph_2d_diam"]
    (64.0, 62.0, 10.0)
    """
    spacing = check_grid(
        "morphology_2d.compute",
        spacing_mm,
        morph_mask=morph_mask,
        intensity=intensity,
        intensity_mask=intensity_mask,
    )
    morph = np.asarray(morph_mask, dtype=bool)
    slices = np.flatnonzero(morph.any(axis=(1, 2)))
    if slices.size == 0:
        return undefined(_NAMES, "the morphological mask is empty")
    if slices.size > 1:
        return undefined(_NAMES, f"2-D shape needs an ROI in one slice; it spans {slices.size}")
    z = int(slices[0])
    plane = morph[z]
    spacing_yx = spacing[1:]
    n_pixels = int(plane.sum())
    features: dict[str, float] = {"morph_2d_area_pixel": n_pixels * float(np.prod(spacing_yx))}
    if n_pixels < 2:
        rest = undefined(_NAMES[1:], "a one-pixel ROI has no measurable shape")
        return {name: (features | rest)[name] for name in _NAMES}
    missing: list[str] = []
    contours = contours_mm(plane, (float(spacing_yx[0]), float(spacing_yx[1])))
    area = abs(sum(_signed_area(c) for c in contours))
    smoothed = [_smoothed(c) for c in contours]
    perimeter = sum(_length(c) for c in smoothed)
    smoothed_area = abs(sum(_signed_area(c) for c in smoothed))
    features |= {
        "morph_2d_area_contour": area,
        "morph_2d_perimeter": perimeter,
        "morph_2d_perim_area": perimeter / smoothed_area,
        "morph_2d_circularity": 4.0 * math.pi * smoothed_area / perimeter**2,
    }
    features |= _hull_features(np.concatenate(contours), area, missing)
    points = np.argwhere(plane) * spacing_yx
    features |= _pca_features(points, missing)
    features["morph_2d_com"] = _com(
        points,
        np.asarray(intensity[z], dtype=np.float64),
        np.asarray(intensity_mask[z], dtype=bool),
        spacing_yx,
        missing,
    )
    if missing:
        warnings.warn("undefined, set to NaN: " + "; ".join(missing), MedscaleWarning, stacklevel=2)
    return {name: features[name] for name in _NAMES}


FAMILY = shape_family(
    _FAMILY,
    FEATURES,
    compute,
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "shape2D", tables=("2D",)),
    ibsi=False,
)
