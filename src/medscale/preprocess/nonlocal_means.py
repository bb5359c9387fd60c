"""Non-local means denoising with patch and search radii in millimetres (anisotropic voxels).

The radii are converted to voxels per axis with the image spacing, as the morphology steps
size their structuring elements: a radius of ``r`` mm covers the offsets ``k`` along axis
``i`` with ``|k| · spacing_i <= r``. On a CT grid of 0.7 x 0.7 x 2.5 mm a 1 mm patch radius is
therefore 1 voxel in-plane and 0 voxels (one slice) along z.

scikit-image's `denoise_nl_means` takes one voxel size for every axis, so it cannot follow
anisotropic spacing; this module computes the same fast (shift-outer-loop) algorithm with a
per-axis patch and search box, vectorised over the whole volume for each shift.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
from scipy import ndimage

from medscale.image import Image
from medscale.params import float_dtype, new_image, per_axis, require, require_finite
from medscale.preprocess.chain import STEPS

log = logging.getLogger(__name__)

Radii = tuple[int, int, int]


def radius_voxels(
    radius_mm: float | tuple[float, ...], image: Image, op: str, key: str
) -> tuple[int, int, int]:
    """Per-axis (z, y, x) half-widths in voxels: ``floor(radius_mm / spacing)``; 0 along z in 2-D.

    Raises
    ------
    ConfigError
        When a radius is not a positive finite number of mm (naming `op` and `key`).

    Examples
    --------
    >>> radius_voxels(1.0, Image(np.zeros((4, 4, 4)), spacing=(2.5, 0.7, 0.7)), "nlmeans", "r")
    (0, 1, 1)
    """
    radius = per_axis(radius_mm, image, op, key)
    require(
        bool(np.all(np.isfinite(radius))) and bool(np.all(radius > 0)),
        op,
        key,
        "> 0 mm (one number or three, z, y, x)",
        radius_mm,
    )
    voxels = np.floor(radius / np.asarray(image.spacing) + 1e-9).astype(int)
    if image.is_2d:
        voxels[0] = 0
    z, y, x = (int(v) for v in voxels)
    return z, y, x


def nl_means_voxels(array: np.ndarray, *, patch: Radii, search: Radii, h: float) -> np.ndarray:
    """Non-local means of a 3-D array with per-axis patch and search half-widths in voxels.

    Parameters
    ----------
    array : ndarray, shape (z, y, x), float32 or float64
        Image to denoise; the computation runs in this dtype.
    patch : tuple of 3 int, voxels
        Half-widths ``p`` of the compared patches (a box of ``2p + 1`` voxels per axis).
    search : tuple of 3 int, voxels
        Half-widths ``s`` of the search box around each voxel.
    h : float, image units
        Filtering strength (> 0).

    Returns
    -------
    ndarray
        Same shape and dtype as `array`.

    Notes
    -----
    ``u'(x) = Σ_y w(x, y) u(y) / Σ_y w(x, y)`` over the search box ``|y_i - x_i| <= s_i``, with
    ``w(x, y) = exp(-‖P(x) - P(y)‖² / (|P| h²))``, ``P`` the patch box and ``‖·‖²`` the sum
    of squared differences over it. Edges are mirrored (``numpy.pad`` ``"reflect"``). For each
    shift ``t`` the patch distances of all voxels come from one box filter of the squared
    difference image, and the symmetry ``w(x, x + t) = w(x + t, x)`` serves ``t`` and ``-t``
    at once (Darbon et al., ISBI 2008; Froment, IPOL 2014;4:300-326).
    """
    shape = np.asarray(array.shape)
    patch_arr, search_arr = np.asarray(patch), np.asarray(search)
    pad = patch_arr + search_arr
    padded = np.pad(array, [(int(p), int(p)) for p in pad], mode="reflect")
    scale = array.dtype.type(-1.0 / (h * h))
    inner = _box(pad, shape, np.zeros(3, dtype=int))
    numerator = padded[inner].copy()  # the shift t = 0 has weight 1
    denominator = np.ones(array.shape, dtype=array.dtype)
    product = np.empty(array.shape, dtype=array.dtype)
    # one buffer for the squared differences of every shift (no allocation per shift)
    buffer = np.empty(int(np.prod(shape + 2 * pad)), dtype=array.dtype)
    ranges = (range(-s, s + 1) for s in search)
    for shift in itertools.product(*ranges):
        if shift <= (0, 0, 0):  # each pair of shifts +t, -t once; t = 0 done above
            continue
        t = np.asarray(shift)
        low = pad - np.maximum(t, 0)  # weights needed at x (for +t) and at x - t (for -t)
        high = pad + shape + np.maximum(-t, 0)
        here = tuple(slice(lo - p, hi + p) for lo, hi, p in zip(low, high, patch_arr, strict=True))
        there = tuple(slice(s.start + d, s.stop + d) for s, d in zip(here, t, strict=True))
        size = high - low + 2 * patch_arr
        weight = buffer[: int(np.prod(size))].reshape(tuple(int(n) for n in size))
        np.subtract(padded[here], padded[there], out=weight)
        np.square(weight, out=weight)
        for axis, half in enumerate(patch):
            if half:
                ndimage.uniform_filter1d(weight, 2 * half + 1, axis=axis, output=weight)
        weight = weight[tuple(slice(p, n - p) for p, n in zip(patch, weight.shape, strict=True))]
        weight *= scale
        np.exp(weight, out=weight)
        forward = weight[_box(pad - low, shape, np.zeros(3, dtype=int))]
        backward = weight[_box(pad - low, shape, -t)]
        denominator += forward
        denominator += backward
        numerator += np.multiply(forward, padded[_box(pad, shape, t)], out=product)
        numerator += np.multiply(backward, padded[_box(pad, shape, -t)], out=product)
    numerator /= denominator
    return numerator


def _box(start: np.ndarray, size: np.ndarray, shift: np.ndarray) -> tuple[slice, ...]:
    return tuple(
        slice(int(a + d), int(a + d + n)) for a, n, d in zip(start, size, shift, strict=True)
    )


@STEPS.register("nlmeans")
def nlmeans(
    image: Image,
    *,
    h: float | None = None,
    patch_radius_mm: float | tuple[float, ...] = 1.0,
    search_radius_mm: float | tuple[float, ...] = 4.0,
) -> Image:
    """Non-local means denoising with patch and search radii in mm (spacing respected).

    Parameters
    ----------
    image : Image
        2-D or 3-D image; a 2-D image is processed in-plane.
    h : float, image units (HU for CT), optional
        Filtering strength; by default ``0.8 σ`` with σ the noise standard deviation estimated
        by `skimage.restoration.estimate_sigma`.
    patch_radius_mm : float or tuple of 3 floats (z, y, x), mm
        Half-width of the compared patches; ``floor(r / spacing)`` voxels per axis (0 voxels
        compares single voxels along that axis).
    search_radius_mm : float or tuple of 3 floats (z, y, x), mm
        Half-width of the search box; it must reach at least one neighbouring voxel.

    Returns
    -------
    Image
        float32 (float64 for float64 input), same grid.

    Raises
    ------
    ConfigError
        A radius that is not > 0 mm, a search box smaller than one voxel, or ``h <= 0``.
    InputError
        An image holding NaN or infinite values.

    Notes
    -----
    Buades A, Coll B, Morel JM. CVPR 2005;2:60-65. Weights
    ``exp(-‖P(x) - P(y)‖² / (|P| h²))``; see `nl_means_voxels`. The cost is proportional to
    the number of voxels times the number of search offsets, ``Π (2 s_i + 1) / 2``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy = Image(rng.normal(100, 10, (4, 16, 16)), spacing=(2.5, 0.7, 0.7))
    >>> out = nlmeans(noisy, h=10.0, search_radius_mm=(2.5, 1.4, 1.4))
    >>> bool(out.array.std() < 0.6 * noisy.array.std())
    True
    """
    op = "nlmeans"
    patch = radius_voxels(patch_radius_mm, image, op, "patch_radius_mm")
    search = radius_voxels(search_radius_mm, image, op, "search_radius_mm")
    smallest = min(image.spacing[1:] if image.is_2d else image.spacing)
    require(
        any(search),
        op,
        "search_radius_mm",
        f">= the smallest spacing ({smallest:.4g} mm) to reach a neighbouring voxel",
        search_radius_mm,
    )
    require(h is None or (np.isfinite(h) and h > 0), op, "h", "> 0 (image units)", h)
    require_finite(image, op)
    dtype = float_dtype(image.array)
    array = image.array.astype(dtype, copy=False)
    if h is None:
        h = 0.8 * float(_estimate_sigma(array, image.is_2d))
        log.debug("nlmeans: estimated h = %.4g", h)
        if h <= 0:
            return new_image(image, array.copy())
    log.debug("nlmeans: patch %s, search %s voxels (z, y, x), h = %.4g", patch, search, h)
    return new_image(image, nl_means_voxels(array, patch=patch, search=search, h=h))


def _estimate_sigma(array: np.ndarray, is_2d: bool) -> float:
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(array[0] if is_2d else array, channel_axis=None))
