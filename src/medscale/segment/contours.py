"""Active contours: Chan-Vese (2-D), morphological Chan-Vese and geodesic (2-D and 3-D)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from medscale.image import Image, Mask
from medscale.preprocess.morphology import structuring_element
from medscale.preprocess.params import require, require_2d
from medscale.segment.methods import METHODS, as_mask, check_seed


def _unit(array: np.ndarray) -> np.ndarray:
    array = array.astype(np.float64)
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def _ball_at(image: Image, seed: Sequence[int], radius_mm: float) -> np.ndarray:
    ball = structuring_element(radius_mm, image.spacing, shape="disk" if image.is_2d else "ball")
    start = np.zeros(image.shape, dtype=bool)
    start[tuple(seed)] = True
    return ndimage.binary_dilation(start, ball)


def _pick_phase(segmented: np.ndarray, array: np.ndarray, seed: Sequence[int] | None) -> np.ndarray:
    """The phase holding the seed, or else the brighter phase."""
    if seed is not None:
        return segmented if segmented[tuple(seed)] else ~segmented
    if segmented.all() or not segmented.any():
        return segmented
    return segmented if array[segmented].mean() >= array[~segmented].mean() else ~segmented


@METHODS.register("chan_vese")
def chan_vese(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    mu: float = 0.25,
    iterations: int = 200,
    tolerance: float = 1e-3,
) -> Mask:
    """Chan-Vese level-set segmentation of a 2-D image (`skimage.segmentation.chan_vese`).

    Parameters
    ----------
    seed : tuple of int, optional
        A voxel of the object: the phase holding it is returned (else the brighter phase).
    mu : float
        Weight of the contour length (>= 0); larger gives smoother contours.
    iterations : int
        Maximum iterations.
    tolerance : float
        Stop when the level set changes less than this between iterations.

    Raises
    ------
    InputError
        For a 3-D image: use ``morphological_chan_vese``.

    Notes
    -----
    Chan TF, Vese LA. IEEE Trans Image Process 2001;10:266-277. Intensities are min-max scaled
    to [0, 1] first.
    """
    from skimage.segmentation import chan_vese as solve

    require_2d(image, "chan_vese")
    require(mu >= 0, "chan_vese", "mu", ">= 0", mu)
    require(iterations >= 1, "chan_vese", "iterations", ">= 1", iterations)
    seed = check_seed(seed, image, "chan_vese")
    plane = _unit(image.array[0])
    result = solve(plane, mu=mu, max_num_iter=iterations, tol=tolerance)
    return as_mask(image, _pick_phase(result[np.newaxis], image.array, seed))


@METHODS.register("morphological_chan_vese")
def morphological_chan_vese(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    radius_mm: float = 5.0,
    iterations: int = 60,
    smoothing: int = 1,
) -> Mask:
    """Morphological Chan-Vese (ACWE without edges), 2-D or 3-D.

    Parameters
    ----------
    seed : tuple of int, optional
        Centre of the initial ball of `radius_mm`; a checkerboard start when absent.
    radius_mm : float, mm
        Radius of the initial ball.
    iterations : int
        Number of morphological iterations.
    smoothing : int
        Smoothing steps per iteration (1 to 4).

    Notes
    -----
    Márquez-Neila P, Baumela L, Alvarez L. IEEE TPAMI 2014;36:2-17;
    `skimage.segmentation.morphological_chan_vese`. Works in voxels (spacing ignored by the
    smoothing operator).
    """
    from skimage.segmentation import morphological_chan_vese as solve

    require(radius_mm > 0, "morphological_chan_vese", "radius_mm", "> 0 mm", radius_mm)
    require(iterations >= 1, "morphological_chan_vese", "iterations", ">= 1", iterations)
    require(1 <= smoothing <= 4, "morphological_chan_vese", "smoothing", "in 1..4", smoothing)
    seed = check_seed(seed, image, "morphological_chan_vese")
    array = _unit(image.array[0] if image.is_2d else image.array)
    start = "checkerboard" if seed is None else _ball_at(image, seed, radius_mm)
    if seed is not None and image.is_2d:
        start = start[0]
    result = solve(array, iterations, init_level_set=start, smoothing=smoothing).astype(bool)
    return as_mask(image, _pick_phase(result.reshape(image.shape), image.array, seed))


@METHODS.register("geodesic_active_contour")
def geodesic_active_contour(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    radius_mm: float = 2.0,
    iterations: int = 100,
    balloon: float = 1.0,
    sigma: float = 1.0,
    alpha: float = 100.0,
    smoothing: int = 1,
) -> Mask:
    """Morphological geodesic active contour grown from a ball at the seed (2-D or 3-D).

    Parameters
    ----------
    seed : tuple of int, (z, y, x)
        Centre of the initial ball (required).
    radius_mm : float, mm
        Radius of the initial ball.
    iterations : int
        Number of iterations.
    balloon : float
        Balloon force: > 0 inflates (from a small seed), < 0 deflates.
    sigma, alpha : float
        Smoothing (voxels) and steepness of the inverse Gaussian gradient edge map.
    smoothing : int
        Smoothing steps per iteration (1 to 4).

    Notes
    -----
    Caselles V, Kimmel R, Sapiro G. IJCV 1997;22:61-79; morphological version
    `skimage.segmentation.morphological_geodesic_active_contour`.
    """
    from skimage.segmentation import (
        inverse_gaussian_gradient,
        morphological_geodesic_active_contour,
    )

    from medscale.segment.region import _need_seed

    seed = _need_seed(seed, image, "geodesic_active_contour")
    require(radius_mm > 0, "geodesic_active_contour", "radius_mm", "> 0 mm", radius_mm)
    require(iterations >= 1, "geodesic_active_contour", "iterations", ">= 1", iterations)
    require(sigma > 0, "geodesic_active_contour", "sigma", "> 0 voxels", sigma)
    require(1 <= smoothing <= 4, "geodesic_active_contour", "smoothing", "in 1..4", smoothing)
    array = _unit(image.array[0] if image.is_2d else image.array)
    edge_map = inverse_gaussian_gradient(array, alpha=alpha, sigma=sigma)
    start = _ball_at(image, seed, radius_mm)
    start = start[0] if image.is_2d else start
    result = morphological_geodesic_active_contour(
        edge_map, iterations, init_level_set=start, smoothing=smoothing, balloon=balloon
    )
    return as_mask(image, result.astype(bool).reshape(image.shape))
