"""The ground-truth lesion: an irregular blob whose shape and texture carry the class label.

A lesion is a star-shaped solid: a point at direction ``u`` from the centre is inside when its
(ellipsoid-scaled) distance is at most ``r(u) = R * (1 + lobulation(u) + spiculation(u))``.
Both terms are sums of von Mises bumps ``exp(kappa (u . d_k - 1))`` on random directions ``d_k``:
broad bumps (small kappa) make lobules, narrow tall ones (large kappa) make spicules.

The label works through a latent *irregularity* ``t`` in [0, 1] (Beta distributed, higher for
label 1 with overlap) that sets the lobulation and spiculation amplitudes, and an independent
latent *heterogeneity* that sets the standard deviation of a smooth zero-mean texture inside the
lesion. The lesion's mean intensity is drawn independently of the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

# Beta parameters of the latents for label 0 and label 1: overlapping on purpose.
_IRREGULARITY_BETA = {0: (2.0, 5.0), 1: (4.0, 2.5)}
_HETEROGENEITY_BETA = {0: (2.0, 4.5), 1: (4.0, 2.5)}


@dataclass(frozen=True)
class LesionTraits:
    """Latent properties of a lesion, drawn from the label."""

    radius_mm: float
    axes: tuple[float, ...]  # relative semi-axes of the base ellipsoid (max 1)
    irregularity: float  # 0 smooth .. 1 lobulated and spiculated
    heterogeneity_sd: float  # texture standard deviation inside the lesion (image units)
    mean_value: float  # mean intensity of the lesion (image units)


def draw_traits(
    rng: np.random.Generator,
    label: int,
    *,
    radius_range_mm: tuple[float, float],
    value_range: tuple[float, float],
    max_texture_sd: float,
    n_axes: int,
) -> LesionTraits:
    """Draw the latent traits of a lesion of class `label` (0 or 1)."""
    irregularity = float(rng.beta(*_IRREGULARITY_BETA[label]))
    heterogeneity = float(rng.beta(*_HETEROGENEITY_BETA[label]))
    low, high = radius_range_mm
    return LesionTraits(
        radius_mm=float(low + (high - low) * rng.random() ** 1.5),
        axes=tuple(float(a) for a in np.concatenate([[1.0], rng.uniform(0.7, 1.0, n_axes - 1)])),
        irregularity=irregularity,
        heterogeneity_sd=max_texture_sd * (0.08 + 0.92 * heterogeneity),
        mean_value=float(rng.uniform(*value_range)),
    )


def _random_unit_vectors(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _bumps(
    directions: np.ndarray, centres: np.ndarray, weights: np.ndarray, kappa: np.ndarray
) -> np.ndarray:
    """Sum of zero-mean-ish von Mises bumps evaluated at unit `directions` (n, dim)."""
    cosines = directions @ centres.T  # (n, k)
    return (np.exp(kappa * (cosines - 1.0)) * weights).sum(axis=1)


def max_extent_mm(traits: LesionTraits) -> float:
    """An upper bound of the lesion's distance from its centre, mm."""
    return traits.radius_mm * (1.0 + 0.35 * traits.irregularity + 0.9 * traits.irregularity)


def lesion_mask(
    rng: np.random.Generator, traits: LesionTraits, offsets_mm: np.ndarray
) -> np.ndarray:
    """Which points, given as offsets (..., dim) in mm from the centre, lie inside the lesion.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the shape's random directions and rotation.
    traits : LesionTraits
        Size, axes and irregularity.
    offsets_mm : numpy.ndarray, shape (..., dim), mm
        Positions relative to the lesion centre (dim 3 for CT, 2 for X-ray).

    Returns
    -------
    numpy.ndarray of bool, shape (...)
    """
    dim = offsets_mm.shape[-1]
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    local = (offsets_mm.reshape(-1, dim) @ rotation) / np.asarray(traits.axes)
    distance = np.linalg.norm(local, axis=1)
    directions = local / np.maximum(distance, 1e-9)[:, None]

    t = traits.irregularity
    n_lobes = 6 if dim == 3 else 4
    n_spicules = int(round(4 + 14 * t)) if dim == 3 else int(round(3 + 8 * t))
    lobe_kappa = np.full(n_lobes, 3.0)
    spicule_kappa = (
        rng.uniform(40.0, 120.0, n_spicules) if dim == 3 else rng.uniform(15.0, 50.0, n_spicules)
    )
    lobes = _bumps(
        directions,
        _random_unit_vectors(rng, n_lobes, dim),
        rng.uniform(-1.0, 1.0, n_lobes) * 0.35 * t,
        lobe_kappa,
    )
    spicules = _bumps(
        directions,
        _random_unit_vectors(rng, n_spicules, dim),
        rng.uniform(0.3, 1.0, n_spicules) * 0.9 * t**1.5,
        spicule_kappa,
    )
    radius = traits.radius_mm * np.maximum(1.0 + lobes + spicules, 0.3)
    return (distance <= radius).reshape(offsets_mm.shape[:-1])


def texture(
    rng: np.random.Generator,
    traits: LesionTraits,
    inside: np.ndarray,
    spacing_mm: tuple[float, ...],
) -> np.ndarray:
    """Lesion intensities on the voxels of `inside`: mean plus smooth zero-mean texture.

    The texture is Gaussian noise smoothed with a sigma of 1.2 mm, rescaled so that its mean
    over `inside` is 0 and its standard deviation is ``traits.heterogeneity_sd``.
    """
    field = rng.standard_normal(inside.shape).astype(np.float32)
    sigma = [1.2 / s for s in spacing_mm]
    field = ndi.gaussian_filter(field, sigma=sigma, mode="nearest")
    values = field[inside]
    if values.size > 1 and values.std() > 0:
        field = (field - values.mean()) / values.std()
    else:
        field = np.zeros_like(field)
    return (traits.mean_value + traits.heterogeneity_sd * field).astype(np.float32)
