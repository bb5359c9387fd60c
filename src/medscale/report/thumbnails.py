"""Image thumbnails with the mask outline, for reports."""

from __future__ import annotations

import numpy as np

from medscale.image import Image, Mask
from medscale.report.html import figure_to_png_base64


def overlay_thumbnail(
    image: Image,
    mask: Mask | None = None,
    *,
    window: tuple[float, float] | None = None,
    size_inches: float = 2.6,
) -> str:
    """A base64 PNG of the axial slice through the mask's centre, mask outlined in red.

    Parameters
    ----------
    image : Image
        Any 2-D or 3-D image.
    mask : Mask, optional
        Drawn as a contour; its largest slice is shown. Without it, the middle slice.
    window : (low, high), optional
        Display range in image units; default the 1st-99th percentile of the slice.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if mask is not None and not mask.is_empty:
        slice_index = int(np.argmax(mask.array.sum(axis=(1, 2))))
    else:
        slice_index = image.shape[0] // 2
    pixels = image.array[slice_index].astype(float)
    low, high = window if window is not None else np.percentile(pixels, (1, 99))
    aspect = image.spacing[1] / image.spacing[2]
    figure, axes = plt.subplots(figsize=(size_inches, size_inches))
    axes.imshow(pixels, cmap="gray", vmin=low, vmax=high, aspect=aspect, interpolation="nearest")
    if mask is not None and mask.array[slice_index].any():
        axes.contour(
            mask.array[slice_index].astype(float), levels=[0.5], colors="red", linewidths=1.0
        )
    axes.set_axis_off()
    return figure_to_png_base64(figure)
