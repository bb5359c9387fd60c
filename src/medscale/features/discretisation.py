"""Grey-level discretisation: intensities in the ROI become levels 1..Ng (IBSI-1 section 2.7).

- Fixed bin number (FBN): ``level = floor(Ng (X - X_min) / (X_max - X_min)) + 1``, with the
  maximum mapped to ``Ng``; ``X_min``/``X_max`` are the extremes inside the intensity mask. A
  constant ROI gets level 1 everywhere.
- Fixed bin size (FBS): ``level = floor((X - X_low) / w) + 1`` with ``X_low`` the lower bound
  of the re-segmentation range when there is one, else the ROI minimum. ``Ng`` is the highest
  level that occurs in the ROI.
- None: the intensities are already integer grey levels >= 1 (e.g. the IBSI digital phantom);
  ``Ng`` is the highest level.
"""

from __future__ import annotations

import numpy as np

from medscale.errors import InputError

_EPS = 1e-9  # keeps X = X_low + k w (k integer) in bin k + 1 despite float error


def fixed_bin_number(values: np.ndarray, *, n_bins: int) -> np.ndarray:
    """Levels 1..n_bins of `values` (1-D float) by fixed bin number.

    Examples
    --------
    >>> fixed_bin_number(np.array([0.0, 0.5, 1.0]), n_bins=2)
    array([1, 2, 2])
    """
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.ones(values.shape, dtype=np.int64)
    levels = np.floor(n_bins * (values - low) / (high - low)).astype(np.int64) + 1
    return np.minimum(levels, n_bins)


def fixed_bin_size(
    values: np.ndarray, *, bin_width: float, lower_bound: float | None = None
) -> np.ndarray:
    """Levels >= 1 of `values` (1-D float) in bins of `bin_width` from `lower_bound`.

    Examples
    --------
    >>> fixed_bin_size(np.array([-500.0, -476.0, -475.0, 400.0]), bin_width=25, lower_bound=-500)
    array([ 1,  1,  2, 37])
    """
    low = float(values.min()) if lower_bound is None else float(lower_bound)
    scaled = (values - low) / bin_width
    return np.floor(scaled + _EPS * np.maximum(np.abs(scaled), 1.0)).astype(np.int64) + 1


def discretise(
    intensity: np.ndarray,
    roi: np.ndarray,
    *,
    method: str,
    bin_width: float | None = None,
    n_bins: int | None = None,
    lower_bound: float | None = None,
) -> tuple[np.ndarray, int]:
    """Grey levels of the voxels inside `roi`, as an int array on the grid, and Ng.

    Parameters
    ----------
    intensity : numpy.ndarray, float, shape (z, y, x)
        Intensities after interpolation and rounding.
    roi : numpy.ndarray, bool, same shape
        The intensity mask (after re-segmentation); must not be empty.
    method : {"fixed_bin_size", "fixed_bin_number", "none"}
    bin_width : float, intensity units
        For fixed bin size.
    n_bins : int
        For fixed bin number.
    lower_bound : float or None
        Fixed bin size: the lower bound of the re-segmentation range, if any.

    Returns
    -------
    levels : numpy.ndarray, int64, shape of `intensity`
        Levels 1..Ng inside `roi`, 0 outside.
    n_levels : int
        Ng, the number of grey levels.

    Raises
    ------
    InputError
        For ``method="none"`` when the ROI intensities are not integers >= 1.
    """
    values = intensity[roi]
    if method == "fixed_bin_number":
        assert n_bins is not None
        roi_levels = fixed_bin_number(values, n_bins=n_bins)
        n_levels = int(n_bins)
    elif method == "fixed_bin_size":
        assert bin_width is not None
        roi_levels = fixed_bin_size(values, bin_width=bin_width, lower_bound=lower_bound)
        n_levels = int(roi_levels.max())
    elif method == "none":
        roi_levels = np.round(values).astype(np.int64)
        if not np.allclose(roi_levels, values) or roi_levels.min() < 1:
            raise InputError(
                "discretisation 'none' needs integer grey levels >= 1 inside the ROI, got "
                f"values from {values.min():g} to {values.max():g}; use fixed_bin_size or "
                "fixed_bin_number"
            )
        n_levels = int(roi_levels.max())
    else:
        raise InputError(f"unknown discretisation method {method!r}")
    if roi_levels.size and roi_levels.min() < 1:
        raise InputError(
            f"ROI intensity {values.min():g} lies below the discretisation lower bound "
            f"{lower_bound:g}; re-segment with that range or drop the bound"
        )
    levels = np.zeros(intensity.shape, dtype=np.int64)
    levels[roi] = roi_levels
    return levels, max(n_levels, 1)
