"""A star-shape prior for seeded segmentations: cut leaks into touching structures.

A lesion that touches the chest wall or the mediastinum has no intensity edge there, so region
growing leaks into the wall. Seen from its centre, a compact lesion is star-shaped: along each
ray from the seed the object ends at some radius ``r(θ)``. Rays that run far past the typical
radius have leaked; their radius is replaced by the median radius of the well-behaved rays
near them, and the grown region is cut to the star-shaped hull of the corrected radii.

`contact_sphere_constrain` uses the edge a lesion does have: where it faces the lung. The lung
field closed with a rolling ball (Armato et al., Med. Phys. 2001) gives the lesion's lung
surface, a sphere fitted to it gives the lesion where it meets the wall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from medscale.params import require
from medscale.segment.methods import component_at


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
    lengths = ray_lengths(region, seed, spacing, directions, step_mm=step, max_mm=extent)
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


def rolling_ball_closing(
    mask: np.ndarray, spacing: Sequence[float], *, radius_mm: float
) -> np.ndarray:
    """Closing of `mask` by a ball of `radius_mm` (mm, anisotropic spacing), via distance maps.

    The array is padded by the ball's reach with its edge values, so an object cut by the
    array border is not eroded there. Exact for a Euclidean ball: dilation is
    ``EDT(~mask) <= r``, erosion of that is ``EDT(dilated) > r``.
    """
    spacing_arr = np.asarray(spacing, dtype=float)
    pad = [(int(np.ceil(radius_mm / s)) + 1,) * 2 for s in spacing_arr]
    padded = np.pad(mask, pad, mode="edge")
    dilated = ndimage.distance_transform_edt(~padded, sampling=spacing_arr) <= radius_mm
    closed = (ndimage.distance_transform_edt(dilated, sampling=spacing_arr) > radius_mm) | padded
    return closed[tuple(slice(p, n - p) for (p, _), n in zip(pad, closed.shape, strict=True))]


def fit_sphere(
    points_mm: np.ndarray, *, trim: float = 2.5, min_tolerance_mm: float = 1.0, rounds: int = 3
) -> tuple[np.ndarray, float]:
    """Least-squares sphere (centre mm, radius mm) through `points_mm` (n, 3), trimmed.

    The algebraic fit ``|p|² = 2 c·p + k`` is linear; after it, points farther from the
    sphere than ``max(min_tolerance_mm, trim · median residual)`` are dropped and the fit is
    repeated `rounds` times, so that a few points of other structures do not pull it.
    """
    keep = np.ones(len(points_mm), dtype=bool)
    centre, radius = np.zeros(3), 0.0
    for _ in range(rounds + 1):
        chosen = points_mm[keep]
        design = np.c_[2 * chosen, np.ones(len(chosen))]
        solution, *_ = np.linalg.lstsq(design, (chosen**2).sum(axis=1), rcond=None)
        centre = solution[:3]
        radius = float(np.sqrt(max(solution[3] + centre @ centre, 0.0)))
        residual = np.abs(np.linalg.norm(points_mm - centre, axis=1) - radius)
        keep = residual <= max(min_tolerance_mm, trim * float(np.median(residual)))
        if keep.sum() < 4:
            break
    return centre, radius


def contact_sphere_constrain(
    region: np.ndarray,
    dark: np.ndarray,
    seed: Sequence[int],
    spacing: Sequence[float],
    *,
    closing_mm: float = 15.0,
    reach: float = 1.4,
    margin: float = 0.1,
    lung_side: float = 1.3,
    recentre: bool = True,
    min_points: int = 20,
    min_component: int = 30,
) -> np.ndarray | None:
    """Cut a lesion grown into the chest wall back to the sphere its lung surface fits.

    A juxtapleural lesion shows an edge only where it faces the lung; where it meets the chest
    wall or mediastinum, growing leaks. The lung surface of the lesion is found as in Armato
    et al. (2001): each dark component (lung, below the growing band) is closed with a rolling
    ball of `closing_mm`, which fills the indentation the lesion makes in the lung field; the
    grown voxels inside the closed field that touch the dark ones form the lesion's lung
    surface. Only surface points within ``reach`` times the seed's distance to the nearest dark
    voxel are kept (the lesion's own surface, not other bulges into the lung such as the
    heart); a trimmed least-squares sphere through them (`fit_sphere`) gives centre ``c`` and
    radius ``R``. The result is `region` inside the ball of radius ``R (1 + margin)`` plus half
    a voxel (the part in the wall), together with the lesion's part inside the closed lung
    field within ``lung_side · R`` of ``c`` (there the lung gives the edge; irregular lesions
    reach past the sphere).

    Parameters
    ----------
    region : numpy.ndarray of bool, (z, y, x)
        The grown region, holding `seed`.
    dark : numpy.ndarray of bool
        Voxels darker than the object (lung, air): below the growing band.
    seed : (z, y, x)
        The seed voxel, inside the lesion and near its centre.
    spacing : (z, y, x), mm
    closing_mm : float, mm
        Radius of the rolling ball; larger than the lesions' radius.
    reach : float
        Surface points farther than ``reach`` times the seed's depth are ignored.
    margin : float
        Relative growth of the fitted sphere (lobulated lesions reach past it).
    lung_side : float
        Inside the closed lung field, the grown lesion is kept up to this many radii from
        the sphere's centre.
    recentre : bool
        Select the surface points again around the fitted centre (up to 3 times, while it
        moves by a voxel or more and stays in `region`), for seeds away from the centre.
    min_points : int
        Fewer lung-surface points than this: no decision (returns None).
    min_component : int, voxels
        Dark components smaller than this (noise) are not closed.

    Returns
    -------
    numpy.ndarray of bool or None
        The constrained region, or None when this prior does not apply: no more than 5 % of
        `region` lies outside the closed lung field (no wall contact), or the lesion does not
        face the lung (fewer than `min_points` surface points, or a fit that does not hold
        the seed).
    """
    spacing_arr = np.asarray(spacing, dtype=float)
    if not dark.any() or not region.any():
        return None
    labels, _ = ndimage.label(dark, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(labels.ravel())
    closed = dark.copy()
    for label in np.flatnonzero(sizes >= min_component):
        if label:
            closed |= rolling_ball_closing(labels == label, spacing, radius_mm=closing_mm)
    if (region & ~closed).sum() <= 0.05 * region.sum():
        return None  # no wall contact: nothing for this prior to cut
    face = ndimage.generate_binary_structure(3, 1)
    # the lesion's part inside the closed lung field: the component at (or nearest) the seed
    inner = component_at(region & closed, seed, spacing)
    surface = inner & ndimage.binary_dilation(dark, face)
    surface_mm = np.argwhere(surface) * spacing_arr
    dark_mm = np.argwhere(dark) * spacing_arr
    tolerance = 2 * float(spacing_arr.max())
    centre = np.asarray(seed, dtype=float) * spacing_arr
    fitted = None
    for _ in range(1 + (3 if recentre else 0)):
        depth = float(np.sqrt(((dark_mm - centre) ** 2).sum(axis=1).min()))
        points = surface_mm[np.linalg.norm(surface_mm - centre, axis=1) <= reach * depth]
        if len(points) < min_points:
            break
        new_centre, radius = fit_sphere(points, min_tolerance_mm=tolerance)
        if np.linalg.norm(centre - new_centre) >= radius:
            break
        fitted = new_centre, radius
        upper = np.asarray(region.shape) - 1
        voxel = tuple(np.clip(np.rint(new_centre / spacing_arr).astype(int), 0, upper))
        if np.linalg.norm(new_centre - centre) < 0.25 * radius or not region[voxel]:
            break
        centre = new_centre  # an off-centre seed: select the surface around the fitted centre
    if fitted is None:
        return None
    centre, radius = fitted
    limit = radius * (1 + margin) + 0.5 * float(spacing_arr[1:].min())
    grid = np.ogrid[tuple(slice(0, n) for n in region.shape)]
    distance2 = sum(((g * s - c) ** 2) for g, s, c in zip(grid, spacing_arr, centre, strict=True))
    inside = (distance2 <= limit**2) | (inner & (distance2 <= (lung_side * radius) ** 2))
    return region & inside


def fills_convex_hull(region: np.ndarray, spacing: Sequence[float], threshold: float) -> bool:
    """Whether `region` fills its convex hull: voxel volume / volume of the hull of the voxel
    centres >= `threshold` (> 0; a convex object gives about 1.1-1.2, as the hull of the
    centres lies half a voxel inside). A one-slice region is judged by areas."""
    from scipy.spatial import ConvexHull, QhullError

    if threshold <= 0:
        return False
    steps = np.asarray(spacing, dtype=float)
    points = np.argwhere(region) * steps
    spread = np.ptp(points, axis=0) > 0  # one slice (a 2-D image): the hull is an area
    try:
        hull = ConvexHull(points[:, spread]).volume
    except (QhullError, ValueError):  # a line or a few voxels: let the star prior judge
        return False
    return bool(len(points) * float(np.prod(steps[spread])) >= threshold * hull)
