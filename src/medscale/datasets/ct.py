"""Synthetic chest CT: a body with fat, muscle, lungs with vessels, ribs and spine, one lesion.

The anatomy is scaled to the field of view, so any grid gives a whole (if small) chest
section. Values are Hounsfield units: air -1000, lung about -850, fat -100, soft tissue 40,
vessels 40, cancellous bone 250 and cortical bone 800. The lesion is drawn by
`medscale.datasets.lesion`; then the image is blurred, site calibration applied
(``scale * HU + offset``), correlated noise added, and values rounded to int16.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from medscale.datasets import lesion as lesion_model
from medscale.datasets.case import TISSUE_CODES, SyntheticCase, check_grid, smooth_unit_noise
from medscale.datasets.population import (
    SITES,
    STREAM_CT,
    case_identity,
    header_facts,
    make_case,
    rng_for,
)
from medscale.image import Image

_HU = {"air": -1000.0, "fat": -100.0, "soft_tissue": 40.0, "lung": -850.0, "vessel": 40.0}
_CORTICAL_HU, _CANCELLOUS_HU = 800.0, 250.0


def _anatomy(
    rng: np.random.Generator, shape: tuple[int, int, int], spacing_mm: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(tissue codes uint8, HU float32) of a chest section filling the field of view."""
    nz, ny, nx = shape
    sz, sy, sx = spacing_mm
    z = ((np.arange(nz) - (nz - 1) / 2) * sz)[:, None, None]
    y = ((np.arange(ny) - (ny - 1) / 2) * sy)[None, :, None]
    x = ((np.arange(nx) - (nx - 1) / 2) * sx)[None, None, :]
    half_width = nx * sx / 2
    ax = half_width * rng.uniform(0.86, 0.93)
    ay = min(ny * sy / 2 * 0.9, ax * rng.uniform(0.68, 0.78))
    y_centre = rng.uniform(-0.04, 0.04) * ay
    rho = np.sqrt((x / ax) ** 2 + ((y - y_centre) / ay) ** 2)  # (1, ny, nx)
    theta = np.arctan2(y - y_centre, x)

    codes = np.zeros(shape, dtype=np.uint8)
    hu = np.full(shape, _HU["air"], dtype=np.float32)

    def paint(where: np.ndarray, name: str, value: float | np.ndarray) -> None:
        where = np.broadcast_to(where, shape)
        codes[where] = TISSUE_CODES[name]
        hu[where] = value if np.isscalar(value) else np.broadcast_to(value, shape)[where]

    fat_depth = rng.uniform(0.07, 0.12)
    paint(rho <= 1.0, "fat", _HU["fat"])
    paint(rho <= 1.0 - fat_depth, "soft_tissue", _HU["soft_tissue"])
    # Ribs: a ring cut into segments that drift along z, as oblique ribs do.
    rib_pitch_mm = rng.uniform(18.0, 26.0)
    ribs = (
        (rho >= 0.80 - fat_depth)
        & (rho <= 0.87 - fat_depth)
        & (np.cos(7 * theta + 2 * np.pi * z / rib_pitch_mm) > 0.25)
    )
    paint(ribs, "bone", _CORTICAL_HU)
    # Lungs grow towards the feet (increasing array z).
    scale = 0.8 + 0.2 * (np.arange(nz) / max(nz - 1, 1))[:, None, None]
    lung_x, lung_ax, lung_ay = 0.44 * ax, 0.34 * ax, 0.62 * ay
    lung_y = y_centre - 0.02 * ay
    lungs = (
        ((np.abs(x) - lung_x) / (lung_ax * scale)) ** 2 + ((y - lung_y) / (lung_ay * scale)) ** 2
    ) <= 1.0
    # Lung texture and vessels from two smooth random fields over the lungs' bounding box;
    # vessels lie where both fields are near zero: a set of curves.
    lungs = np.broadcast_to(lungs, shape)
    box = tuple(slice(0, n) for n in shape)
    if lungs.any():
        box = tuple(
            slice(
                int(np.flatnonzero(lungs.any(axis=other)).min()),
                int(np.flatnonzero(lungs.any(axis=other)).max()) + 1,
            )
            for other in ((1, 2), (0, 2), (0, 1))
        )
    box_shape = tuple(b.stop - b.start for b in box)
    sigma = [2.5 / s for s in spacing_mm]
    first, second = (smooth_unit_noise(rng, box_shape, sigma) for _ in range(2))
    in_lung = lungs[box]
    codes[box][in_lung] = TISSUE_CODES["lung"]
    hu[box][in_lung] = (-850.0 + 15.0 * first)[in_lung]
    heart = ((x - 0.12 * ax) / (0.30 * ax)) ** 2 + ((y - y_centre + 0.22 * ay) / (0.32 * ay)) ** 2
    paint(heart <= 1.0, "soft_tissue", 45.0)
    vessels = np.zeros(shape, dtype=bool)
    vessels[box] = in_lung & (np.abs(first) < 0.16) & (np.abs(second) < 0.16)
    vessels &= codes == TISSUE_CODES["lung"]
    paint(vessels, "vessel", _HU["vessel"])
    spine_r = np.hypot(x, y - y_centre - 0.66 * ay)
    paint(spine_r <= 0.17 * ax, "bone", _CORTICAL_HU)
    paint(spine_r <= 0.12 * ax, "bone", _CANCELLOUS_HU)
    return codes, hu


def _place_lesion(
    rng: np.random.Generator,
    codes: np.ndarray,
    traits: lesion_model.LesionTraits,
    spacing_mm: tuple[float, float, float],
) -> np.ndarray:
    """Voxel index (z, y, x) of the lesion centre: in a lung (70 %) or central soft tissue.

    The centre keeps a lesion radius from the grid border and, where the body allows, 1.2
    radius from the skin, so that few lesions are cut flat by the body outline.
    """
    margin = np.ceil(traits.radius_mm / np.asarray(spacing_mm)).astype(int) + 1
    upper = np.asarray(codes.shape) - margin
    margin = np.minimum(margin, np.asarray(codes.shape) // 2 - 1)
    upper = np.maximum(upper, margin + 1)
    central = codes[margin[0] : upper[0], margin[1] : upper[1], margin[2] : upper[2]]
    body = codes.max(axis=0) != TISSUE_CODES["air"]  # the same outline on every slice
    depth_mm = ndi.distance_transform_edt(body, sampling=spacing_mm[1:])
    deep = depth_mm[margin[1] : upper[1], margin[2] : upper[2]] >= 1.2 * traits.radius_mm
    wanted = "lung" if rng.random() < 0.7 else "soft_tissue"
    for allowed in (
        (central == TISSUE_CODES[wanted]) & deep,
        central == TISSUE_CODES[wanted],
        central != TISSUE_CODES["air"],
        np.ones_like(central, dtype=bool),
    ):
        candidates = np.flatnonzero(allowed)
        if candidates.size:
            break
    flat = candidates[int(rng.integers(0, candidates.size))]
    return np.asarray(np.unravel_index(flat, central.shape)) + margin


def generate_ct_case(
    index: int,
    *,
    seed: int = 0,
    shape: tuple[int, int, int] = (40, 96, 96),
    spacing_mm: tuple[float, float, float] = (2.5, 0.8, 0.8),
    n_sites: int = 3,
) -> SyntheticCase:
    """Generate synthetic chest CT case `index`: int16 HU image, lesion mask, label, header.

    Parameters
    ----------
    index : int
        Case number, >= 0. Case ``i`` is the same whether generated alone or in a cohort.
    seed : int
        Cohort seed, >= 0; another seed gives another cohort.
    shape : tuple of int, (z, y, x)
        Grid size in voxels.
    spacing_mm : tuple of float, mm, (z, y, x)
        Voxel spacing.
    n_sites : int
        Number of acquiring sites (1 to 6); each has its own calibration offset/scale, noise
        level, blur and scanners.

    Returns
    -------
    SyntheticCase
        ``image`` int16 HU; ``mask`` the lesion (5 to 20 mm radius, fewer on small grids);
        ``tissue`` the tissue codes before blur and noise.

    Raises
    ------
    ConfigError
        Negative index or seed, unknown number of sites, or a grid too small.

    Examples
    --------
    >>> case = generate_ct_case(3, seed=1)
    >>> case.image.shape, case.image.dtype.name, case.mask.voxel_count > 0
    ((40, 96, 96), 'int16', True)
    """
    shape = tuple(int(n) for n in shape)  # type: ignore[assignment]
    spacing_mm = tuple(float(s) for s in spacing_mm)  # type: ignore[assignment]
    check_grid(shape, spacing_mm, 3)
    identity = case_identity(index, seed=seed, n_sites=n_sites)
    site = SITES[identity.site_index]
    rng = rng_for(seed, index, STREAM_CT)

    codes, hu = _anatomy(rng, shape, spacing_mm)
    extent = np.asarray(shape) * np.asarray(spacing_mm)
    radius_high = float(min(20.0, 0.2 * min(extent[1], extent[2]), 0.35 * extent[0]))
    radius_low = min(5.0, 0.5 * radius_high)
    traits = lesion_model.draw_traits(
        rng,
        identity.label,
        radius_range_mm=(radius_low, radius_high),
        value_range=(10.0, 70.0),
        max_texture_sd=70.0,
        n_axes=3,
    )
    centre = _place_lesion(rng, codes, traits, spacing_mm)
    reach = np.ceil(lesion_model.max_extent_mm(traits) / np.asarray(spacing_mm)).astype(int) + 1
    lower = np.maximum(centre - reach, 0)
    upper = np.minimum(centre + reach + 1, shape)
    box = tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))
    grid = np.stack(
        np.meshgrid(
            *(np.arange(lo, hi) for lo, hi in zip(lower, upper, strict=True)), indexing="ij"
        ),
        axis=-1,
    )
    offsets_mm = (grid - centre) * np.asarray(spacing_mm)
    inside = lesion_model.lesion_mask(rng, traits, offsets_mm) & (codes[box] != 0)
    values = lesion_model.texture(rng, traits, inside, spacing_mm)
    hu[box][inside] = values[inside]
    codes[box][inside] = TISSUE_CODES["lesion"]
    mask_array = np.zeros(shape, dtype=bool)
    mask_array[box] = inside

    blurred = ndi.gaussian_filter(hu, [site.blur_mm / s for s in spacing_mm])
    noise = smooth_unit_noise(rng, shape, [0.0, 0.7, 0.7]) * site.noise_sd
    calibrated = site.hu_scale * blurred + site.hu_offset + noise
    array = np.clip(np.rint(calibrated), -1024, 3071).astype(np.int16)

    origin = tuple(
        float(-(n - 1) * s / 2) for n, s in zip(shape[::-1], spacing_mm[::-1], strict=True)
    )
    origin = (origin[0], origin[1], origin[2] - 150.0)
    meta = {"modality": "CT", "units": "HU", "source": f"synthetic seed={seed} index={index}"}
    image = Image(array, spacing=spacing_mm, origin=origin, meta=meta)
    header = header_facts(identity, seed=seed, index=index, modality="CT")
    header.update({"SliceThickness": spacing_mm[0], "KVP": 120, "ConvolutionKernel": "STANDARD"})
    return make_case(identity, site, image, mask_array, codes, header)
