"""IBSI-2 mean filter (sec. 2.4): the average over a cubic (3-D) or square (2-D) support."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, spatial_axes, working_float

__all__ = ["mean_filter"]


def mean_filter(
    array: np.ndarray, *, support: int, boundary: Boundary | str = "zero", two_d: bool = False
) -> np.ndarray:
    """Mean filter with an odd ``support`` (voxels) per axis; float64 (z, y, x) response."""
    if support < 1 or support % 2 == 0:
        raise ConfigError(f"mean filter support must be an odd number of voxels, got {support}")
    axes = spatial_axes(array.ndim, two_d=two_d)
    if any(support > array.shape[a] for a in axes):
        raise ConfigError(f"mean filter support {support} is larger than the image {array.shape}")
    size = [support if axis in axes else 1 for axis in range(array.ndim)]
    mode = Boundary.coerce(boundary).ndimage_mode
    return ndimage.uniform_filter(working_float(array), size=size, mode=mode, cval=0.0)
