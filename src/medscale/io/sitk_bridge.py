"""Conversion between `Image` and SimpleITK, the only place where axis order flips.

SimpleITK indexes (x, y, z); medscale arrays are (z, y, x). SimpleITK's direction is a row-major
3 x 3 matrix whose columns are the x, y, z index axes; ours has columns z, y, x.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import GeometryError, InputError
from medscale.image import Image, Mask


def to_sitk(image: Image) -> Any:
    """A SimpleITK image with the voxels and exact geometry of `image` (copies the voxels)."""
    import SimpleITK as sitk

    array = image.array
    if array.dtype == bool:
        array = array.astype(np.uint8)
    result = sitk.GetImageFromArray(np.ascontiguousarray(array))
    result.SetSpacing(tuple(reversed(image.spacing)))
    result.SetOrigin(image.origin)
    result.SetDirection(tuple(image.direction_matrix[:, ::-1].ravel()))
    return result


def geometry_from_sitk(sitk_image: Any) -> dict[str, Any]:
    """spacing (z, y, x), origin (x, y, z) and direction (columns z, y, x) of a 2-D or 3-D image."""
    dimension = sitk_image.GetDimension()
    if dimension == 2:
        sx, sy = sitk_image.GetSpacing()
        ox, oy = sitk_image.GetOrigin()
        d = np.array(sitk_image.GetDirection()).reshape(2, 2)
        direction = np.eye(3)
        direction[:2, :2] = d
        return {
            "spacing": (1.0, sy, sx),
            "origin": (ox, oy, 0.0),
            "direction": direction[:, ::-1],
        }
    if dimension != 3:
        raise GeometryError(f"only 2-D and 3-D images are supported, got {dimension}-D")
    direction = np.array(sitk_image.GetDirection()).reshape(3, 3)
    return {
        "spacing": tuple(reversed(sitk_image.GetSpacing())),
        "origin": sitk_image.GetOrigin(),
        "direction": direction[:, ::-1],
    }


def from_sitk(sitk_image: Any, *, meta: dict[str, Any] | None = None) -> Image:
    """An `Image` from a SimpleITK image (2-D images become one slice, z = 1)."""
    import SimpleITK as sitk

    if sitk_image.GetNumberOfComponentsPerPixel() != 1:
        raise GeometryError(
            f"expected a scalar image, got {sitk_image.GetNumberOfComponentsPerPixel()} "
            "components per pixel; convert colour images to grey first"
        )
    array = sitk.GetArrayFromImage(sitk_image)
    return Image(array, **geometry_from_sitk(sitk_image), meta=meta or {})


def mask_from_sitk(sitk_image: Any) -> Mask:
    """A `Mask` from a SimpleITK label image holding 0 and 1."""
    image = from_sitk(sitk_image)
    return Mask(image.array, image.spacing, image.origin, image.direction)


def read_header(path: Path) -> Any:
    """A SimpleITK reader of `path` that has read the header only (size, pixel type, geometry:
    `geometry_from_sitk` takes it as it takes an image).

    Raises
    ------
    InputError
        SimpleITK cannot read the header; the message names the file.
    """
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as err:
        raise InputError(f"{path}: cannot read ({str(err).strip().splitlines()[-1]})") from err
    return reader
