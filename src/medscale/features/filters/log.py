"""IBSI-2 Laplacian of Gaussian (sec. 2.5)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.features.filters.base import Boundary, check_sigma, spatial_axes

__all__ = ["log_filter"]


def log_filter(
    array: np.ndarray,
    *,
    sigma_mm: float,
    spacing_mm: tuple[float, ...],
    truncate: float = 4.0,
    boundary: Boundary | str = "zero",
    two_d: bool = False,
) -> np.ndarray:
    """Laplacian of Gaussian, kernel cut at ``truncate`` sigma; float64 (z, y, x) response.

    Notes
    -----
    The kernel is the Laplacian of a unit-sum Gaussian in voxel units,
    ``sum_k d^2 G / dx_k^2`` (not scale-normalised), which reproduces the IBSI-2 maps 2.a-2.c.
    """
    axes = spatial_axes(array.ndim, two_d=two_d)
    sigma_vox = check_sigma(sigma_mm, spacing_mm, axes)
    mode = Boundary.coerce(boundary).ndimage_mode
    sigmas = [sigma_vox if axis in axes else 0.0 for axis in range(array.ndim)]
    data = array.astype(np.float64)
    response = np.zeros_like(data)
    for axis in axes:
        orders = [2 if a == axis else 0 for a in range(array.ndim)]
        response += ndimage.gaussian_filter(
            data, sigmas, order=orders, mode=mode, cval=0.0, truncate=truncate
        )
    return response
