"""Resampling to a new voxel spacing, keeping origin and direction."""

from __future__ import annotations

import logging

import numpy as np

from medscale.errors import ConfigError
from medscale.image import Image
from medscale.params import per_axis, require, require_finite
from medscale.preprocess.chain import STEPS

log = logging.getLogger(__name__)

INTERPOLATORS = ("nearest", "linear", "bspline")


def resampled_shape(image: Image, spacing_mm: np.ndarray) -> tuple[int, int, int]:
    """Voxel counts covering the same extent: ``round(n · spacing / new_spacing)``, at least 1."""
    extent = np.asarray(image.shape) * np.asarray(image.spacing)
    z, y, x = (int(n) for n in np.maximum(np.rint(extent / spacing_mm), 1))
    return z, y, x


@STEPS.register("resample")
def resample(
    image: Image,
    *,
    spacing_mm: float | tuple[float, ...] = 1.0,
    interpolator: str = "linear",
    fill_value: float | None = None,
) -> Image:
    """Resample onto a grid of `spacing_mm` with the same origin (voxel [0,0,0]) and direction.

    Parameters
    ----------
    spacing_mm : float or tuple of 3 floats, mm, (z, y, x)
        New voxel spacing; for a 2-D image two values (y, x) or one, z unchanged.
    interpolator : {"nearest", "linear", "bspline"}
        ``nearest`` for label maps (and masks, which always use it); ``bspline`` is cubic.
    fill_value : float, optional
        Value of new voxels outside the old grid; by default they take the nearest old voxel
        (nearest-neighbour extrapolation), so edges do not darken.

    Returns
    -------
    Image
        Integer and boolean dtypes are kept with ``nearest``; otherwise float32/float64.

    Notes
    -----
    SimpleITK ``Resample`` with an identity transform. The new grid has
    ``round(n · s / s')`` voxels per axis, so it covers the same world extent.
    """
    import SimpleITK as sitk

    from medscale.io.sitk_bridge import to_sitk

    if interpolator not in INTERPOLATORS:
        raise ConfigError(
            f"resample: parameter 'interpolator' must be one of {INTERPOLATORS}, "
            f"got {interpolator!r}"
        )
    spacing = per_axis(spacing_mm, image, "resample", "spacing_mm")
    require(bool(np.all(spacing > 0)), "resample", "spacing_mm", "> 0 mm per axis", spacing_mm)
    require_finite(image, "resample")
    if image.is_2d:
        spacing[0] = image.spacing[0]
    is_mask = image.array.dtype == bool
    if is_mask:
        interpolator = "nearest"
    shape = resampled_shape(image, spacing)
    if image.is_2d:
        shape = (1, *shape[1:])
    mode = {
        "nearest": sitk.sitkNearestNeighbor,
        "linear": sitk.sitkLinear,
        "bspline": sitk.sitkBSpline,
    }[interpolator]
    integer = np.issubdtype(image.dtype, np.integer) or is_mask
    out_type = (
        sitk.sitkUnknown
        if integer and interpolator == "nearest"
        else (sitk.sitkFloat64 if image.dtype == np.float64 else sitk.sitkFloat32)
    )
    fill = 0.0 if fill_value is None else float(fill_value)
    source = to_sitk(image)
    result = sitk.Resample(
        source,
        [int(n) for n in reversed(shape)],
        sitk.Transform(),
        mode,
        image.origin,
        tuple(float(s) for s in reversed(spacing)),
        source.GetDirection(),
        fill,
        out_type,
        fill_value is None,
    )
    array = sitk.GetArrayFromImage(result)
    if is_mask:
        array = array.astype(bool)
    return type(image)(array, tuple(spacing), image.origin, image.direction, image.meta)
