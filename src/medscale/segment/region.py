"""Seeded region growing: connected threshold and confidence connected (SimpleITK)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from medscale.image import Image, Mask
from medscale.params import require
from medscale.preprocess.morphology import structuring_element
from medscale.segment.methods import METHODS, as_mask, component_at, need_seed
from medscale.segment.shape import contact_sphere_constrain, fills_convex_hull, star_constrain
from medscale.segment.threshold import otsu_value

log = logging.getLogger(__name__)

#: A seed whose depth in the star prior's result is below this fraction of the deepest point's
#: is off-centre: the contact prior then starts from the deepest point (chosen on cases 0-29).
_DEEP_ENOUGH = 0.8


def seed_statistics(image: Image, seed: Sequence[int], *, radius_mm: float) -> tuple[float, float]:
    """Mean and standard deviation of the voxels within `radius_mm` of `seed` (z, y, x)."""
    ball = structuring_element(radius_mm, image.spacing)
    half = np.asarray(ball.shape) // 2
    lower = np.asarray(seed) - half
    region = []
    for axis, (lo, n) in enumerate(zip(lower, image.shape, strict=True)):
        start, stop = max(lo, 0), min(lo + ball.shape[axis], n)
        region.append((slice(start, stop), slice(start - lo, stop - lo)))
    values = image.array[tuple(r[0] for r in region)][ball[tuple(r[1] for r in region)]]
    return float(values.mean()), float(values.std())


def seed_thresholds(
    image: Image,
    seed: Sequence[int],
    *,
    seed_radius_mm: float,
    window_mm: float,
) -> tuple[float, float]:
    """(lower, upper) intensity band of the object holding `seed`, from local statistics.

    The seed's class is separated from its surroundings by Otsu's threshold ``t`` of the
    voxels within `window_mm` of the seed. If the seed region (mean ``μ``, sd ``σ``) is above
    ``t``, the band is ``[t, μ + max(μ - t, 3σ)]``, and symmetrically when it is below.
    """
    mean, sd = seed_statistics(image, seed, radius_mm=seed_radius_mm)
    half = np.ceil(window_mm / np.asarray(image.spacing)).astype(int)
    lower = np.maximum(np.asarray(seed) - half, 0)
    upper = np.minimum(np.asarray(seed) + half + 1, image.shape)
    window = image.array[tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))]
    if window.min() == window.max():
        return float(window.min()), float(window.max())
    t = otsu_value(window)
    if mean >= t:
        return t, mean + max(mean - t, 3 * sd)
    return mean - max(t - mean, 3 * sd), t


def surroundings(image: Image, lower: float, upper: float) -> np.ndarray:
    """The voxels outside the band ``[lower, upper]`` on the side where most of them lie.

    For a bright lesion in lung these are the lung (and air) below the band; for a dark
    object in bright tissue, the voxels above it.
    """
    below, above = image.array < lower, image.array > upper
    return below if below.sum() >= above.sum() else above


def _finish(
    image: Image,
    grown: np.ndarray,
    seed: Sequence[int],
    prior: dict[str, float],
    surround: np.ndarray,
    recentre: bool = True,
) -> Mask:
    structure = ndimage.generate_binary_structure(3, 1)

    def opened(region: np.ndarray) -> np.ndarray:
        if prior["opening_mm"] <= 0:
            return region
        footprint = structuring_element(
            prior["opening_mm"], image.spacing, shape="disk" if image.is_2d else "ball"
        )
        result = ndimage.binary_opening(region, footprint)
        return result if result.any() else region

    def filled(region: np.ndarray) -> np.ndarray:
        # rays and surfaces must see the object, not its noise holes
        return ndimage.binary_fill_holes(component_at(region, seed, image.spacing), structure)

    star = filled(grown)
    if prior["leak_ratio"] > 0 and not fills_convex_hull(star, image.spacing, prior["convex_skip"]):
        star = star_constrain(
            star, seed, image.spacing, leak_ratio=prior["leak_ratio"], recentre=recentre
        )
    cut = None
    if prior["lung_ball_mm"] > 0:
        starts = [tuple(int(v) for v in seed)]
        if recentre and star.any():
            # an off-centre seed: try first from the star prior's deepest point, which does
            # not depend on where in the lesion the seed was placed
            depth = ndimage.distance_transform_edt(star, sampling=image.spacing)
            if depth[starts[0]] < _DEEP_ENOUGH * depth.max():
                deepest = np.unravel_index(int(np.argmax(depth)), depth.shape)
                starts.insert(0, tuple(int(v) for v in deepest))
        region = filled(opened(grown))
        for start in starts:
            cut = contact_sphere_constrain(
                region,
                surround,
                start,
                image.spacing,
                closing_mm=prior["lung_ball_mm"],
                reach=prior["contact_reach"],
                margin=prior["sphere_margin"],
                recentre=recentre,
            )
            if cut is not None and cut[tuple(seed)]:
                break  # a lesion that holds the seed
            cut = None
    if cut is None or not cut.any():
        cut = opened(star)
    return as_mask(image, filled(cut))


def _check_prior(op: str, prior: dict[str, float]) -> None:
    require(prior["opening_mm"] >= 0, op, "opening_mm", ">= 0 mm", prior["opening_mm"])
    ratio = prior["leak_ratio"]
    require(ratio == 0 or ratio > 1, op, "leak_ratio", "0 or > 1", ratio)
    require(prior["lung_ball_mm"] >= 0, op, "lung_ball_mm", ">= 0 mm", prior["lung_ball_mm"])
    require(prior["contact_reach"] >= 1, op, "contact_reach", ">= 1", prior["contact_reach"])
    require(prior["sphere_margin"] >= 0, op, "sphere_margin", ">= 0", prior["sphere_margin"])
    require(prior["convex_skip"] >= 0, op, "convex_skip", ">= 0", prior["convex_skip"])


@METHODS.register("region_growing")
def region_growing(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    lower: float | None = None,
    upper: float | None = None,
    seed_radius_mm: float = 2.0,
    window_mm: float = 25.0,
    opening_mm: float = 1.0,
    lung_ball_mm: float = 15.0,
    contact_reach: float = 1.4,
    sphere_margin: float = 0.1,
    leak_ratio: float = 1.1,
    convex_skip: float = 1.0,
    recentre: bool = True,
) -> Mask:
    """Connected-threshold region growing from a seed voxel, with leak priors.

    Parameters
    ----------
    seed : tuple of int, (z, y, x)
        Start voxel (required).
    lower, upper : float, image units, optional
        Intensity band; by default from the statistics around the seed (`seed_thresholds`).
    seed_radius_mm : float, mm
        Radius of the neighbourhood that gives the seed's mean and sd.
    window_mm : float, mm
        Half-size of the window whose Otsu threshold separates object from surroundings.
    opening_mm : float, mm
        Radius of a ball opening after growing, to cut thin leaks (vessels); 0 for none.
    lung_ball_mm : float, mm
        Lung-contact sphere prior (`shape.contact_sphere_constrain`), for lesions that touch
        the chest wall or mediastinum, where no intensity edge exists: the dark surroundings
        (lung) are closed with a rolling ball of this radius (Armato et al.'s juxtapleural
        technique), a sphere is fitted to the lesion's lung surface and the grown region is
        cut to it. 0 disables it. When the lesion does not face the lung, the star-shape prior
        below applies instead.
    contact_reach : float
        Lung-surface points farther from the seed than this times the seed's distance to the
        lung are ignored (other structures bulging into the lung); the seed should lie near
        the lesion's centre.
    sphere_margin : float
        Relative growth of the fitted sphere, for lobulated lesions.
    leak_ratio : float
        Star-shape prior (`shape.star_constrain`), used when the contact prior has no lung
        surface to fit: rays from the seed longer than this times the median ray have leaked
        and are cut back; 0 to disable.
    convex_skip : float
        The star prior is skipped for a grown region that fills its convex hull: voxel
        volume / volume of the hull of the voxel centres at least this (a convex object is
        about 1.1-1.2, since the hull of the centres lies half a voxel inside). Such a region
        has no neck to have leaked through; an elongated lesion keeps its poles. 0: never
        skip.
    recentre : bool
        For seeds placed away from the object's centre: the star prior re-runs from the
        deepest point of its result; the contact prior starts from that point when the seed
        is much shallower, and selects the lung surface again around its fitted centre (see
        `shape.star_constrain`, `shape.contact_sphere_constrain`).

    Returns
    -------
    Mask
        The component connected (26-neighbours) to the seed, holes filled.

    Notes
    -----
    `SimpleITK.ConnectedThreshold` (face connectivity), the opening, the component holding
    the seed, then the lung-contact sphere prior or, failing it, the star-shape prior.
    The defaults (``lung_ball_mm=15``, ``contact_reach=1.4``, ``sphere_margin=0.1``,
    ``leak_ratio=1.1``) were chosen on synthetic cases 0-29 (the benchmark scores 1000+).
    Both priors assume a roughly round lesion. An isolated elongated object keeps its shape
    (`convex_skip`), but one that touches other structures is cut towards a sphere or star;
    for elongated structures set `leak_ratio` and `lung_ball_mm` to 0 (measurements of these
    choices: ``benchmarks/results/segment.md``).
    """
    import SimpleITK as sitk

    seed = need_seed(seed, image, "region_growing")
    require(seed_radius_mm > 0, "region_growing", "seed_radius_mm", "> 0 mm", seed_radius_mm)
    require(window_mm > 0, "region_growing", "window_mm", "> 0 mm", window_mm)
    prior = {
        "opening_mm": opening_mm,
        "lung_ball_mm": lung_ball_mm,
        "contact_reach": contact_reach,
        "sphere_margin": sphere_margin,
        "leak_ratio": leak_ratio,
        "convex_skip": convex_skip,
    }
    _check_prior("region_growing", prior)
    if lower is None or upper is None:
        auto_lower, auto_upper = seed_thresholds(
            image, seed, seed_radius_mm=seed_radius_mm, window_mm=window_mm
        )
        lower = auto_lower if lower is None else lower
        upper = auto_upper if upper is None else upper
    require(upper >= lower, "region_growing", "upper", f">= lower ({lower:.4g})", upper)
    log.debug("region_growing: band [%.4g, %.4g]", lower, upper)
    value = float(image.array[seed])
    if not lower <= value <= upper:
        log.warning(
            "region_growing: seed value %.4g lies outside the band [%.4g, %.4g]",
            value,
            lower,
            upper,
        )
    source = sitk.GetImageFromArray(np.ascontiguousarray(image.array, dtype=np.float32))
    grown = sitk.ConnectedThreshold(
        source,
        seedList=[tuple(int(v) for v in seed[::-1])],
        lower=float(lower),
        upper=float(upper),
        replaceValue=1,
    )
    grown_array = sitk.GetArrayFromImage(grown).astype(bool)
    surround = surroundings(image, lower, upper)
    return _finish(image, grown_array, seed, prior, surround, recentre)


@METHODS.register("confidence_connected")
def confidence_connected(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    multiplier: float = 3.0,
    iterations: int = 3,
    radius_mm: float = 3.0,
    max_growth: float = 3.0,
    seed_radius_mm: float = 2.0,
    window_mm: float = 25.0,
    opening_mm: float = 1.0,
    lung_ball_mm: float = 15.0,
    contact_reach: float = 1.4,
    sphere_margin: float = 0.1,
    leak_ratio: float = 1.1,
    convex_skip: float = 1.0,
    recentre: bool = True,
) -> Mask:
    """Confidence-connected region growing: band ``mean ± multiplier · sd``, re-estimated.

    Parameters
    ----------
    seed : tuple of int, (z, y, x)
        Start voxel (required).
    multiplier : float
        Width of the band in standard deviations.
    iterations : int
        Times the mean and sd are re-estimated from the grown region.
    radius_mm : float, mm
        Radius of the ball around the seed that gives the first mean and sd.
    max_growth : float
        Leak guard: a re-estimated band whose region is more than this many times the last
        one has run into a larger structure; the iterations stop at the last region.
    seed_radius_mm, window_mm : float, mm
        As in `region_growing`: they give the Otsu split whose far side (the lung) the
        contact prior uses; they do not change the band.
    opening_mm, lung_ball_mm, contact_reach, sphere_margin, leak_ratio, convex_skip, recentre
        Opening and leak priors, as in `region_growing`.

    Notes
    -----
    The scheme of ITK's ConfidenceConnected (band from the seed's neighbourhood, then
    re-estimated from the grown region), with the neighbourhood a ball in mm rather than a
    cube of voxels (`_confidence_grow`); then the opening and priors of `region_growing`.
    Defaults (``multiplier=3``, ``radius_mm=3``, ``max_growth=3``) were chosen on synthetic
    cases 0-29 and the sample cases: SimpleITK's filter with its old defaults (2.5, a cube of
    2 voxels) flooded lung1 and breast1.
    """
    op = "confidence_connected"
    seed = need_seed(seed, image, op)
    require(multiplier > 0, op, "multiplier", "> 0", multiplier)
    require(iterations >= 0, op, "iterations", ">= 0", iterations)
    require(radius_mm > 0, op, "radius_mm", "> 0 mm", radius_mm)
    require(max_growth > 1, op, "max_growth", "> 1", max_growth)
    require(seed_radius_mm > 0, op, "seed_radius_mm", "> 0 mm", seed_radius_mm)
    require(window_mm > 0, op, "window_mm", "> 0 mm", window_mm)
    prior = {
        "opening_mm": opening_mm,
        "lung_ball_mm": lung_ball_mm,
        "contact_reach": contact_reach,
        "sphere_margin": sphere_margin,
        "leak_ratio": leak_ratio,
        "convex_skip": convex_skip,
    }
    _check_prior(op, prior)
    grown = _confidence_grow(
        image,
        seed,
        multiplier=multiplier,
        iterations=iterations,
        radius_mm=radius_mm,
        max_growth=max_growth,
    )
    lower, upper = seed_thresholds(image, seed, seed_radius_mm=seed_radius_mm, window_mm=window_mm)
    surround = surroundings(image, lower, upper)
    return _finish(image, grown, seed, prior, surround, recentre)


def _confidence_grow(
    image: Image,
    seed: Sequence[int],
    *,
    multiplier: float,
    iterations: int,
    radius_mm: float,
    max_growth: float,
) -> np.ndarray:
    """ITK's confidence-connected scheme with the first neighbourhood a ball in mm.

    ``SimpleITK.ConfidenceConnected`` takes its first neighbourhood as a cube of the same
    number of voxels on every axis: on 5 mm slices and 0.6 mm pixels it reaches 20 mm through
    the slices and into the lung, and the band then covers everything. Here the first mean and
    sd come from the ball of `radius_mm` (`seed_statistics`); then ``iterations`` times the
    region grown with ``mean ± multiplier · sd`` gives the next mean and sd. The iterations
    stop, keeping the last region, when a band no longer holds the seed or its region is more
    than `max_growth` times the last (it ran into a larger structure).
    """
    import SimpleITK as sitk

    source = sitk.GetImageFromArray(np.ascontiguousarray(image.array, dtype=np.float32))
    mean, sd = seed_statistics(image, seed, radius_mm=radius_mm)
    grown = np.zeros(image.shape, dtype=bool)
    for _ in range(iterations + 1):
        result = sitk.ConnectedThreshold(
            source,
            seedList=[tuple(int(v) for v in seed[::-1])],
            lower=float(mean - multiplier * sd),
            upper=float(mean + multiplier * sd),
            replaceValue=1,
        )
        region = sitk.GetArrayFromImage(result).astype(bool)
        if not region.any() or (grown.any() and region.sum() > max_growth * grown.sum()):
            break  # the band lost the seed, or the region exploded into a larger structure
        grown = region
        values = image.array[grown]
        mean, sd = float(values.mean()), float(values.std())
    return grown
