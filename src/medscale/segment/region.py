"""Seeded region growing: connected threshold and confidence connected (SimpleITK).

Both cut their grown region with the same `LeakPriors` (`segment.priors`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from medscale.errors import ConfigError
from medscale.image import Image, Mask
from medscale.params import require
from medscale.preprocess.morphology import structuring_element
from medscale.segment.methods import METHODS, need_seed
from medscale.segment.priors import LeakPriors, apply_priors, resolve_priors
from medscale.segment.threshold import otsu_value

log = logging.getLogger(__name__)


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


@METHODS.register("region_growing", flat=("priors",))
def region_growing(
    image: Image,
    *,
    seed: tuple[int, ...] | None = None,
    lower: float | None = None,
    upper: float | None = None,
    seed_radius_mm: float = 2.0,
    window_mm: float = 25.0,
    priors: LeakPriors | None = None,
    **flat_priors: Any,
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
    priors : LeakPriors, optional
        The opening and the lung-contact and star-shape priors (default ``LeakPriors()``).
    **flat_priors
        Deprecated: the fields of `LeakPriors` as keywords (``leak_ratio=0``), the spelling
        before `priors`; `segment`, the CLI and run files take them flat, without a warning.

    Returns
    -------
    Mask
        The component connected (26-neighbours) to the seed, holes filled.

    Notes
    -----
    `SimpleITK.ConnectedThreshold` (face connectivity), the opening, the component holding
    the seed, then the lung-contact sphere prior or, failing it, the star-shape prior
    (`LeakPriors` says how their defaults were chosen and what they assume).
    """
    import SimpleITK as sitk

    seed = need_seed(seed, image, "region_growing")
    require(seed_radius_mm > 0, "region_growing", "seed_radius_mm", "> 0 mm", seed_radius_mm)
    require(window_mm > 0, "region_growing", "window_mm", "> 0 mm", window_mm)
    priors = resolve_priors(priors, flat_priors, "region_growing")
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
        raise ConfigError(
            f"region_growing: the seed voxel {tuple(int(v) for v in seed)} has value "
            f"{value:.4g}, outside the band [{lower:.4g}, {upper:.4g}], so nothing can grow; "
            "widen lower / upper or move the seed"
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
    return apply_priors(image, grown_array, seed, priors, surround)


@METHODS.register("confidence_connected", flat=("priors",))
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
    priors: LeakPriors | None = None,
    **flat_priors: Any,
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
    priors : LeakPriors, optional
        Opening and leak priors, as in `region_growing`.
    **flat_priors
        Deprecated: the fields of `LeakPriors` as keywords, as in `region_growing`.

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
    priors = resolve_priors(priors, flat_priors, op)
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
    return apply_priors(image, grown, seed, priors, surround)


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
