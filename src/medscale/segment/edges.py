"""Edge-based segmentation: edges (Sobel, gradient magnitude, Canny), then closing and filling."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError
from medscale.image import Image, Mask
from medscale.params import require
from medscale.preprocess.morphology import image_footprint
from medscale.segment.methods import METHODS, as_mask
from medscale.segment.threshold import otsu_value
from medscale.segment.watershed import gradient_magnitude

DETECTORS = ("sobel", "gradient", "canny")


def sobel_magnitude(image: Image) -> np.ndarray:
    """Sobel gradient magnitude in image units per mm (in-plane for 2-D images)."""
    array = image.array.astype(np.float32)
    axes = (1, 2) if image.is_2d else (0, 1, 2)
    squares = []
    for axis in axes:
        # the Sobel kernel sums 3 x (central difference over 2 voxels) per cross axis
        weight = 8.0 if image.is_2d else 32.0
        derivative = ndimage.sobel(array, axis=axis) / (weight / 2 * image.spacing[axis])
        squares.append(derivative**2)
    return np.sqrt(np.sum(squares, axis=0))


def edge_map(
    image: Image,
    *,
    detector: str = "sobel",
    sigma_mm: float = 1.0,
    threshold: float | None = None,
) -> np.ndarray:
    """Boolean edge voxels of `image` by `detector` (see `edges`)."""
    if detector not in DETECTORS:
        raise ConfigError(
            f"edges: parameter 'detector' must be one of {DETECTORS}, got {detector!r}"
        )
    require(sigma_mm > 0, "edges", "sigma_mm", "> 0 mm", sigma_mm)
    require(threshold is None or threshold > 0, "edges", "threshold", "> 0", threshold)
    if detector == "canny":
        return _canny(image, sigma_mm=sigma_mm, threshold=threshold)
    if detector == "sobel":
        magnitude = sobel_magnitude(image)
    else:
        magnitude = gradient_magnitude(image, sigma_mm=sigma_mm)
    if magnitude.max() == 0:
        return np.zeros(image.shape, dtype=bool)
    cut = otsu_value(magnitude) if threshold is None else threshold
    return magnitude > cut


def _canny(image: Image, *, sigma_mm: float, threshold: float | None) -> np.ndarray:
    import SimpleITK as sitk

    magnitude = gradient_magnitude(image, sigma_mm=sigma_mm)
    if magnitude.max() == 0:
        return np.zeros(image.shape, dtype=bool)
    upper = otsu_value(magnitude) if threshold is None else threshold
    array = image.array[0] if image.is_2d else image.array
    spacing = image.spacing[1:] if image.is_2d else image.spacing
    source = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    source.SetSpacing(tuple(reversed(spacing)))
    edges = sitk.CannyEdgeDetection(
        source, lowerThreshold=upper / 2, upperThreshold=upper, variance=[sigma_mm**2] * array.ndim
    )
    return sitk.GetArrayFromImage(edges).astype(bool).reshape(image.shape)


@METHODS.register("edges")
def edges(
    image: Image,
    *,
    detector: str = "sobel",
    sigma_mm: float = 1.0,
    threshold: float | None = None,
    closing_mm: float = 1.5,
    slicewise: bool = True,
) -> Mask:
    """Edge-based segmentation: detect edges, close gaps, fill the enclosed regions.

    Parameters
    ----------
    detector : {"sobel", "gradient", "canny"}
        Sobel operator, Gaussian gradient magnitude (`sigma_mm`), or Canny (SimpleITK,
        hysteresis between half and all of the threshold).
    sigma_mm : float, mm
        Smoothing of the gradient and Canny detectors.
    threshold : float, image units per mm, optional
        Edge strength threshold; Otsu's threshold of the gradient magnitude by default.
    closing_mm : float, mm
        Radius of the closing that joins broken edges (0 for none).
    slicewise : bool
        Fill enclosed regions slice by slice (objects cut by the volume ends still fill).

    Returns
    -------
    Mask
        Filled regions plus their edges.
    """
    require(closing_mm >= 0, "edges", "closing_mm", ">= 0 mm", closing_mm)
    found = edge_map(image, detector=detector, sigma_mm=sigma_mm, threshold=threshold)
    if closing_mm > 0:
        footprint = image_footprint(image, closing_mm)
        pad = [(h // 2, h // 2) for h in footprint.shape]
        closed = ndimage.binary_closing(np.pad(found, pad), footprint)
        found = closed[
            tuple(slice(lo, lo + n) for (lo, _), n in zip(pad, image.shape, strict=True))
        ]
    structure = ndimage.generate_binary_structure(3, 1)
    if slicewise or image.is_2d:
        structure[0] = structure[2] = False
    return as_mask(image, ndimage.binary_fill_holes(found, structure))
