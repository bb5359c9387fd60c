"""Active contours: Chan-Vese (2-D), morphological Chan-Vese and geodesic (2-D and 3-D).

scikit-image's contour evolutions work in voxels: the curvature smoothing, the balloon step and
the image gradients treat every voxel as a unit cube, so on anisotropic voxels (CT with thick
slices) the contour is biased along the coarse axis. Every method here therefore runs on an
isotropic copy of the image (linear resampling to `voxel_mm` on every axis, in-plane for 2-D
images) and maps the result back to the original grid by nearest neighbour. An image that is
already isotropic is used as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medscale.image import Image, Mask
from medscale.params import require, require_2d
from medscale.segment.methods import METHODS, as_mask, check_seed, need_seed, seed_ball

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IsotropicGrid:
    """An image resampled to isotropic voxels, and the way back to its original grid.

    Attributes
    ----------
    image : Image
        The isotropic image (same origin and direction, spacing `voxel_mm`).
    back : tuple of 3 int arrays
        For each axis (z, y, x), the isotropic index nearest to every original index.
    scale : ndarray, shape (3,)
        Original spacing / isotropic spacing, per axis.
    """

    image: Image
    back: tuple[np.ndarray, np.ndarray, np.ndarray]
    scale: np.ndarray

    def seed(self, seed: Sequence[int]) -> tuple[int, int, int]:
        """The isotropic voxel nearest to an original voxel (z, y, x)."""
        index = np.rint(np.asarray(seed) * self.scale).astype(int)
        z, y, x = (int(v) for v in np.clip(index, 0, np.asarray(self.image.shape) - 1))
        return z, y, x

    def to_original(self, array: np.ndarray) -> np.ndarray:
        """Nearest-neighbour sampling of an isotropic array at the original voxel centres."""
        return array.reshape(self.image.shape)[np.ix_(*self.back)]


def isotropic(image: Image, *, voxel_mm: float | None, op: str) -> IsotropicGrid:
    """Resample `image` (linear) to cubic voxels of `voxel_mm` (default: the finest spacing).

    Raises
    ------
    ConfigError
        When `voxel_mm` is not > 0 (naming `op`).
    """
    spacing = np.asarray(image.spacing, dtype=float)
    finest = float(spacing[1:].min() if image.is_2d else spacing.min())
    size = finest if voxel_mm is None else voxel_mm
    require(bool(np.isfinite(size)) and size > 0, op, "voxel_mm", "> 0 mm", voxel_mm)
    target = np.full(3, size)
    if image.is_2d:
        target[0] = spacing[0]
    scale = spacing / target
    if np.allclose(scale, 1.0, rtol=1e-6, atol=0):
        z, y, x = (np.arange(n) for n in image.shape)
        return IsotropicGrid(image, (z, y, x), np.ones(3))
    from medscale.preprocess.resample import resample

    resampled = resample(image, spacing_mm=tuple(float(t) for t in target), interpolator="linear")
    z, y, x = (
        np.clip(np.rint(np.arange(n) * k).astype(int), 0, m - 1)
        for n, k, m in zip(image.shape, scale, resampled.shape, strict=True)
    )
    log.debug("%s: resampled %s to %s voxels of %.4g mm", op, image.shape, resampled.shape, size)
    return IsotropicGrid(resampled, (z, y, x), scale)


def _unit(array: np.ndarray) -> np.ndarray:
    array = array.astype(np.float64)
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def _pick_phase(segmented: np.ndarray, array: np.ndarray, seed: Sequence[int] | None) -> np.ndarray:
    """The phase holding the seed, or else the brighter phase."""
    if seed is not None:
        return segmented if segmented[tuple(seed)] else ~segmented
    if segmented.all() or not segmented.any():
        return segmented
    return segmented if array[segmented].mean() >= array[~segmented].mean() else ~segmented


def _plane(grid: IsotropicGrid) -> np.ndarray:
    """The isotropic voxels scaled to [0, 1], as the 2-D or 3-D array scikit-image expects."""
    array = grid.image.array
    return _unit(array[0] if grid.image.is_2d else array)


@METHODS.register("chan_vese")
def chan_vese(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    mu: float = 0.25,
    iterations: int = 200,
    tolerance: float = 1e-3,
    voxel_mm: float | None = None,
) -> Mask:
    """Chan-Vese level-set segmentation of a 2-D image (`skimage.segmentation.chan_vese`).

    Parameters
    ----------
    seed : tuple of int, optional
        A voxel of the object: the phase holding it is returned (else the brighter phase).
    mu : float
        Weight of the contour length (>= 0), per pixel of `voxel_mm`; larger is smoother.
    iterations : int
        Maximum iterations.
    tolerance : float
        Stop when the level set changes less than this between iterations.
    voxel_mm : float, mm, optional
        Square pixel size the contour evolves on; default the finer in-plane spacing.

    Raises
    ------
    InputError
        For a 3-D image: use ``morphological_chan_vese``.

    Notes
    -----
    Chan TF, Vese LA. IEEE Trans Image Process 2001;10:266-277. Intensities are min-max scaled
    to [0, 1] first; non-square pixels are resampled to square ones and back.
    """
    from skimage.segmentation import chan_vese as solve

    require_2d(image, "chan_vese")
    require(mu >= 0, "chan_vese", "mu", ">= 0", mu)
    require(iterations >= 1, "chan_vese", "iterations", ">= 1", iterations)
    seed = check_seed(seed, image, "chan_vese")
    grid = isotropic(image, voxel_mm=voxel_mm, op="chan_vese")
    result = solve(_plane(grid), mu=mu, max_num_iter=iterations, tol=tolerance)
    at = None if seed is None else grid.seed(seed)
    phase = _pick_phase(result.reshape(grid.image.shape), grid.image.array, at)
    return as_mask(image, grid.to_original(phase))


@METHODS.register("morphological_chan_vese")
def morphological_chan_vese(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    radius_mm: float = 5.0,
    iterations: int = 60,
    smoothing: int = 1,
    voxel_mm: float | None = None,
) -> Mask:
    """Morphological Chan-Vese (ACWE without edges) on isotropic voxels, 2-D or 3-D.

    Parameters
    ----------
    seed : tuple of int, optional
        Centre of the initial ball of `radius_mm`; a checkerboard start when absent.
    radius_mm : float, mm
        Radius of the initial ball.
    iterations : int
        Number of morphological iterations; the contour moves at most one voxel of
        `voxel_mm` per iteration.
    smoothing : int
        Curvature smoothing steps per iteration (1 to 4), on voxels of `voxel_mm`.
    voxel_mm : float, mm, optional
        Cubic voxel size the contour evolves on (in-plane square for 2-D images); default the
        finest spacing of the image.

    Notes
    -----
    Márquez-Neila P, Baumela L, Alvarez L. IEEE TPAMI 2014;36:2-17;
    `skimage.segmentation.morphological_chan_vese`. Its smoothing operator and steps are
    defined on unit voxels, so anisotropic images are resampled (linear) to `voxel_mm`, and
    the result is mapped back by nearest neighbour.
    """
    from skimage.segmentation import morphological_chan_vese as solve

    op = "morphological_chan_vese"
    require(radius_mm > 0, op, "radius_mm", "> 0 mm", radius_mm)
    require(iterations >= 1, op, "iterations", ">= 1", iterations)
    require(1 <= smoothing <= 4, op, "smoothing", "in 1..4", smoothing)
    seed = check_seed(seed, image, op)
    grid = isotropic(image, voxel_mm=voxel_mm, op=op)
    at = None if seed is None else grid.seed(seed)
    start: str | np.ndarray = "checkerboard"
    if at is not None:
        start = seed_ball(grid.image, at, radius_mm)
        start = start[0] if image.is_2d else start
    result = solve(_plane(grid), iterations, init_level_set=start, smoothing=smoothing)
    phase = _pick_phase(result.astype(bool).reshape(grid.image.shape), grid.image.array, at)
    return as_mask(image, grid.to_original(phase))


@METHODS.register("geodesic_active_contour")
def geodesic_active_contour(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    radius_mm: float = 2.0,
    iterations: int = 100,
    balloon: float = 1.0,
    sigma_mm: float = 1.0,
    alpha: float = 100.0,
    smoothing: int = 1,
    voxel_mm: float | None = None,
) -> Mask:
    """Morphological geodesic active contour grown from a ball at the seed, on isotropic voxels.

    Parameters
    ----------
    seed : tuple of int, (z, y, x)
        Centre of the initial ball (required).
    radius_mm : float, mm
        Radius of the initial ball.
    iterations : int
        Number of iterations; the balloon moves the contour at most one voxel of `voxel_mm`
        per iteration.
    balloon : float
        Balloon force: > 0 inflates (from a small seed), < 0 deflates.
    sigma_mm : float, mm
        Gaussian smoothing of the inverse Gaussian gradient edge map.
    alpha : float
        Steepness of the edge map (on intensities scaled to [0, 1], gradients per voxel of
        `voxel_mm`).
    smoothing : int
        Curvature smoothing steps per iteration (1 to 4).
    voxel_mm : float, mm, optional
        Cubic voxel size the contour evolves on; default the finest spacing of the image.

    Notes
    -----
    Caselles V, Kimmel R, Sapiro G. IJCV 1997;22:61-79; morphological version
    `skimage.segmentation.morphological_geodesic_active_contour`. Anisotropic images are
    resampled (linear) to `voxel_mm` and the result mapped back by nearest neighbour.
    """
    from skimage.segmentation import (
        inverse_gaussian_gradient,
        morphological_geodesic_active_contour,
    )

    op = "geodesic_active_contour"
    seed = need_seed(seed, image, op)
    require(radius_mm > 0, op, "radius_mm", "> 0 mm", radius_mm)
    require(iterations >= 1, op, "iterations", ">= 1", iterations)
    require(sigma_mm > 0, op, "sigma_mm", "> 0 mm", sigma_mm)
    require(alpha > 0, op, "alpha", "> 0", alpha)
    require(1 <= smoothing <= 4, op, "smoothing", "in 1..4", smoothing)
    grid = isotropic(image, voxel_mm=voxel_mm, op=op)
    size = float(grid.image.spacing[-1])
    edge_map = inverse_gaussian_gradient(_plane(grid), alpha=alpha, sigma=sigma_mm / size)
    start = seed_ball(grid.image, grid.seed(seed), radius_mm)
    start = start[0] if image.is_2d else start
    result = morphological_geodesic_active_contour(
        edge_map, iterations, init_level_set=start, smoothing=smoothing, balloon=balloon
    )
    return as_mask(image, grid.to_original(result.astype(bool)))
