"""Synthetic chest radiograph (PA projection) with one nodule.

The picture is built as a projected attenuation ``A(y, x)`` (0 in air, about 1 through the
mediastinum): a torso whose thickness falls off towards the sides, two darker lung fields,
a bright mediastinum with heart and spine, curved ribs across the lungs, and a nodule with the
same label logic as the CT lesion (`medscale.datasets.lesion`). Grey levels are
``200 + 3000 A``, blurred, calibrated per site and noised, stored as uint16 (12-bit range),
MONOCHROME2 (dense is bright).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from medscale.datasets import lesion as lesion_model
from medscale.datasets.case import TISSUE_CODES, SyntheticCase, check_grid, smooth_unit_noise
from medscale.datasets.population import (
    SITES,
    STREAM_XRAY,
    case_identity,
    header_facts,
    make_case,
    rng_for,
)
from medscale.image import Image

_GREY_PER_UNIT, _GREY_AIR = 3000.0, 200.0


def _chest(
    rng: np.random.Generator, shape: tuple[int, int], spacing_mm: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(attenuation float32, tissue codes uint8, lung-field bool) of a PA chest projection."""
    ny, nx = shape
    sy, sx = spacing_mm
    y = ((np.arange(ny) - (ny - 1) / 2) * sy)[:, None]
    x = ((np.arange(nx) - (nx - 1) / 2) * sx)[None, :]
    half_width = nx * sx / 2
    ax = half_width * rng.uniform(0.82, 0.9)
    body = np.broadcast_to(np.abs(x) < ax, shape)
    thickness = np.sqrt(np.clip(1.0 - (x / ax) ** 2, 0.0, None))
    attenuation = np.broadcast_to(0.75 * thickness, shape).astype(np.float32)
    codes = np.where(body, TISSUE_CODES["soft_tissue"], TISSUE_CODES["air"]).astype(np.uint8)

    height = ny * sy / 2
    lung_x, lung_ax = 0.45 * ax, 0.33 * ax
    lung_y, lung_ay = -0.05 * height, 0.72 * height
    lung_shape = ((np.abs(x) - lung_x) / lung_ax) ** 2 + ((y - lung_y) / lung_ay) ** 2
    lungs = lung_shape <= 1.0
    # Lung fields are darker, most in their middle.
    attenuation = attenuation - 0.45 * np.sqrt(np.clip(1.0 - lung_shape, 0.0, None))
    codes[lungs] = TISSUE_CODES["lung"]
    heart = ((x - 0.12 * ax) / (0.3 * ax)) ** 2 + ((y - 0.35 * height) / (0.3 * height)) ** 2
    attenuation = attenuation + 0.2 * np.sqrt(np.clip(1.0 - heart, 0.0, None))
    codes[(heart <= 1.0) & lungs] = TISSUE_CODES["soft_tissue"]
    spine = np.broadcast_to(np.abs(x) < 0.09 * ax, shape)
    attenuation = attenuation + 0.15 * spine
    # Posterior ribs: bands that curve down towards the sides.
    rib_gap = 2 * lung_ay / rng.uniform(8.5, 10.5)
    curve = y - 0.35 * np.abs(x) ** 2 / ax - rng.uniform(0, rib_gap)
    ribs = (
        (np.mod(curve, rib_gap) < 0.28 * rib_gap)
        & (np.abs(x) < 0.9 * ax)
        & (np.abs(x) > 0.09 * ax)
        & (np.abs(y) < 0.85 * height)
    )
    attenuation = attenuation + 0.12 * ribs
    codes[ribs | spine] = TISSUE_CODES["bone"]
    attenuation = attenuation + 0.03 * smooth_unit_noise(rng, shape, [4.0 / sy, 4.0 / sx])
    attenuation = np.where(body, attenuation, 0.0).astype(np.float32)
    return attenuation, codes, lungs & body


def generate_xray_case(
    index: int,
    *,
    seed: int = 0,
    shape: tuple[int, int] = (256, 256),
    spacing_mm: tuple[float, float] = (0.5, 0.5),
    n_sites: int = 3,
) -> SyntheticCase:
    """Generate synthetic chest radiograph case `index` with a nodule mask and label.

    Parameters
    ----------
    index : int
        Case number, >= 0; deterministic from ``(seed, index)``.
    seed : int
        Cohort seed, >= 0.
    shape : tuple of int, (y, x)
        Picture size in pixels.
    spacing_mm : tuple of float, mm, (y, x)
        Pixel spacing.
    n_sites : int
        Number of acquiring sites (1 to 6).

    Returns
    -------
    SyntheticCase
        ``image`` uint16 grey levels, shape (1, y, x), z spacing 1 mm; ``mask`` the nodule;
        ``case_id`` ``"xray_NNNNN"``; header Modality ``"CR"``.

    Raises
    ------
    ConfigError
        Negative index or seed, unknown number of sites, or a grid too small.

    Examples
    --------
    >>> case = generate_xray_case(0)
    >>> case.image.shape, case.image.dtype.name
    ((1, 256, 256), 'uint16')
    """
    shape = tuple(int(n) for n in shape)  # type: ignore[assignment]
    spacing_mm = tuple(float(s) for s in spacing_mm)  # type: ignore[assignment]
    check_grid(shape, spacing_mm, 2)
    identity = case_identity(index, seed=seed, n_sites=n_sites, prefix="xray")
    site = SITES[identity.site_index]
    rng = rng_for(seed, index, STREAM_XRAY)
    attenuation, codes, lung_fields = _chest(rng, shape, spacing_mm)

    extent = np.asarray(shape) * np.asarray(spacing_mm)
    radius_high = float(min(20.0, 0.12 * extent.min()))
    traits = lesion_model.draw_traits(
        rng,
        identity.label,
        radius_range_mm=(min(5.0, 0.5 * radius_high), radius_high),
        value_range=(0.10, 0.25),
        max_texture_sd=0.07,
        n_axes=2,
    )
    margin = np.ceil(traits.radius_mm / np.asarray(spacing_mm)).astype(int) + 1
    central = np.zeros(shape, dtype=bool)
    central[margin[0] : shape[0] - margin[0], margin[1] : shape[1] - margin[1]] = True
    candidates = np.flatnonzero(lung_fields & central)
    if candidates.size == 0:
        candidates = np.flatnonzero(central)
    centre = np.asarray(np.unravel_index(candidates[int(rng.integers(0, candidates.size))], shape))
    offsets_mm = (np.moveaxis(np.indices(shape), 0, -1) - centre) * np.asarray(spacing_mm)
    inside = lesion_model.lesion_mask(rng, traits, offsets_mm) & (codes != TISSUE_CODES["air"])
    opacity = lesion_model.texture(rng, traits, inside, spacing_mm)
    attenuation = np.where(inside, attenuation + opacity, attenuation)
    codes[inside] = TISSUE_CODES["lesion"]

    grey = _GREY_AIR + _GREY_PER_UNIT * ndi.gaussian_filter(
        attenuation, [site.blur_mm / s for s in spacing_mm]
    )
    grey = site.hu_scale * grey + 3.0 * site.hu_offset
    grey = grey + 2.0 * site.noise_sd * smooth_unit_noise(rng, shape, [0.8, 0.8])
    array = np.clip(np.rint(grey), 0, 4095).astype(np.uint16)[np.newaxis]

    spacing3 = (1.0, spacing_mm[0], spacing_mm[1])
    origin = (0.0, 0.0, 0.0)  # a radiograph has no patient position (DICOM CR stores none)
    meta = {
        "modality": "CR",
        "units": "grey level",
        "source": f"synthetic seed={seed} index={index}",
    }
    image = Image(array, spacing=spacing3, origin=origin, meta=meta)
    header = header_facts(identity, seed=seed, index=index, modality="CR")
    header.update({"ViewPosition": "PA", "PhotometricInterpretation": "MONOCHROME2"})
    return make_case(identity, site, image, inside[np.newaxis], codes[np.newaxis], header)
