"""Intensity-volume histogram features (IBSI-1 section 3.5, family ``ivh``).

The IVH gives, for each discretised intensity :math:`i` of the total range :math:`G`, the
fraction :math:`\\nu_i` of the ROI volume with intensity at least :math:`i`, and the intensity
fraction :math:`\\gamma_i = (i - \\min G) / (\\max G - \\min G)`.

The module does its own discretisation, following the three cases of the manual:

- ``"none"``: calibrated, discrete intensities (CT in HU): :math:`X_{d,gl} = X_{gl}`,
  :math:`G` = the re-segmentation range (an open end taken from the data) or
  [min, max] of the ROI, step :math:`w_d = 1`.
- ``"fixed_bin_size"``: calibrated, continuous intensities (PET): bins of width
  :math:`w_b` from :math:`X_{min}` (lower re-segmentation bound, else the ROI minimum);
  each voxel takes its bin centre :math:`X_{min} + (X_d - 0.5) w_b`;
  :math:`G = [X_{min} + w_b/2, X_{max} - w_b/2]`, step :math:`w_b`.
- ``"fixed_bin_number"``: arbitrary units (MRI): :math:`N_g` bins between the ROI minimum and
  maximum (the re-segmentation range is not used), :math:`X_{d,gl} = X_d`,
  :math:`G = [1, N_g]`, step 1.

References
----------
Zwanenburg A, et al. IBSI reference manual, arXiv:1612.07003, section "Intensity-volume
histogram features".
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from medscale.errors import ConfigError, MedscaleWarning
from medscale.features.registry import Family, builtin_features
from medscale.features.statistics import as_values, undefined

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings


_FAMILY = "intensity_volume_histogram"
DISCRETISATIONS = ("none", "fixed_bin_size", "fixed_bin_number")

FEATURES = builtin_features(_FAMILY)

_NAMES = tuple(info.name for info in FEATURES)


def _bound(value_range: tuple[float | None, float | None] | None, side: int) -> float | None:
    if value_range is None:
        return None
    bound = value_range[side]
    if bound is None or not math.isfinite(float(bound)):
        return None
    return float(bound)


def _check_settings(discretisation: str, bin_width: float | None, n_bins: int | None) -> None:
    if discretisation not in DISCRETISATIONS:
        raise ConfigError(
            f"ivh discretisation must be one of {DISCRETISATIONS}, got {discretisation!r}"
        )
    if discretisation == "fixed_bin_size" and (bin_width is None or not bin_width > 0):
        raise ConfigError(f"ivh fixed_bin_size needs bin_width > 0, got {bin_width!r}")
    if discretisation == "fixed_bin_number" and (n_bins is None or int(n_bins) < 1):
        raise ConfigError(f"ivh fixed_bin_number needs n_bins >= 1, got {n_bins!r}")


def _grid(
    values: np.ndarray,
    *,
    discretisation: str,
    bin_width: float | None,
    n_bins: int | None,
    value_range: tuple[float | None, float | None] | None,
) -> tuple[np.ndarray, float, float, float]:
    """Voxel positions on the IVH grid, with min(G), max(G) and the step w_d.

    Returns ``(steps, g_min, g_max, w_d)`` where ``steps = (X_{d,gl} - min G) / w_d``, exact
    integers for the binned cases (so that comparisons with grid points are exact).
    """
    if discretisation == "none":
        g_min = _bound(value_range, 0)
        g_max = _bound(value_range, 1)
        g_min = float(values.min()) if g_min is None else g_min
        g_max = float(values.max()) if g_max is None else g_max
        return values - g_min, g_min, g_max, 1.0
    if discretisation == "fixed_bin_size":
        width = float(bin_width)  # type: ignore[arg-type]
        x_min = _bound(value_range, 0)
        x_max = _bound(value_range, 1)
        x_min = float(values.min()) if x_min is None else x_min
        x_max = float(values.max()) if x_max is None else x_max
        bins = np.floor((values - x_min) / width)  # X_d - 1
        return bins, x_min + 0.5 * width, x_max - 0.5 * width, width
    n_levels = int(n_bins)  # type: ignore[arg-type]
    x_min, x_max = float(values.min()), float(values.max())
    if x_max > x_min:
        bins = np.minimum(np.floor(n_levels * (values - x_min) / (x_max - x_min)), n_levels - 1)
    else:
        bins = np.zeros_like(values)
    return bins, 1.0, float(n_levels), 1.0


def compute(
    values: np.ndarray,
    *,
    discretisation: str,
    bin_width: float | None = None,
    n_bins: int | None = None,
    value_range: tuple[float | None, float | None] | None = None,
) -> dict[str, float]:
    """Intensity-volume histogram features of the ROI intensities.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,), float
        Intensities of the voxels in the ROI intensity mask, not discretised.
    discretisation : {"none", "fixed_bin_size", "fixed_bin_number"}
        The IVH case (see the module docstring).
    bin_width : float, optional
        Bin width w_b in intensity units, for ``"fixed_bin_size"``.
    n_bins : int, optional
        Number of bins N_g, for ``"fixed_bin_number"`` (IBSI recommends 1000).
    value_range : (float or None, float or None), optional
        The re-segmentation range (lower, upper) in intensity units, when one applies to the
        IVH; ``None`` or a non-finite end means open. Ignored for ``"fixed_bin_number"``.

    Returns
    -------
    dict[str, float]
        ``ivh_v10``, ``ivh_v90`` (volume fractions), ``ivh_i10``, ``ivh_i90`` (intensities
        on the IVH grid: HU, bin centres or bin numbers) and their differences. Features
        the input leaves undefined (empty ROI, a range of zero width, no grid intensity
        below the volume fraction) are NaN, with a `MedscaleWarning`.

    Raises
    ------
    ConfigError
        Unknown `discretisation`, or its parameter missing or out of range.
    InputError
        Some intensities are NaN or infinite.

    Notes
    -----
    :math:`\\nu_i = 1 - |\\{k : X_{d,gl,k} < i\\}| / N_v` is evaluated at every grid intensity
    :math:`i = \\min G + k w_d \\le \\max G`, present in the ROI or not (and beyond
    :math:`\\max G` up to the highest voxel, if one lies there).
    :math:`V_x` is :math:`\\nu` at the lowest :math:`i` with :math:`\\gamma_i \\ge x`;
    :math:`I_x` is the lowest :math:`i` with :math:`\\nu_i \\le x`.

    Examples
    --------
    >>> import numpy as np
    >>> out = compute(np.arange(1.0, 11.0), discretisation="none")
    >>> out["ivh_v10"], out["ivh_i10"], out["ivh_i90"]
    (0.9, 10.0, 2.0)
    """
    _check_settings(discretisation, bin_width, n_bins)
    array = as_values(values, what="ivh.compute")
    if array.size == 0:
        return undefined(_NAMES, "the ROI intensity mask is empty")
    steps, g_min, g_max, step = _grid(
        array,
        discretisation=discretisation,
        bin_width=bin_width,
        n_bins=n_bins,
        value_range=value_range,
    )
    # the grid spans G, and goes on to the highest voxel when that lies beyond max G (a voxel
    # at the upper re-segmentation bound falls in the bin after it, for fixed bin size)
    last = max(math.floor((g_max - g_min) / step + 1e-9), math.ceil(float(steps.max()) - 1e-9))
    n_grid = max(int(last), 0) + 1
    grid_steps = np.arange(n_grid, dtype=np.float64)
    below = np.searchsorted(np.sort(steps), grid_steps, side="left")
    volume_fraction = 1.0 - below / array.size
    intensity = g_min + grid_steps * step
    features: dict[str, float] = {}
    span = g_max - g_min
    for fraction, v_name in ((0.10, "ivh_v10"), (0.90, "ivh_v90")):
        if span <= 0:
            features[v_name] = float("nan")
            continue
        gamma = grid_steps * step / span
        reached = np.flatnonzero(gamma >= fraction - 1e-12)
        features[v_name] = float(volume_fraction[reached[0]]) if reached.size else float("nan")
    for fraction, i_name in ((0.10, "ivh_i10"), (0.90, "ivh_i90")):
        at_most = np.flatnonzero(volume_fraction <= fraction + 1e-12)
        features[i_name] = float(intensity[at_most[0]]) if at_most.size else float("nan")
    features["ivh_diff_v10_v90"] = features["ivh_v10"] - features["ivh_v90"]
    features["ivh_diff_i10_i90"] = features["ivh_i10"] - features["ivh_i90"]
    missing = [name for name in _NAMES if math.isnan(features[name])]
    if missing:
        warnings.warn(
            f"{', '.join(missing)} undefined: intensity range G = [{g_min:g}, "
            f"{g_max:g}] of the IVH leaves them without a grid point; set to NaN",
            MedscaleWarning,
            stacklevel=2,
        )
    return features


def _compute_family(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
    ivh = settings.ivh
    value_range = settings.resegmentation.range if ivh.use_resegmentation_range else None
    return compute(
        inputs.values,
        discretisation=ivh.discretisation.value,
        bin_width=ivh.bin_width,
        n_bins=ivh.n_bins,
        value_range=value_range,
    )


FAMILY = Family(
    name=_FAMILY,
    features=FEATURES,
    needs=("values",),
    compute=_compute_family,
)
