"""Intensity transforms: CT windowing, histogram equalisation, CLAHE and unsharp masking."""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.image import Image
from medscale.params import float_dtype, new_image, require, require_finite
from medscale.preprocess.chain import STEPS
from medscale.preprocess.denoise import sigma_voxels

log = logging.getLogger(__name__)

#: CT window presets: name -> (level, width) in HU.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "soft_tissue": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "liver": (60.0, 160.0),
}

_WINDOW_OUTPUTS = ("hu", "unit", "uint8")


def window_bounds(
    *, preset: str | None = None, level: float | None = None, width: float | None = None
) -> tuple[float, float]:
    """(lower, upper) HU of a window from a preset or a level/width pair.

    Explicit `level` or `width` override the preset's.

    Examples
    --------
    >>> window_bounds(preset="lung")
    (-1350.0, 150.0)
    >>> window_bounds(level=40, width=80)
    (0.0, 80.0)
    """
    preset_level, preset_width = None, None
    if preset is not None:
        key = preset.strip().lower().replace("-", "_")
        if key not in WINDOW_PRESETS:
            raise ConfigError(
                f"window: parameter 'preset' must be one of "
                f"{sorted(WINDOW_PRESETS)}, got {preset!r}"
            )
        preset_level, preset_width = WINDOW_PRESETS[key]
    level = preset_level if level is None else level
    width = preset_width if width is None else width
    if level is None or width is None:
        raise ConfigError("window: give 'preset' or both 'level' and 'width' (HU)")
    require(bool(np.isfinite(level)), "window", "level", "a finite number of HU", level)
    require(bool(np.isfinite(width)) and width > 0, "window", "width", "> 0 HU", width)
    return float(level - width / 2), float(level + width / 2)


@STEPS.register("window")
def window(
    image: Image,
    *,
    preset: str | None = None,
    level: float | None = None,
    width: float | None = None,
    output: str = "hu",
) -> Image:
    """Clip to a CT window given by a preset (lung, mediastinum, bone, brain, ...) or level/width.

    Parameters
    ----------
    preset : str, optional
        One of `WINDOW_PRESETS`.
    level, width : float, HU, optional
        Window centre and width; they override the preset's.
    output : {"hu", "unit", "uint8"}
        ``hu`` keeps HU clipped to ``[level - width/2, level + width/2]``; ``unit`` maps that
        range linearly to [0, 1]; ``uint8`` to 0..255.

    Notes
    -----
    A plain linear window with hard bounds (DICOM PS3.3 C.11.2.1.2 without the half-voxel
    offsets of the VOI LUT).
    """
    lower, upper = window_bounds(preset=preset, level=level, width=width)
    if output not in _WINDOW_OUTPUTS:
        raise ConfigError(
            f"window: parameter 'output' must be one of {_WINDOW_OUTPUTS}, got {output!r}"
        )
    require_finite(image, "window")
    dtype = float_dtype(image.array)
    clipped = np.clip(image.array, lower, upper, dtype=dtype)
    if output == "hu":
        return new_image(image, clipped)
    scaled = (clipped - dtype.type(lower)) / dtype.type(upper - lower)
    if output == "unit":
        return new_image(image, scaled, units="window fraction")
    return new_image(image, np.rint(scaled * 255).astype(np.uint8), units="grey level")


def _unit_range(array: np.ndarray) -> np.ndarray:
    low, high = float(array.min()), float(array.max())
    scaled = array.astype(float_dtype(array))
    if high > low:
        return (scaled - low) / (high - low)
    return np.zeros_like(scaled)


@STEPS.register("equalize")
def equalize(image: Image, *, n_bins: int = 256) -> Image:
    """Global histogram equalisation to [0, 1] (`skimage.exposure.equalize_hist`).

    Parameters
    ----------
    n_bins : int
        Number of histogram bins (>= 2).

    Notes
    -----
    Each voxel becomes the cumulative distribution of the image histogram at its value.
    """
    from skimage.exposure import equalize_hist

    require(n_bins >= 2, "equalize", "n_bins", ">= 2", n_bins)
    require_finite(image, "equalize")
    array = image.array[0] if image.is_2d else image.array
    if array.dtype == bool:
        array = array.view(np.uint8)
    out = equalize_hist(array, nbins=n_bins).astype(float_dtype(image.array), copy=False)
    return new_image(image, out, units="cumulative fraction")


@STEPS.register("clahe")
def clahe(
    image: Image, *, kernel_mm: float | None = None, clip_limit: float = 0.01, n_bins: int = 256
) -> Image:
    """Contrast-limited adaptive histogram equalisation to [0, 1] (2-D and 3-D).

    Parameters
    ----------
    kernel_mm : float, mm, optional
        Size of the contextual regions; by default 1/8 of the image extent per axis.
    clip_limit : float
        Clipping limit in (0, 1]; higher means more contrast.
    n_bins : int
        Grey levels of the histograms.

    Notes
    -----
    `skimage.exposure.equalize_adapthist` on the image min-max scaled to [0, 1]; the kernel
    size in voxels is ``kernel_mm / spacing`` per axis.
    """
    from skimage.exposure import equalize_adapthist

    require(0 < clip_limit <= 1, "clahe", "clip_limit", "in (0, 1]", clip_limit)
    require(n_bins >= 2, "clahe", "n_bins", ">= 2", n_bins)
    require(kernel_mm is None or kernel_mm > 0, "clahe", "kernel_mm", "> 0 mm", kernel_mm)
    require_finite(image, "clahe")
    array = image.array[0] if image.is_2d else image.array
    spacing = np.asarray(image.spacing[1:] if image.is_2d else image.spacing)
    kernel = None
    if kernel_mm is not None:
        kernel = tuple(int(k) for k in np.maximum(np.rint(kernel_mm / spacing), 1))
    out = equalize_adapthist(
        _unit_range(array), kernel_size=kernel, clip_limit=clip_limit, nbins=n_bins
    )
    return new_image(
        image, out.astype(float_dtype(image.array), copy=False), units="cumulative fraction"
    )


@STEPS.register("unsharp")
def unsharp(image: Image, *, sigma_mm: float = 1.0, amount: float = 1.0) -> Image:
    """Unsharp masking: ``image + amount · (image - gaussian(image, sigma_mm))``.

    Parameters
    ----------
    sigma_mm : float, mm
        Standard deviation of the blur that defines the detail removed.
    amount : float
        Gain of the detail added back (>= 0).
    """
    require(amount >= 0, "unsharp", "amount", ">= 0", amount)
    require_finite(image, "unsharp")
    sigma = sigma_voxels(sigma_mm, image, "unsharp")
    dtype = float_dtype(image.array)
    blurred = ndimage.gaussian_filter(image.array, sigma, output=dtype, mode="reflect")
    out = image.array.astype(dtype)
    out -= blurred
    out *= dtype.type(amount)
    out += image.array
    return new_image(image, out)
