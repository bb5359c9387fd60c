"""Denoising: Gaussian, median and bilateral filters, sized in millimetres.

Non-local means lives in `medscale.preprocess.nonlocal_means`.

Every function takes an `Image` (2-D or 3-D) and returns a new `Image` on the same grid.
Floating-point output is float64 for float64 input and float32 otherwise.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from medscale.image import Image
from medscale.params import float_dtype, new_image, per_axis, require, require_finite
from medscale.preprocess.chain import STEPS

log = logging.getLogger(__name__)


def sigma_voxels(sigma_mm: float | tuple[float, ...], image: Image, op: str) -> np.ndarray:
    """Per-axis (z, y, x) Gaussian sigma in voxels; 0 along z for a 2-D image."""
    sigma = per_axis(sigma_mm, image, op, "sigma_mm")
    require(
        bool(np.all(sigma >= 0)) and bool(np.any(sigma > 0)),
        op,
        "sigma_mm",
        "non-negative mm with at least one value > 0",
        sigma_mm,
    )
    voxels = sigma / np.asarray(image.spacing)
    if image.is_2d:
        voxels[0] = 0.0
    return voxels


@STEPS.register("gaussian")
def gaussian(
    image: Image, *, sigma_mm: float | tuple[float, ...] = 1.0, truncate: float = 4.0
) -> Image:
    """Gaussian smoothing with a standard deviation in mm (per axis z, y, x or one for all).

    Parameters
    ----------
    image : Image
        2-D or 3-D image; a 2-D image is smoothed in-plane only.
    sigma_mm : float or tuple of 3 floats, mm
        Standard deviation of the kernel, converted to voxels with the image spacing.
    truncate : float
        Kernel half-width in standard deviations (SciPy's ``truncate``).

    Returns
    -------
    Image
        float32 (float64 for float64 input), same grid.

    Notes
    -----
    Separable convolution with the sampled, normalised kernel
    ``g(n) ∝ exp(-n² / (2 σ²))`` with ``σ = sigma_mm / spacing``; edges mirrored
    (``mode="reflect"``), as `scipy.ndimage.gaussian_filter`.
    """
    require_finite(image, "gaussian")
    require(truncate > 0, "gaussian", "truncate", "> 0", truncate)
    sigma = sigma_voxels(sigma_mm, image, "gaussian")
    dtype = float_dtype(image.array)
    out = ndimage.gaussian_filter(
        image.array, sigma, output=dtype, mode="reflect", truncate=truncate
    )
    return new_image(image, out)


@STEPS.register("median")
def median(image: Image, *, size: int = 3) -> Image:
    """Median filter over a cube (square for 2-D) of `size` voxels per side.

    Parameters
    ----------
    size : int
        Odd window width in voxels (3, 5, ...); 2-D images are filtered in-plane.

    Notes
    -----
    SimpleITK ``Median`` (multi-threaded) with radius ``(size - 1) / 2``; edges replicate the
    border voxels. The dtype of the input is kept.
    """
    import SimpleITK as sitk

    require(size >= 1 and size % 2 == 1, "median", "size", "an odd number of voxels >= 1", size)
    require_finite(image, "median")
    array = image.array[0] if image.is_2d else image.array
    radius = (size - 1) // 2
    binary = array.dtype == bool
    source = sitk.GetImageFromArray(
        np.ascontiguousarray(array, dtype=np.uint8 if binary else None), isVector=False
    )
    out = sitk.GetArrayFromImage(sitk.Median(source, [radius] * array.ndim))
    return new_image(image, out.astype(bool) if binary else out)


@STEPS.register("bilateral")
def bilateral(image: Image, *, sigma_mm: float = 1.0, sigma_intensity: float = 50.0) -> Image:
    """Edge-preserving bilateral filter: spatial sigma in mm, range sigma in intensity units.

    Parameters
    ----------
    sigma_mm : float, mm
        Spatial (domain) standard deviation, in world units (the spacing is respected).
    sigma_intensity : float, image units (HU for CT)
        Range standard deviation: differences much larger than this are not averaged.

    Notes
    -----
    SimpleITK ``Bilateral``: weights ``exp(-|d|²/2σ_d²) · exp(-ΔI²/2σ_r²)``.
    """
    import SimpleITK as sitk

    require(sigma_mm > 0, "bilateral", "sigma_mm", "> 0 mm", sigma_mm)
    require(sigma_intensity > 0, "bilateral", "sigma_intensity", "> 0", sigma_intensity)
    require_finite(image, "bilateral")
    dtype = float_dtype(image.array)
    array = image.array[0] if image.is_2d else image.array
    source = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=dtype))
    spacing = image.spacing[1:] if image.is_2d else image.spacing
    source.SetSpacing(tuple(reversed(spacing)))
    out = sitk.GetArrayFromImage(sitk.Bilateral(source, sigma_mm, sigma_intensity))
    return new_image(image, out)
