"""Intensity-based statistical features (IBSI-1 section 3.3, family ``stat``).

The features describe the distribution of the intensities :math:`X_{gl}` of the voxels in the
ROI intensity mask, without discretisation. `distribution_features` is shared with the
intensity histogram family (`medscale.features.intensity_histogram`), which applies the same
definitions to discretised grey levels.

References
----------
Zwanenburg A, et al. The Image Biomarker Standardization Initiative. IBSI reference manual,
arXiv:1612.07003, section "Intensity-based statistical features".
"""

from __future__ import annotations

import warnings

import numpy as np

from medscale.errors import InputError, MedscaleWarning
from medscale.features.registry import Family, PyradiomicsNames, builtin_features

_FAMILY = "statistics"

FEATURES = builtin_features(_FAMILY)

#: Short names shared by ``stat_`` and ``ih_`` (the distribution features).
SHARED_NAMES: tuple[str, ...] = (
    "mean",
    "var",
    "skew",
    "kurt",
    "median",
    "min",
    "p10",
    "p90",
    "max",
    "iqr",
    "range",
    "mad",
    "rmad",
    "medad",
    "cov",
    "qcod",
)


def as_values(values: np.ndarray, *, what: str) -> np.ndarray:
    """`values` as a 1-D float64 array; raises `InputError` for non-finite entries."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size and not np.all(np.isfinite(array)):
        raise InputError(
            f"{what}: {int(np.sum(~np.isfinite(array)))} of {array.size} "
            "intensities are NaN or infinite; mask them out first"
        )
    return array


def undefined(names: list[str] | tuple[str, ...], reason: str) -> dict[str, float]:
    """NaN for every feature in `names`, with one `MedscaleWarning` saying why."""
    warnings.warn(
        f"{', '.join(names)} undefined: {reason}; set to NaN", MedscaleWarning, stacklevel=3
    )
    return dict.fromkeys(names, float("nan"))


def _ratio(numerator: float, denominator: float, name: str, reason: str) -> float:
    if denominator == 0.0:
        warnings.warn(f"{name} undefined: {reason}; set to NaN", MedscaleWarning, stacklevel=4)
        return float("nan")
    return float(numerator / denominator)


def distribution_features(values: np.ndarray, prefix: str) -> dict[str, float]:
    """The distribution features common to ``stat_`` and ``ih_``, keyed ``<prefix>_<name>``.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,), float64
        Intensities (or grey levels) of the ROI voxels, n >= 1, all finite.
    prefix : str
        ``"stat"`` or ``"ih"``.

    Returns
    -------
    dict[str, float]
        One value per name of `SHARED_NAMES`.

    Notes
    -----
    Moments are population moments (no bias correction). Percentiles interpolate linearly
    between order statistics (``numpy.percentile`` default), which reproduces the IBSI
    reference values of the digital phantom (P90 = 4, not 4.2).
    """
    n = values.size
    mean = float(values.mean())
    centred = values - mean
    var = float(np.mean(centred**2))
    if var > 0.0:
        skew = float(np.mean(centred**3) / var**1.5)
        kurt = float(np.mean(centred**4) / var**2 - 3.0)
    else:  # IBSI: skewness and kurtosis are 0 for a constant ROI
        skew = kurt = 0.0
    p10, p25, median, p75, p90 = np.percentile(values, (10.0, 25.0, 50.0, 75.0, 90.0))
    robust = values[(values >= p10) & (values <= p90)]
    key = f"{prefix}_"
    if robust.size:
        rmad = float(np.mean(np.abs(robust - robust.mean())))
    else:  # possible for a handful of voxels: no value lies between P10 and P90
        rmad = _ratio(0.0, 0.0, key + "rmad", "no value lies between P10 and P90")
    return {
        key + "mean": mean,
        key + "var": var,
        key + "skew": skew,
        key + "kurt": kurt,
        key + "median": float(median),
        key + "min": float(values.min()),
        key + "p10": float(p10),
        key + "p90": float(p90),
        key + "max": float(values.max()),
        key + "iqr": float(p75 - p25),
        key + "range": float(values.max() - values.min()),
        key + "mad": float(np.mean(np.abs(centred))),
        key + "rmad": rmad,
        key + "medad": float(np.mean(np.abs(values - median))),
        key + "cov": _ratio(np.sqrt(var), mean, key + "cov", f"mean of the {n} values is 0"),
        key + "qcod": _ratio(p75 - p25, p75 + p25, key + "qcod", "P75 + P25 is 0"),
    }


def compute(values: np.ndarray) -> dict[str, float]:
    """Intensity-based statistical features of the ROI intensities.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,), float
        Intensities of the voxels in the ROI intensity mask (e.g. HU), not discretised.

    Returns
    -------
    dict[str, float]
        The 18 ``stat_*`` features (units: intensity, intensity squared for ``stat_var``,
        dimensionless for ratios). An empty ROI gives NaN for all, with a `MedscaleWarning`.

    Raises
    ------
    InputError
        Some intensities are NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> round(compute(np.array([1.0, 2.0, 3.0, 4.0]))["stat_var"], 4)
    1.25
    """
    array = as_values(values, what="statistics.compute")
    names = [info.name for info in FEATURES]
    if array.size == 0:
        return undefined(names, "the ROI intensity mask is empty")
    features = distribution_features(array, "stat")
    energy = float(np.sum(array**2))
    features["stat_energy"] = energy
    features["stat_rms"] = float(np.sqrt(energy / array.size))
    return {name: features[name] for name in names}


FAMILY = Family(
    name=_FAMILY,
    features=FEATURES,
    needs=("values",),
    compute=lambda inputs, settings: compute(inputs.values),
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "firstorder"),
)
