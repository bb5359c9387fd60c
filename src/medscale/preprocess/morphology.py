"""Morphology with structuring elements sized in millimetres: erode, dilate, open, close, fill.

Boolean images (a `Mask`) get binary morphology; other images grey-level (flat) morphology.
The structuring element is the set of voxel offsets ``d`` (z, y, x) with
``Σ (d_i · spacing_i)² <= radius_mm²``: a ball in world units, so an ellipsoid in voxels
when the spacing is anisotropic. ``shape="disk"`` keeps it in-plane (one slice thick).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.image import Image
from medscale.params import require, require_finite
from medscale.preprocess.chain import STEPS

_SHAPES = ("ball", "disk")
_Operator = Callable[..., np.ndarray]  # scipy.ndimage binary_* (array, structure) or grey_*


def structuring_element(
    radius_mm: float, spacing: tuple[float, float, float], *, shape: str = "ball"
) -> np.ndarray:
    """Boolean footprint (z, y, x) of a ball (or in-plane disk) of `radius_mm`.

    Examples
    --------
    >>> structuring_element(1.0, (2.0, 1.0, 1.0)).shape
    (1, 3, 3)
    >>> int(structuring_element(2.0, (2.0, 1.0, 1.0)).sum())  # 13 in-plane + 2 above/below
    15
    """
    if shape not in _SHAPES:
        raise ConfigError(f"morphology: parameter 'shape' must be one of {_SHAPES}, got {shape!r}")
    require(radius_mm > 0, "morphology", "radius_mm", "> 0 mm", radius_mm)
    spacing_arr = np.asarray(spacing, dtype=float)
    half = np.floor(radius_mm / spacing_arr + 1e-9).astype(int)
    if shape == "disk":
        half[0] = 0
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    distance2 = sum((g * s) ** 2 for g, s in zip(grids, spacing_arr, strict=True))
    return distance2 <= radius_mm**2 * (1 + 1e-9)


def image_footprint(image: Image, radius_mm: float, shape: str = "ball") -> np.ndarray:
    """`structuring_element` of `radius_mm` and `shape` on the grid of `image`; always an
    in-plane disk for a 2-D image (one slice)."""
    return structuring_element(radius_mm, image.spacing, shape="disk" if image.is_2d else shape)


def _footprint(image: Image, radius_mm: float, shape: str, op: str) -> np.ndarray:
    if shape not in _SHAPES:
        raise ConfigError(f"{op}: parameter 'shape' must be one of {_SHAPES}, got {shape!r}")
    require(radius_mm > 0, op, "radius_mm", "> 0 mm", radius_mm)
    require_finite(image, op)
    return image_footprint(image, radius_mm, shape)


def _is_binary(image: Image) -> bool:
    return image.array.dtype == bool


def _apply(
    image: Image, radius_mm: float, shape: str, op: str, binary: _Operator, grey: _Operator
) -> Image:
    """`binary` (masks) or `grey` (grey images) of the image with the element of `op`."""
    footprint = _footprint(image, radius_mm, shape, op)
    if _is_binary(image):
        return image.with_array(binary(image.array, footprint))
    return image.with_array(grey(image.array, footprint=footprint))


def _binary_closing_padded(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Binary closing of `mask` padded (edge) by the element's half-width, cropped back."""
    pad = [(h // 2, h // 2) for h in footprint.shape]
    closed = ndimage.binary_closing(np.pad(mask, pad, mode="edge"), footprint)
    return closed[tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, mask.shape, strict=True))]


@STEPS.register("erode")
def erode(image: Image, *, radius_mm: float = 1.0, shape: str = "ball") -> Image:
    """Erosion (minimum over the structuring element); outside the grid counts as background
    for masks and is ignored for grey images."""
    return _apply(image, radius_mm, shape, "erode", ndimage.binary_erosion, ndimage.grey_erosion)


@STEPS.register("dilate")
def dilate(image: Image, *, radius_mm: float = 1.0, shape: str = "ball") -> Image:
    """Dilation (maximum over the structuring element)."""
    return _apply(image, radius_mm, shape, "dilate", ndimage.binary_dilation, ndimage.grey_dilation)


@STEPS.register("opening")
def opening(image: Image, *, radius_mm: float = 1.0, shape: str = "ball") -> Image:
    """Opening: erosion then dilation; removes bright details smaller than the element."""
    return _apply(image, radius_mm, shape, "opening", ndimage.binary_opening, ndimage.grey_opening)


@STEPS.register("closing")
def closing(image: Image, *, radius_mm: float = 1.0, shape: str = "ball") -> Image:
    """Closing: dilation then erosion; fills dark gaps smaller than the element.

    Binary closing pads the grid by the element's half-width first, so that objects touching
    the border are not eaten away (SciPy's plain closing erodes them).
    """
    return _apply(image, radius_mm, shape, "closing", _binary_closing_padded, ndimage.grey_closing)


@STEPS.register("fill_holes")
def fill_holes(image: Image, *, slicewise: bool = False) -> Image:
    """Fill holes: background regions not connected to the grid border.

    Masks get `scipy.ndimage.binary_fill_holes`; grey images are filled by morphological
    reconstruction by erosion (regional minima not connected to the border are raised).
    With `slicewise`, each z slice is filled in 2-D (e.g. lung fields open at the apex).
    """
    require_finite(image, "fill_holes")
    array = image.array
    if slicewise or image.is_2d:
        structure = np.zeros((3, 3, 3), dtype=bool)
        structure[1] = ndimage.generate_binary_structure(2, 1)
    else:
        structure = ndimage.generate_binary_structure(3, 1)
    if _is_binary(image):
        return image.with_array(ndimage.binary_fill_holes(array, structure))
    from skimage.morphology import reconstruction

    seed = np.full_like(array, array.max())
    if slicewise or image.is_2d:
        seed[:, 0, :], seed[:, -1, :] = array[:, 0, :], array[:, -1, :]
        seed[:, :, 0], seed[:, :, -1] = array[:, :, 0], array[:, :, -1]
    else:
        border = np.ones(array.shape, dtype=bool)
        border[1:-1, 1:-1, 1:-1] = False
        seed[border] = array[border]
    out = reconstruction(seed, array, method="erosion", footprint=structure)
    return image.with_array(out.astype(array.dtype, copy=False))
