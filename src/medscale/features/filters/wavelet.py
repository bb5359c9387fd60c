"""IBSI-2 separable wavelets (sec. 2.8): undecimated (stationary, a trous) and decimated.

IBSI-2 defines the undecimated form (the response keeps the image grid, `wavelet_filter`).
The decimated form (`wavelet_filter` with ``decimated=True``, spec key ``decimated=true``) is
the classic PyWavelets ``wavedecn`` transform: at each level every filtered axis is convolved
with the decomposition filter and downsampled by 2, so a level-``j`` response lives on a
coarser grid.

The decimated grid
------------------
Along one axis of ``n`` samples a filter of ``F`` taps gives ``(n + F - 1) // 2`` coefficients
(PyWavelets' output length for the zero, nearest (``constant``), mirror (``symmetric``) and
periodic (``periodic``) modes): coefficient ``o`` is the full convolution at sample ``2 o + 1``,
centred on input position ``c(o) = 2 o + 1 - (F - 1) / 2``; its spacing is twice the input's.
Level ``j`` repeats this on the level ``j - 1`` all-low-pass coefficients (boundary
coefficients included, as ``wavedecn`` does). `decimated_mask` takes a mask to the same grid:
a coefficient is in the ROI when at least half of the 2 (per axis) input voxels nearest
``c(o)`` are, level after level. The feature engine computes a decimated response's features
on that grid with the morphological and intensity masks so downsampled and the spacing doubled
per level on the filtered axes. A decimated spec filters the whole grid (no ROI crop: the
grid's phase depends on where the image starts).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pywt
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, spatial_axes, working_float
from medscale.features.filters.rotation import pooled

__all__ = [
    "decimated_grid",
    "decimated_mask",
    "wavelet_bands",
    "wavelet_filter",
]


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


def _checked_band(band: str, level: int, axes: tuple[int, ...]) -> str:
    """`band` in upper case, or an error when it is not one L/H letter per axis or `level` < 1."""
    band = band.upper()
    if len(band) != len(axes) or set(band) - {"L", "H"}:
        raise ConfigError(f"wavelet band {band!r} must be {len(axes)} letters of L and H")
    if level < 1:
        raise ConfigError(f"wavelet level must be >= 1, got {level}")
    return band


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
    decimated: bool = False,
) -> np.ndarray:
    """Separable wavelet sub-band ``band`` ("LHL": x, y, z) at ``level``: undecimated (on the
    input grid), or with `decimated` PyWavelets' decimated coefficient on a coarser grid.

    Notes
    -----
    Undecimated, level ``j`` filters the level ``j - 1`` all-low-pass response with the
    PyWavelets decomposition filters upsampled by ``2**(j - 1)`` (a trous), keeping the grid.
    Decimated, the result equals PyWavelets' ``wavedecn(array, name, mode, level, axes)``
    coefficient of that band (mode: zero ``zero``, nearest ``constant``, mirror ``symmetric``,
    periodic ``periodic``) on the grid of the module docstring (`decimated_grid`); rotation
    invariance is not defined there (a rotated image's decimated grid is not the rotated grid).
    """
    axes = spatial_axes(array.ndim, two_d=two_d)
    band = _checked_band(band, level, axes)
    if decimated:
        if rot_inv:
            raise ConfigError("a decimated wavelet cannot be rotation invariant")
        return _decimated(working_float(array), name, band, level, _pywt_mode(boundary), axes)
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


def _pywt_mode(boundary: Boundary | str) -> str:
    rule = Boundary.coerce(boundary)
    return {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}[
        rule.value
    ]


def _downsample(data: np.ndarray, kernel: np.ndarray, axis: int, numpy_mode: str) -> np.ndarray:
    """PyWavelets' ``dwt`` along ``axis``: pad by F - 1, full convolution, odd samples."""
    taps = kernel.size
    widths = [(taps - 1, taps - 1) if a == axis else (0, 0) for a in range(data.ndim)]
    padded = np.pad(data, widths, mode=numpy_mode)  # type: ignore[call-overload]
    full = ndimage.convolve1d(padded, kernel, axis=axis, mode="constant", cval=0.0)
    count = (data.shape[axis] + taps - 1) // 2
    index = [slice(None)] * data.ndim
    # scipy centres a kernel at F // 2: the full convolution's sample 2 o + 1 is full[F//2 + 2 o]
    index[axis] = slice(taps // 2, taps // 2 + 2 * count, 2)
    return full[tuple(index)]


def _decimated(
    data: np.ndarray, name: str, band: str, level: int, mode: str, axes: tuple[int, ...]
) -> np.ndarray:
    low, high = _filters(name, 1)
    for lev in range(1, level + 1):
        letters = band if lev == level else "L" * len(axes)
        for letter, axis in zip(letters, sorted(axes, reverse=True), strict=True):
            if data.shape[axis] < low.size:
                raise ConfigError(
                    f"decimated {name} level {level}: the {low.size}-tap kernel is larger than "
                    f"the level-{lev} grid ({data.shape[axis]} samples along axis {axis}); "
                    "use a lower level"
                )
            data = _downsample(data, low if letter == "L" else high, axis, mode)
    return data


def decimated_mask(
    mask: np.ndarray, *, name: str, level: int = 1, two_d: bool = False
) -> np.ndarray:
    """``mask`` on the grid of a decimated `wavelet_filter` (module docstring): bool."""
    axes = spatial_axes(mask.ndim, two_d=two_d)
    taps = _filters(name, 1)[0].size
    data = np.asarray(mask, dtype=np.float64)
    for _ in range(level):
        for axis in axes:
            count = (data.shape[axis] + taps - 1) // 2
            widths = [(taps, taps) if a == axis else (0, 0) for a in range(data.ndim)]
            padded = np.pad(data, widths)
            # padded index of input position c(o) = 2 o + 1 - (F - 1) / 2, shifted by F
            centre = 2 * np.arange(count) + 1 - (taps - 1) / 2 + taps
            near = np.take(padded, np.floor(centre).astype(int), axis=axis)
            far = np.take(padded, np.ceil(centre).astype(int), axis=axis)
            data = (near + far) / 2
        data = (data >= 0.5).astype(np.float64)
    return data.astype(bool)


def decimated_grid(
    spacing: tuple[float, ...], *, name: str, level: int = 1, two_d: bool = False
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(spacing, index of coefficient 0) of the level-``level`` decimated grid, (z, y, x).

    The index is the input-grid position (fractional voxel index) of the first coefficient's
    centre, ``c(0) = 1 - (F - 1) / 2`` per level in that level's input units (module docstring);
    `medscale.image.Image.index_to_world` turns it into the decimated image's origin.
    """
    axes = spatial_axes(3, two_d=two_d)
    taps = _filters(name, 1)[0].size
    new_spacing, first = [float(v) for v in spacing], [0.0, 0.0, 0.0]
    for axis in axes:
        step = 1.0
        for _ in range(level):
            first[axis] += step * (1.0 - (taps - 1) / 2.0)
            step *= 2.0
        new_spacing[axis] *= step
    return (
        (new_spacing[0], new_spacing[1], new_spacing[2]),
        (first[0], first[1], first[2]),
    )
