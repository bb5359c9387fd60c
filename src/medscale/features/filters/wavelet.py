"""IBSI-2 separable wavelets, undecimated (stationary, a trous) (sec. 2.8)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pywt
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, spatial_axes, working_float
from medscale.features.filters.rotation import pooled

__all__ = ["wavelet_bands", "wavelet_filter"]


def _filters(name: str, level: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        wavelet = pywt.Wavelet(name)
    except ValueError:
        raise ConfigError(
            f"unknown wavelet {name!r}; expected a PyWavelets name such as haar, db2, coif1"
        ) from None
    low, high = np.asarray(wavelet.dec_lo), np.asarray(wavelet.dec_hi)
    step = 2 ** (level - 1)
    if step == 1:
        return low, high
    # a trous: each tap followed by step - 1 zeros (PyWavelets' swt upsampling)
    up_low = np.zeros(low.size * step)
    up_high = np.zeros_like(up_low)
    up_low[::step], up_high[::step] = low, high
    return up_low, up_high


def _band(
    array: np.ndarray, name: str, band: str, level: int, mode: str, axes: tuple[int, ...]
) -> np.ndarray:
    data = array
    for lev in range(1, level + 1):
        low, high = _filters(name, lev)
        letters = band if lev == level else "L" * len(axes)
        # letters run over x, y, z: axes 2, 1, 0
        for letter, axis in zip(letters, sorted(axes, reverse=True), strict=True):
            kernel = low if letter == "L" else high
            data = ndimage.convolve1d(data, kernel, axis=axis, mode=mode, cval=0.0)
    return data


def wavelet_filter(
    array: np.ndarray,
    *,
    name: str,
    band: str,
    level: int = 1,
    boundary: Boundary | str = "zero",
    two_d: bool = False,
    rot_inv: bool = False,
    pooling: str = "mean",
) -> np.ndarray:
    """Undecimated separable wavelet sub-band ``band`` ("LHL": x, y, z) at ``level``.

    Notes
    -----
    Level ``j`` filters the level ``j - 1`` all-low-pass response with the PyWavelets
    decomposition filters upsampled by ``2**(j - 1)`` (a trous), keeping the grid.
    """
    axes = spatial_axes(array.ndim, two_d=two_d)
    band = band.upper()
    if len(band) != len(axes) or set(band) - {"L", "H"}:
        raise ConfigError(f"wavelet band {band!r} must be {len(axes)} letters of L and H")
    if level < 1:
        raise ConfigError(f"wavelet level must be >= 1, got {level}")
    mode = Boundary.coerce(boundary).ndimage_mode
    data = working_float(array)

    def apply(a: np.ndarray) -> np.ndarray:
        return _band(a, name, band, level, mode, axes)

    if not rot_inv:
        return apply(data)
    return pooled(data, apply, two_d=two_d, pooling=pooling)


def wavelet_bands(
    array: np.ndarray,
    *,
    name: str,
    level: int = 1,
    boundary: Boundary | str = "zero",
    two_d: bool = False,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield every sub-band ``(band, response)`` of ``level``, sharing the 1-D passes.

    Depth first over x, y, z: 14 one-dimensional convolutions for the 8 3-D sub-bands instead
    of 24, and at most one partial response per axis held at a time. Equal to
    :func:`wavelet_filter` per band (no rotation invariance).
    """
    axes = spatial_axes(array.ndim, two_d=two_d)
    if level < 1:
        raise ConfigError(f"wavelet level must be >= 1, got {level}")
    mode = Boundary.coerce(boundary).ndimage_mode
    data = working_float(array)
    order = sorted(axes, reverse=True)
    for lev in range(1, level):
        low, _ = _filters(name, lev)
        for axis in order:
            data = ndimage.convolve1d(data, low, axis=axis, mode=mode, cval=0.0)
    low, high = _filters(name, level)

    def walk(partial: np.ndarray, depth: int, prefix: str) -> Iterator[tuple[str, np.ndarray]]:
        if depth == len(order):
            yield prefix, partial
            return
        for letter, kernel in (("L", low), ("H", high)):
            filtered = ndimage.convolve1d(partial, kernel, axis=order[depth], mode=mode, cval=0.0)
            yield from walk(filtered, depth + 1, prefix + letter)

    yield from walk(data, 0, "")
