"""Intensity normalisation: z-score, min-max and percentile scaling."""

from __future__ import annotations

import numpy as np

from medscale.image import Image
from medscale.params import float_dtype, new_image, require, require_finite
from medscale.preprocess.chain import STEPS


@STEPS.register("zscore")
def zscore(image: Image) -> Image:
    """Subtract the mean and divide by the standard deviation of all voxels.

    A constant image becomes all zeros.

    Examples
    --------
    >>> import numpy as np
    >>> out = zscore(Image(np.array([[1.0, 2.0, 3.0]])))
    >>> np.round(out.array.ravel(), 4).tolist()
    [-1.2247, 0.0, 1.2247]
    """
    require_finite(image, "zscore")
    dtype = float_dtype(image.array)
    array = image.array.astype(dtype)
    mean, std = float(array.mean(dtype=np.float64)), float(array.std(dtype=np.float64))
    array -= dtype.type(mean)
    if std > 0:
        array /= dtype.type(std)
    return new_image(image, array, units="z-score")


@STEPS.register("minmax")
def minmax(image: Image, *, out_min: float = 0.0, out_max: float = 1.0) -> Image:
    """Scale linearly so that the image minimum maps to `out_min` and its maximum to `out_max`.

    A constant image becomes `out_min` everywhere.
    """
    require(out_max > out_min, "minmax", "out_max", f"> out_min ({out_min})", out_max)
    require_finite(image, "minmax")
    return _scale(
        image, float(image.array.min()), float(image.array.max()), out_min, out_max, clip=False
    )


@STEPS.register("percentile")
def percentile(
    image: Image,
    *,
    lower: float = 1.0,
    upper: float = 99.0,
    out_min: float = 0.0,
    out_max: float = 1.0,
) -> Image:
    """Clip to the `lower` and `upper` percentiles and scale that range to [out_min, out_max].

    Parameters
    ----------
    lower, upper : float, percent
        0 <= lower < upper <= 100.
    """
    require(0 <= lower < 100, "percentile", "lower", "in [0, 100)", lower)
    require(lower < upper <= 100, "percentile", "upper", f"in ({lower}, 100]", upper)
    require(out_max > out_min, "percentile", "out_max", f"> out_min ({out_min})", out_max)
    require_finite(image, "percentile")
    values = image.array.view(np.uint8) if image.array.dtype == bool else image.array
    low, high = np.percentile(values, [lower, upper])
    return _scale(image, float(low), float(high), out_min, out_max, clip=True)


def _scale(
    image: Image, low: float, high: float, out_min: float, out_max: float, *, clip: bool
) -> Image:
    dtype = float_dtype(image.array)
    array = image.array.astype(dtype)
    if clip:
        np.clip(array, low, high, out=array)
    if high > low:
        array -= dtype.type(low)
        array *= dtype.type((out_max - out_min) / (high - low))
        array += dtype.type(out_min)
        np.clip(array, out_min, out_max, out=array)  # float32 rounding may overshoot by 1 ulp
    else:
        array[...] = out_min
    return new_image(image, array, units="normalised")
