"""IBSI-2 Laws kernels and energy maps (sec. 2.6)."""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, spatial_axes, working_float
from medscale.features.filters.rotation import pooled

__all__ = ["LAWS_KERNELS", "laws_energy", "laws_filter"]

#: The normalised 1-D Laws kernels of IBSI-2 table 2.
LAWS_KERNELS: dict[str, np.ndarray] = {
    "L3": np.array([1.0, 2.0, 1.0]) / np.sqrt(6.0),
    "E3": np.array([-1.0, 0.0, 1.0]) / np.sqrt(2.0),
    "S3": np.array([-1.0, 2.0, -1.0]) / np.sqrt(6.0),
    "L5": np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / np.sqrt(70.0),
    "E5": np.array([-1.0, -2.0, 0.0, 2.0, 1.0]) / np.sqrt(10.0),
    "S5": np.array([-1.0, 0.0, 2.0, 0.0, -1.0]) / np.sqrt(6.0),
    "W5": np.array([-1.0, 2.0, 0.0, -2.0, 1.0]) / np.sqrt(10.0),
    "R5": np.array([1.0, -4.0, 6.0, -4.0, 1.0]) / np.sqrt(70.0),
}


def parse_kernel(name: str, *, two_d: bool) -> list[np.ndarray]:
    """``"E5L5S5"`` -> kernels along x, y (and z)."""
    parts = re.findall(r"[A-Z]\d", name.upper())
    want = 2 if two_d else 3
    if (
        "".join(parts) != name.upper()
        or len(parts) != want
        or any(p not in LAWS_KERNELS for p in parts)
    ):
        raise ConfigError(
            f"unknown Laws kernel {name!r}: expected {want} of {', '.join(LAWS_KERNELS)}, "
            "e.g. 'E5L5S5' (3-D) or 'L5S5' (2-D)"
        )
    return [LAWS_KERNELS[p] for p in parts]


def _separable(array: np.ndarray, kernels: list[np.ndarray], mode: str) -> np.ndarray:
    out = array
    # first kernel along x (axis 2), then y (axis 1), then z (axis 0); convolution
    for kernel, axis in zip(kernels, (2, 1, 0), strict=False):
        out = ndimage.convolve1d(out, kernel, axis=axis, mode=mode, cval=0.0)
    return out


def laws_filter(
    array: np.ndarray,
    *,
    kernel: str,
    boundary: Boundary | str = "zero",
    two_d: bool = False,
    rot_inv: bool = False,
    pooling: str = "max",
) -> np.ndarray:
    """Laws response (z, y, x), optionally pooled over right-angle rotations.

    float32 for a float32 input, else float64.
    """
    spatial_axes(array.ndim, two_d=two_d)
    kernels = parse_kernel(kernel, two_d=two_d)
    mode = Boundary.coerce(boundary).ndimage_mode
    data = working_float(array)
    if not rot_inv:
        return _separable(data, kernels, mode)
    return pooled(data, lambda a: _separable(a, kernels, mode), two_d=two_d, pooling=pooling)


def laws_energy(
    response: np.ndarray, *, delta: int, boundary: Boundary | str = "zero", two_d: bool = False
) -> np.ndarray:
    """Energy map: mean of ``|response|`` over a (2 delta + 1) Chebyshev neighbourhood."""
    if delta < 0:
        raise ConfigError(f"Laws energy delta must be >= 0, got {delta}")
    axes = spatial_axes(response.ndim, two_d=two_d)
    size = [2 * delta + 1 if axis in axes else 1 for axis in range(response.ndim)]
    mode = Boundary.coerce(boundary).ndimage_mode
    return ndimage.uniform_filter(np.abs(response), size=size, mode=mode, cval=0.0)
