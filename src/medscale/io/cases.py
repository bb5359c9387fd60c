"""A manifest row's image and mask (its ``image``, ``mask``, ``mask_label``, ``roi`` columns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medscale.errors import InputError
from medscale.image import Image, Mask
from medscale.io.formats import read_image, read_mask


def read_case(
    case: Mapping[str, Any], *, default_label: int | None = None, need_mask: bool = False
) -> tuple[Image, Mask | None]:
    """The image of a manifest row and its mask on the image's grid (None when it has none).

    ``mask_label`` (else `default_label`) picks one value of a label map; ``roi`` names the ROI
    of an RTSTRUCT or DICOM-SEG with several. An empty or NaN cell counts as absent.

    Raises
    ------
    InputError
        An empty image path, an unreadable file (named), or no mask when `need_mask`.
    """
    image_path = case.get("image")
    if not isinstance(image_path, str) or not image_path:
        raise InputError("the image path is empty")
    image = read_image(image_path)  # a missing path is an InputError naming it
    mask_path = case.get("mask")
    if not isinstance(mask_path, str) or not mask_path:
        if need_mask:
            raise InputError("a mask is needed; the mask path is empty")
        return image, None
    label = case.get("mask_label", default_label)
    roi = case.get("roi")
    mask = read_mask(
        mask_path,
        label=int(label) if label is not None and label == label else None,
        roi=str(roi) if isinstance(roi, str) else None,
        reference=image,
    )
    return image, mask
