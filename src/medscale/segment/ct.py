"""Anatomical masks for CT: the body and the lung fields, from HU thresholds and connectivity."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.image import Image, Mask
from medscale.params import require
from medscale.preprocess.morphology import structuring_element
from medscale.segment.methods import METHODS, as_mask

_FULL = np.ones((3, 3, 3), dtype=bool)
_IN_PLANE = ndimage.generate_binary_structure(3, 1)
_IN_PLANE[0] = _IN_PLANE[2] = False


def _largest(mask: np.ndarray, count: int = 1) -> np.ndarray:
    labels, n = ndimage.label(mask, structure=_FULL)
    if n <= count:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return np.isin(labels, np.argsort(sizes)[::-1][:count] + 1)


@METHODS.register("body")
def body(image: Image, *, threshold_hu: float = -500.0) -> Mask:
    """The patient's body on CT: voxels above `threshold_hu`, largest component, holes filled.

    Parameters
    ----------
    threshold_hu : float, HU
        Air/tissue boundary (default -500 HU).

    Notes
    -----
    Holes (lungs, bowel gas) are filled slice by slice, so the lungs are inside the body.
    The table is usually a separate component and dropped.
    """
    require(-1000 < threshold_hu < 500, "body", "threshold_hu", "in (-1000, 500) HU", threshold_hu)
    tissue = image.array > threshold_hu
    opened = ndimage.binary_opening(tissue, structuring_element(2.0, image.spacing, shape="disk"))
    largest = _largest(opened if opened.any() else tissue)
    return as_mask(image, ndimage.binary_fill_holes(largest, _IN_PLANE))


@METHODS.register("lungs")
def lungs(
    image: Image,
    *,
    threshold_hu: float = -320.0,
    min_volume_ml: float = 5.0,
    closing_mm: float = 3.0,
) -> Mask:
    """The lung fields on CT: air inside the body, the two largest components, vessels filled.

    Parameters
    ----------
    threshold_hu : float, HU
        Voxels below it inside the body are air (lung, airways); default -320 HU.
    min_volume_ml : float, ml
        A second component smaller than this is not a lung (trachea, bowel gas).
    closing_mm : float, mm
        In-plane closing radius that takes in vessels and nodules at the lung border.

    Notes
    -----
    Body from `body`; the air outside it is excluded; the two largest remaining air components
    (26-connectivity) are kept, then closed and hole-filled slice by slice.
    """
    require(-1000 < threshold_hu < 0, "lungs", "threshold_hu", "in (-1000, 0) HU", threshold_hu)
    require(min_volume_ml >= 0, "lungs", "min_volume_ml", ">= 0 ml", min_volume_ml)
    require(closing_mm >= 0, "lungs", "closing_mm", ">= 0 mm", closing_mm)
    inside = body(image).array
    air = (image.array < threshold_hu) & inside
    labels, n = ndimage.label(air, structure=_FULL)
    if n == 0:
        return as_mask(image, air)
    volumes = np.bincount(labels.ravel())[1:] * image.voxel_volume_mm3 / 1000.0
    order = np.argsort(volumes)[::-1][:2]
    keep = [int(i) + 1 for i in order if volumes[i] >= min_volume_ml] or [int(order[0]) + 1]
    fields = np.isin(labels, keep)
    if closing_mm > 0:
        disk = structuring_element(closing_mm, image.spacing, shape="disk")
        fields = ndimage.binary_closing(fields, disk) | fields
    return as_mask(image, ndimage.binary_fill_holes(fields, _IN_PLANE))
