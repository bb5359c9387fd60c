"""Marker-controlled watershed on the gradient magnitude (scikit-image)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medscale.image import Image, Mask
from medscale.params import require
from medscale.segment.methods import METHODS, as_mask, component_at, need_seed, seed_ball
from medscale.segment.region import seed_thresholds
from medscale.segment.shape import star_constrain


def gradient_magnitude(image: Image, *, sigma_mm: float) -> np.ndarray:
    """Gaussian gradient magnitude in image units per mm (2-D images: in-plane)."""
    sigma = np.asarray(sigma_mm / np.asarray(image.spacing))
    array = image.array.astype(np.float32)
    if image.is_2d:
        sigma[0] = 0
    gradients = []
    for axis in range(3):
        if image.is_2d and axis == 0:
            continue
        order = [0, 0, 0]
        order[axis] = 1
        derivative = ndimage.gaussian_filter(array, sigma, order=order) / image.spacing[axis]
        gradients.append(derivative**2)
    return np.sqrt(np.sum(gradients, axis=0))


@METHODS.register("watershed")
def watershed(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    sigma_mm: float = 1.0,
    seed_radius_mm: float = 2.0,
    window_mm: float = 25.0,
    leak_ratio: float = 1.1,
) -> Mask:
    """Watershed from markers: the object marker around the seed, the background from intensity.

    Parameters
    ----------
    seed : tuple of int, (z, y, x)
        A voxel inside the object (required).
    sigma_mm : float, mm
        Smoothing of the gradient magnitude that is flooded.
    seed_radius_mm : float, mm
        Radius of the object marker, and of the neighbourhood giving the seed statistics.
    window_mm : float, mm
        Window of the local Otsu threshold (see `region.seed_thresholds`).
    leak_ratio : float
        Star-shape prior against floods into touching structures (`shape.star_constrain`);
        0 disables it.

    Notes
    -----
    Background markers are the voxels outside the seed's intensity band, eroded by one voxel,
    plus the grid border; the object marker is a ball at the seed. Flooding the gradient
    magnitude (`skimage.segmentation.watershed`) places the boundary on the strongest edge
    between them.
    """
    from skimage.segmentation import watershed as flood

    seed = need_seed(seed, image, "watershed")
    require(sigma_mm > 0, "watershed", "sigma_mm", "> 0 mm", sigma_mm)
    require(seed_radius_mm > 0, "watershed", "seed_radius_mm", "> 0 mm", seed_radius_mm)
    require(leak_ratio == 0 or leak_ratio > 1, "watershed", "leak_ratio", "0 or > 1", leak_ratio)
    lower, upper = seed_thresholds(image, seed, seed_radius_mm=seed_radius_mm, window_mm=window_mm)
    outside = (image.array < lower) | (image.array > upper)
    outside = ndimage.binary_erosion(outside, iterations=1)
    border = np.ones(image.shape, dtype=bool)
    border[tuple(slice(1, -1) if n > 2 else slice(None) for n in image.shape)] = False
    if image.is_2d:
        border = np.zeros(image.shape, dtype=bool)
        border[0, [0, -1], :] = border[0, :, [0, -1]] = True
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[outside | border] = 2
    markers[seed_ball(image, seed, seed_radius_mm)] = 1
    labels = flood(gradient_magnitude(image, sigma_mm=sigma_mm), markers)
    region = component_at(labels == 1, seed, image.spacing)
    if leak_ratio > 0:
        region = star_constrain(region, seed, image.spacing, leak_ratio=leak_ratio)
    return as_mask(image, region)
