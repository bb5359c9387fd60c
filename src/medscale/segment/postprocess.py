"""Post-processing of masks: largest component, minimum size, holes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.image import Mask
from medscale.params import require

_FULL = np.ones((3, 3, 3), dtype=bool)


def largest_component(mask: Mask, *, count: int = 1) -> Mask:
    """Keep the `count` largest connected components (26-connectivity).

    Examples
    --------
    >>> import numpy as np
    >>> array = np.zeros((1, 5, 9), bool); array[0, 1:4, 0:2] = True; array[0, 1:4, 4:9] = True
    >>> int(largest_component(Mask(array)).array.sum())
    15
    """
    require(count >= 1, "largest_component", "count", ">= 1", count)
    labels, n = ndimage.label(mask.array, structure=_FULL)
    if n <= count:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.argsort(sizes)[::-1][:count] + 1
    return mask.with_array(np.isin(labels, keep))


def remove_small(mask: Mask, *, min_size_mm3: float) -> Mask:
    """Drop connected components smaller than `min_size_mm3` (mm³, 26-connectivity)."""
    require(min_size_mm3 >= 0, "remove_small", "min_size_mm3", ">= 0 mm³", min_size_mm3)
    labels, n = ndimage.label(mask.array, structure=_FULL)
    if n == 0:
        return mask
    volumes = np.bincount(labels.ravel()) * mask.voxel_volume_mm3
    keep = volumes >= min_size_mm3
    keep[0] = False
    return mask.with_array(keep[labels])


def fill_mask_holes(mask: Mask, *, slicewise: bool = False) -> Mask:
    """Fill enclosed background (in 3-D, or in each z slice with `slicewise`)."""
    structure = ndimage.generate_binary_structure(3, 1)
    if slicewise or mask.is_2d:
        structure[0] = structure[2] = False
    return mask.with_array(ndimage.binary_fill_holes(mask.array, structure))
