"""Re-segmentation: refine the intensity mask by an intensity range and outlier filtering.

IBSI-1 section 2.5. The morphological mask is never re-segmented; only the intensity mask is.
Range re-segmentation keeps voxels with ``lower <= X <= upper``; outlier filtering keeps voxels
within ``mean +/- sigma * SD`` (population SD) of the ROI intensities. When both apply, the range
is applied first and the outlier statistics come from the range-filtered ROI.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def range_mask(
    intensity: np.ndarray, roi: np.ndarray, *, lower: float | None, upper: float | None
) -> np.ndarray:
    """`roi` without the voxels whose intensity lies outside ``[lower, upper]``.

    Parameters
    ----------
    intensity : numpy.ndarray, float, shape (z, y, x)
        Intensities (e.g. HU).
    roi : numpy.ndarray, bool, same shape
        The mask to refine.
    lower, upper : float or None
        Inclusive bounds in intensity units; None leaves that end open.

    Returns
    -------
    numpy.ndarray, bool
        A new mask; the inputs are not changed.

    Examples
    --------
    >>> range_mask(np.array([-600.0, 0.0, 500.0]), np.ones(3, bool), lower=-500, upper=400)
    array([False,  True, False])
    """
    keep = roi.copy()
    if lower is not None:
        keep &= intensity >= lower
    if upper is not None:
        keep &= intensity <= upper
    return keep


def outlier_mask(intensity: np.ndarray, roi: np.ndarray, *, sigma: float) -> np.ndarray:
    """`roi` without voxels further than `sigma` population SDs from the ROI mean.

    Notes
    -----
    Keeps ``mu - sigma s <= X <= mu + sigma s`` with ``mu`` and ``s`` the mean and the
    population standard deviation of the intensities inside `roi` (IBSI-1 section 2.5.2).
    An empty `roi` is returned as it is.
    """
    values = intensity[roi]
    if values.size == 0:
        return roi.copy()
    mean = float(values.mean())
    spread = sigma * float(values.std())
    return range_mask(intensity, roi, lower=mean - spread, upper=mean + spread)


def resegment(
    intensity: np.ndarray,
    roi: np.ndarray,
    *,
    value_range: tuple[float | None, float | None] | None = None,
    outlier_sigma: float | None = None,
) -> np.ndarray:
    """The intensity mask: `roi` after range re-segmentation, then outlier filtering.

    Parameters
    ----------
    intensity : numpy.ndarray, float, shape (z, y, x)
        Intensities after interpolation (and rounding).
    roi : numpy.ndarray, bool, same shape
        The (interpolated) ROI mask, which stays the morphological mask.
    value_range : (lower, upper) or None
        Inclusive range in intensity units; None for either end leaves it open.
    outlier_sigma : float or None
        Keep mean +/- `outlier_sigma` SD; None skips outlier filtering.
    """
    keep = roi
    if value_range is not None:
        keep = range_mask(intensity, keep, lower=value_range[0], upper=value_range[1])
    if outlier_sigma is not None:
        keep = outlier_mask(intensity, keep, sigma=outlier_sigma)
    if keep is roi:
        keep = roi.copy()
    log.debug("re-segmentation kept %d of %d voxels", int(keep.sum()), int(roi.sum()))
    return keep
