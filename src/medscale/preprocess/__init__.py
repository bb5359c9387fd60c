"""Preprocessing steps on `Image`: denoise, window, equalise, sharpen, morphology, resample,
normalise, N4 bias correction; composable into a `Chain`.

Every step is a plain function ``step(image, *, params...) -> Image`` that keeps the geometry
(resample changes only the spacing and shape), registered by name in `STEPS`::

    from medscale.preprocess import Chain
    chain = Chain.from_specs(["gaussian:sigma_mm=1", "window:preset=lung"])
    smoothed = chain(image)
"""

from medscale.preprocess.bias import n4
from medscale.preprocess.chain import STEPS, Chain, StepCall, apply_steps
from medscale.preprocess.denoise import bilateral, gaussian, median
from medscale.preprocess.intensity import WINDOW_PRESETS, clahe, equalize, unsharp, window
from medscale.preprocess.morphology import (
    closing,
    dilate,
    erode,
    fill_holes,
    image_footprint,
    opening,
    structuring_element,
)
from medscale.preprocess.nonlocal_means import nlmeans
from medscale.preprocess.normalise import minmax, percentile, zscore
from medscale.preprocess.resample import resample

__all__ = [
    "STEPS",
    "WINDOW_PRESETS",
    "Chain",
    "StepCall",
    "apply_steps",
    "bilateral",
    "clahe",
    "closing",
    "dilate",
    "equalize",
    "erode",
    "fill_holes",
    "gaussian",
    "image_footprint",
    "median",
    "minmax",
    "n4",
    "nlmeans",
    "opening",
    "percentile",
    "resample",
    "structuring_element",
    "unsharp",
    "window",
    "zscore",
]
