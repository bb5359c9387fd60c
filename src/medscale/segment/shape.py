"""A star-shape prior for seeded segmentations: cut leaks into touching structures.

A lesion that touches the chest wall or the mediastinum has no intensity edge there, so region
growing leaks into the wall. Seen from its centre, a compact lesion is star-shaped: along each
ray from the seed the object ends at some radius ``r(θ)``. Rays that run far past the typical
radius have leaked; their radius is replaced by the median radius of the well-behaved rays
near them, and the grown region is cut to the star-shaped hull of the corrected radii.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from medscale.preprocess.params import require


def fibonacci_directions(count: int, *, planar: bool = False) -> np.ndarray:
    """`count` unit vectors (z, y, x) spread evenly over the sphere (or the y-x circle)."""
    if planar:
        angle = 2 * np.pi * np.arange(count) / count
        return np.stack([np.zeros(count), np.sin(angle), np.cos(angle)], axis=1)
    index = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * index / count)
    azimuth = np.pi * (1 + 5**0.5) * index
    return np.stack(
        [np.cos(polar), np.sin(polar) * np.sin(azimuth), np.sin(polar) * np.cos(azimuth)], axis=1
    )


def ray_lengths(
    region: np.ndarray,
    seed: Sequence[int],
    spacing: Sequence[float],
    directions: np.ndarray,
    *,
    step_mm: float,
    max_mm: float,
) -> np.ndarray:
    """Distance in mm from `seed` along each direction to the first voxel outside `region`."""
    steps = np.arange(0.0, max_mm + step_mm, step_mm)
    points = np.asarray(seed, dtype=float)[None, None, :] + directions[:, None, :] * steps[
        None, :, None
    ] / np.asarray(spacing)
    index = np.rint(points).astype(int)
    shape = np.asarray(region.shape)
    valid = np.all((index >= 0) & (index < shape), axis=2)
    clipped = np.clip(index, 0, shape - 1)
    inside = region[clipped[..., 0], clipped[..., 1], clipped[..., 2]] & valid
    outside = ~inside
    first_out = np.where(outside.any(axis=1), outside.argmax(axis=1), len(steps) - 1)
    return steps[first_out]


def star_constrain(
    region: np.ndarray,
    seed: Sequence[int],
    spacing: Sequence[float],
    *,
    leak_ratio: float = 1.1,
    n_directions: int = 400,
    neighbourhood_deg: float = 50.0,
    recentre: bool = True,
) -> np.ndarray:
    """Cut `region` (boolean, z y x) to a star-shaped hull around `seed`, removing leaks.

    Parameters
    ----------
    region : numpy.ndarray of bool
        The grown region, holding `seed`.
    seed : (z, y, x)
        Centre of the star.
    spacing : (z, y, x), mm
    leak_ratio : float
        A ray longer than ``leak_ratio`` times the median ray length has leaked.
    n_directions : int
        Number of rays.
    neighbourhood_deg : float, degrees
        Leaked rays take the median length of the good rays within this angle.
    recentre : bool
        Repeat from the deepest point of the result (largest distance to its border; up to 6
        times, until it moves less than a voxel), so that a seed placed off the object's
        centre does not cut its far side.

    Returns
    -------
    numpy.ndarray of bool
        ``region`` restricted to voxels whose distance to the seed is at most the corrected
        radius of their nearest ray direction.
    """
    require(leak_ratio > 1, "star_constrain", "leak_ratio", "> 1", leak_ratio)
    result = _star_pass(region, seed, spacing, leak_ratio, n_directions, neighbourhood_deg)
    centre = tuple(int(v) for v in seed)
    for _ in range(6 if recentre else 0):
        if not result.any():
            break
        depth = ndimage.distance_transform_edt(result, sampling=spacing)
        moved = tuple(int(v) for v in np.unravel_index(int(np.argmax(depth)), depth.shape))
        if not region[moved] or max(abs(a - b) for a, b in zip(moved, centre, strict=True)) < 1:
            break
        centre = moved
        result = _star_pass(region, centre, spacing, leak_ratio, n_directions, neighbourhood_deg)
    return result


def _star_pass(
    region: np.ndarray,
    seed: Sequence[int],
    spacing: Sequence[float],
    leak_ratio: float,
    n_directions: int,
    neighbourhood_deg: float,
) -> np.ndarray:
    planar = region.shape[0] == 1
    directions = fibonacci_directions(n_directions, planar=planar)
    spacing_arr = np.asarray(spacing, dtype=float)
    extent = float(np.linalg.norm(np.asarray(region.shape) * spacing_arr))
    step = 0.25 * float(spacing_arr[1:].min() if planar else spacing_arr.min())
    lengths = ray_lengths(region, seed, spacing_arr, directions, step_mm=step, max_mm=extent)
    typical = float(np.median(lengths))
    leaked = lengths > leak_ratio * max(typical, step)
    if not leaked.any():
        return region
    corrected = lengths.copy()
    cosine = directions @ directions.T
    close = cosine >= np.cos(np.radians(neighbourhood_deg))
    good = ~leaked
    for ray in np.flatnonzero(leaked):
        neighbours = close[ray] & good
        corrected[ray] = np.median(lengths[neighbours]) if neighbours.any() else typical
    offsets = np.argwhere(region) - np.asarray(seed)
    offsets_mm = offsets * spacing_arr
    distance = np.linalg.norm(offsets_mm, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = offsets_mm / np.where(distance > 0, distance, 1)[:, None]
    nearest = np.argmax(unit @ directions.T, axis=1)
    keep = distance <= corrected[nearest] + 0.5 * float(spacing_arr.max())
    out = np.zeros_like(region)
    points = np.argwhere(region)[keep]
    out[tuple(points.T)] = True
    structure = ndimage.generate_binary_structure(3, 1)
    return ndimage.binary_fill_holes(out, structure)
