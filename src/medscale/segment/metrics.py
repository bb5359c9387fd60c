"""Overlap and surface metrics between two masks, distances in mm, volumes in ml.

Surfaces are the mask voxels with at least one face neighbour outside the mask (voxels on the
grid border count as surface). Surface distances are Euclidean distance transforms with the
voxel spacing (`scipy.ndimage.distance_transform_edt` with ``sampling``).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import ndimage

from medscale.errors import GeometryError, MaskError
from medscale.image import Mask

log = logging.getLogger(__name__)


def _pair(prediction: Mask, truth: Mask) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(prediction, Mask) or not isinstance(truth, Mask):
        raise MaskError("metrics need two Mask objects (boolean images on one grid)")
    try:
        truth.require_same_grid(prediction, what="predicted mask")
    except GeometryError as err:
        raise GeometryError(f"metrics: {err}") from err
    return prediction.array, truth.array


def dice(prediction: Mask, truth: Mask) -> float:
    """Dice coefficient ``2|A∩B| / (|A| + |B|)``; 1 when both masks are empty.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((1, 4, 4), bool); a[0, :2] = True
    >>> b = np.zeros((1, 4, 4), bool); b[0, 1:3] = True
    >>> dice(Mask(a), Mask(b))
    0.5
    """
    a, b = _pair(prediction, truth)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.count_nonzero(a & b)) / total


def jaccard(prediction: Mask, truth: Mask) -> float:
    """Jaccard index ``|A∩B| / |A∪B|``; 1 when both masks are empty."""
    a, b = _pair(prediction, truth)
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def volume_difference_ml(prediction: Mask, truth: Mask) -> float:
    """Signed volume difference, prediction minus truth, in millilitres (cm³)."""
    a, b = _pair(prediction, truth)
    return (int(a.sum()) - int(b.sum())) * truth.voxel_volume_mm3 / 1000.0


def surface_distances(prediction: Mask, truth: Mask) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each surface voxel of one mask to the other mask's surface.

    Returns
    -------
    (from_prediction, from_truth) : two 1-D float arrays
        Empty arrays when either mask is empty.
    """
    a, b = _pair(prediction, truth)
    if not a.any() or not b.any():
        return np.empty(0), np.empty(0)
    lower = np.minimum(*(np.argwhere(m).min(axis=0) for m in (a, b))) - 1
    upper = np.maximum(*(np.argwhere(m).max(axis=0) for m in (a, b))) + 2
    lower, upper = np.maximum(lower, 0), np.minimum(upper, a.shape)
    box = tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))
    a, b = a[box], b[box]
    border = np.zeros(a.shape, dtype=bool)
    for axis, (lo, hi, n) in enumerate(zip(lower, upper, prediction.shape, strict=True)):
        index: list[slice | int] = [slice(None)] * 3
        if lo == 0:
            index[axis] = 0
            border[tuple(index)] = True
        if hi == n:
            index[axis] = -1
            border[tuple(index)] = True
    structure = ndimage.generate_binary_structure(3, 1)
    surface_a = a & (~ndimage.binary_erosion(a, structure) | border)
    surface_b = b & (~ndimage.binary_erosion(b, structure) | border)
    spacing = truth.spacing
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing)
    return to_b[surface_a], to_a[surface_b]


def hausdorff_distance(prediction: Mask, truth: Mask, *, percentile: float = 95.0) -> float:
    """Percentile Hausdorff distance in mm (HD95 by default; 100 is the classic Hausdorff).

    The percentile is taken over the pooled surface distances of both directions (as MedPy's
    ``hd95``). NaN when either mask is empty.
    """
    from_prediction, from_truth = surface_distances(prediction, truth)
    if from_prediction.size == 0:
        return math.nan
    return float(np.percentile(np.concatenate([from_prediction, from_truth]), percentile))


def average_surface_distance(prediction: Mask, truth: Mask) -> float:
    """Average symmetric surface distance (ASSD) in mm; NaN when either mask is empty."""
    from_prediction, from_truth = surface_distances(prediction, truth)
    if from_prediction.size == 0:
        return math.nan
    return float(np.concatenate([from_prediction, from_truth]).mean())


def evaluate(prediction: Mask, truth: Mask) -> dict[str, float]:
    """All metrics: ``dice``, ``jaccard``, ``hd95_mm``, ``assd_mm``, ``volume_difference_ml``.

    Distances are NaN when a mask is empty (a warning is logged).
    """
    from_prediction, from_truth = surface_distances(prediction, truth)
    pooled = np.concatenate([from_prediction, from_truth])
    if pooled.size == 0:
        log.warning("a mask is empty: surface distances are undefined (NaN)")
    return {
        "dice": dice(prediction, truth),
        "jaccard": jaccard(prediction, truth),
        "hd95_mm": float(np.percentile(pooled, 95)) if pooled.size else math.nan,
        "assd_mm": float(pooled.mean()) if pooled.size else math.nan,
        "volume_difference_ml": volume_difference_ml(prediction, truth),
    }
