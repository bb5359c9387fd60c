"""Intensity histogram features (IBSI-1 section 3.4, family ``ih``).

The features describe the histogram :math:`H = \\{n_1, \\ldots, n_{N_g}\\}` of the discretised
grey levels :math:`X_d \\in \\{1, \\ldots, N_g\\}` of the voxels in the ROI intensity mask.

References
----------
Zwanenburg A, et al. IBSI reference manual, arXiv:1612.07003, section "Intensity histogram
features".
"""

from __future__ import annotations

import numpy as np

from medscale.errors import InputError
from medscale.features.registry import Family, PyradiomicsNames, builtin_features
from medscale.features.statistics import distribution_features, undefined

_FAMILY = "intensity_histogram"

FEATURES = builtin_features(_FAMILY)


def histogram_gradient(counts: np.ndarray) -> np.ndarray:
    """IBSI histogram gradient H' of a dense histogram (first/last: one-sided differences).

    Parameters
    ----------
    counts : numpy.ndarray, shape (n_levels,)
        Voxel count per grey level 1..n_levels, zero bins included.

    Returns
    -------
    numpy.ndarray, shape (n_levels,), float64
        ``H'_1 = n_2 - n_1``, ``H'_i = (n_{i+1} - n_{i-1}) / 2``, ``H'_Ng = n_Ng - n_{Ng-1}``;
        a single bin has gradient 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size < 2:
        return np.zeros_like(counts)
    return np.gradient(counts)


def _mode(counts: np.ndarray, mean: float) -> float:
    levels = np.arange(1, counts.size + 1, dtype=np.float64)
    candidates = levels[counts == counts.max()]
    distance = np.abs(candidates - mean)
    # closest to the mean; among equidistant ones the lower (left) level comes first
    return float(candidates[np.argmin(distance)])


def compute(levels: np.ndarray, n_levels: int) -> dict[str, float]:
    """Intensity histogram features of the discretised ROI grey levels.

    Parameters
    ----------
    levels : numpy.ndarray, shape (n,), int
        Discretised grey levels (1..`n_levels`) of the voxels in the ROI intensity mask.
    n_levels : int
        Number of grey levels N_g; the histogram has one bin per level 1..N_g, empty bins
        included (this matters for the gradient features).

    Returns
    -------
    dict[str, float]
        The 23 ``ih_*`` features (grey-level units, counts for the gradients). An empty ROI
        gives NaN for all, with a `MedscaleWarning`.

    Raises
    ------
    InputError
        `n_levels` < 1, or a level lies outside 1..`n_levels` or is not an integer.

    Notes
    -----
    ``H'`` is the central difference of the histogram, one-sided at both ends (IBSI
    definition); ``ih_max_grad_g`` / ``ih_min_grad_g`` are the grey levels where it peaks.

    Examples
    --------
    >>> import numpy as np
    >>> compute(np.array([1, 1, 1, 2, 4]), 4)["ih_mode"]
    1.0
    """
    n_levels = int(n_levels)
    if n_levels < 1:
        raise InputError(f"intensity_histogram.compute: n_levels must be >= 1, got {n_levels}")
    array = np.asarray(levels).ravel()
    names = [info.name for info in FEATURES]
    if array.size == 0:
        return undefined(names, "the ROI intensity mask is empty")
    as_float = array.astype(np.float64)
    as_int = np.rint(as_float).astype(np.int64)
    if not np.array_equal(as_int, as_float):
        raise InputError(
            "intensity_histogram.compute: levels must be whole grey levels, got "
            "non-integer values; discretise the intensities first"
        )
    low, high = int(as_int.min()), int(as_int.max())
    if low < 1 or high > n_levels:
        raise InputError(
            f"intensity_histogram.compute: grey levels {low}..{high} lie outside "
            f"1..{n_levels}; pass the n_levels of the discretisation used"
        )
    counts = np.bincount(as_int - 1, minlength=n_levels)
    probabilities = counts[counts > 0] / array.size
    gradient = histogram_gradient(counts)
    features = distribution_features(as_float, "ih")
    features["ih_mode"] = _mode(counts, features["ih_mean"])
    features["ih_entropy"] = float(-np.sum(probabilities * np.log2(probabilities)))
    features["ih_uniformity"] = float(np.sum(probabilities**2))
    features["ih_max_grad"] = float(gradient.max())
    features["ih_max_grad_g"] = float(np.argmax(gradient) + 1)
    features["ih_min_grad"] = float(gradient.min())
    features["ih_min_grad_g"] = float(np.argmin(gradient) + 1)
    return {name: features[name] for name in names}


FAMILY = Family(
    name=_FAMILY,
    features=FEATURES,
    needs=("roi", "roi_levels"),
    compute=lambda inputs, settings: compute(inputs.roi_levels, inputs.roi.n_levels),
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "firstorder"),
)
