"""The IBSI image-processing chain for one ROI, up to the inputs of the feature families.

The chain (IBSI-1 chapter 2, arXiv:1612.07003): check the inputs; crop to the ROI with a
margin; optionally round the loaded intensities; interpolate image and mask to the new grid
(mask: partial-volume threshold; image: optional rounding); the interpolated mask is the
*morphological* mask; range / outlier re-segmentation of it gives the *intensity* mask;
discretise the intensities inside the intensity mask. `prepare` returns all of it as a
`PreparedRoi`; `medscale.features.extract` then runs the families on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from medscale.errors import InputError, MaskError
from medscale.features import diagnostics as diag
from medscale.features.discretisation import discretise
from medscale.features.interpolation import (
    aligned_grid,
    region_around,
    resample_image,
    resample_mask,
)
from medscale.features.resegmentation import resegment
from medscale.features.settings import Settings
from medscale.image import Image, Mask

LOCAL_MARGIN_MM = 6.3  # > radius of the 1 cm^3 sphere of the local intensity features, 6.204 mm
MAX_TEXTURE_LEVELS = 4096  # Ng above this makes Ng x Ng texture matrices absurd (> 100 MB)
# (checked where the texture families' input is built: `family_inputs.FamilyInputs.texture`)


@dataclass(frozen=True)
class PreparedRoi:
    """The ROI after the chain, on the working grid (a box around the ROI, or the whole grid).

    Attributes
    ----------
    intensity : numpy.ndarray, float64, (z, y, x)
        Intensities after interpolation and rounding (not discretised).
    morph_mask, intensity_mask : numpy.ndarray, bool, same shape
        The morphological mask (interpolated) and the intensity mask (re-segmented).
    levels : numpy.ndarray, int64, same shape
        Grey levels 1..n_levels inside the intensity mask, 0 elsewhere.
    n_levels : int
        Number of grey levels Ng.
    spacing_mm : (z, y, x) mm
    diagnostics : dict
        IBSI diagnostic values, when the settings ask for them.
    source : str
        ``'<source file>: '`` of the image, for error messages (``''`` when it has none).
    """

    intensity: np.ndarray
    morph_mask: np.ndarray
    intensity_mask: np.ndarray
    levels: np.ndarray
    n_levels: int
    spacing_mm: tuple[float, float, float]
    diagnostics: dict[str, float] = field(default_factory=dict)
    source: str = ""


def source_prefix(image: Image) -> str:
    """``'<source file>: '`` for error messages, or ``''`` when the image has no source."""
    source = image.meta.get("source") if image.meta else None
    return f"{source}: " if source else ""


def check_inputs(image: Image, mask: Image) -> Mask:
    """Raise a clear error for an unusable image / mask pair; return the mask as `Mask`."""
    where = source_prefix(image)
    if not isinstance(image, Image):
        raise InputError(f"extract needs a medscale Image, got {type(image).__name__}")
    if not isinstance(mask, Image):
        raise MaskError(f"{where}extract needs a medscale Mask, got {type(mask).__name__}")
    if not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating):
        raise InputError(f"{where}image voxels must be real numbers, got dtype {image.dtype}")
    if not isinstance(mask, Mask):
        mask = Mask(mask.array, mask.spacing, mask.origin, mask.direction, mask.meta)
    if not image.geometry_equal(mask):
        corners = np.array(np.meshgrid(*[[0, n - 1] for n in mask.shape], indexing="ij"))
        world = mask.index_to_world(corners.reshape(3, -1).T)
        index = image.world_to_index(world)
        low, high = index.min(axis=0), index.max(axis=0)
        if np.any(high < -0.5) or np.any(low > np.array(image.shape) - 0.5):
            raise MaskError(
                f"{where}the mask lies outside the image: its grid covers image "
                f"indices {low.round(1).tolist()} to {high.round(1).tolist()} "
                f"(z, y, x) of an image of shape {image.shape}"
            )
        image.require_same_grid(mask, what="mask")
    if not mask.array.any():
        raise MaskError(f"{where}the mask is empty: no voxel is set; check the label value")
    return mask


def _box(lower: np.ndarray, upper: np.ndarray, shape: tuple[int, ...], pad: Any) -> tuple:
    lower = np.maximum(lower - pad, 0)
    upper = np.minimum(upper + pad, shape)
    return tuple(slice(int(lo), int(hi)) for lo, hi in zip(lower, upper, strict=True))


def bounding_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) indices, upper exclusive, of the set voxels of a non-empty 3-D mask.

    One pass over the whole mask (slices that hold the ROI), then passes over that slab only.
    """
    slices = np.flatnonzero(mask.any(axis=(1, 2)))
    slab: np.ndarray = np.any(mask[slices[0] : slices[-1] + 1], axis=0)
    rows, columns = np.flatnonzero(slab.any(axis=1)), np.flatnonzero(slab.any(axis=0))
    lower = np.array([slices[0], rows[0], columns[0]])
    upper = np.array([slices[-1], rows[-1], columns[-1]]) + 1
    return lower, upper


def _margin_voxels(spacing_mm: tuple[float, ...]) -> np.ndarray:
    return np.array([math.ceil(LOCAL_MARGIN_MM / s) + 1 for s in spacing_mm])


def _check_finite(intensity: np.ndarray, where: str) -> None:
    bad = ~np.isfinite(intensity)
    if bad.any():
        raise InputError(
            f"{where}the image has {int(bad.sum())} NaN or infinite voxels in the "
            "region of the ROI; fill or mask them before extracting features"
        )


@dataclass(frozen=True)
class _Work:
    """Where the chain works on one ROI: its bounding box (`lower`, `upper` exclusive, input
    voxels), the margin the filters need around it (working-grid voxels; None: the whole grid),
    whether the diagnostics keep the whole grid, and the prefix of messages."""

    lower: np.ndarray
    upper: np.ndarray
    margin: np.ndarray | None
    keep_all: bool
    where: str


def _crop(
    image: Image, mask: Mask, settings: Settings, work: _Work
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """No resampling: intensities (float64) and mask around the ROI (or whole), spacing."""
    region = (
        tuple(slice(0, n) for n in image.shape)
        if work.keep_all or work.margin is None
        else _box(
            work.lower,
            work.upper,
            image.shape,
            np.maximum(_margin_voxels(image.spacing), work.margin),
        )
    )
    intensity = np.asarray(image.array[region], dtype=np.float64)
    if not work.keep_all:  # (keep_all: checked and rounded on the whole image already)
        _check_finite(intensity, work.where)
        if settings.round_input:
            intensity = np.round(intensity)
    return intensity, np.array(mask.array[region]), image.spacing


def _resample(
    image: Image, mask: Mask, settings: Settings, work: _Work
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Resampled intensities and morphological mask around the ROI (or whole grid), spacing."""
    interp = settings.interpolation
    assert interp.spacing_mm is not None
    grid = aligned_grid(image.shape, image.spacing, interp.spacing_mm)
    if work.keep_all:
        box_low, box_high = np.zeros(3, int), np.array(grid.shape)
    else:  # work on the input around the ROI only, with the grid re-based on that crop
        if work.margin is None:
            box_low, box_high = np.zeros(3, int), np.array(grid.shape)
        else:
            margin_mm = LOCAL_MARGIN_MM + 2 * max(grid.spacing_mm)
            filter_mm = max(m * s for m, s in zip(work.margin, grid.spacing_mm, strict=True))
            box_low, box_high = region_around(
                grid,
                work.lower,
                work.upper,
                margin_mm=max(margin_mm, filter_mm + max(grid.spacing_mm)),
            )
        source_low, source_high = _support_box(grid, box_low, box_high, image.shape)
        image = image.crop(source_low, source_high)
        mask = cast(Mask, mask.crop(source_low, source_high))
        raw = np.asarray(image.array, dtype=np.float64)
        _check_finite(raw, work.where)
        image = image.with_array(np.round(raw) if settings.round_input else raw)
        start = np.array(grid.start_index) - source_low
        grid = replace(grid, start_index=(float(start[0]), float(start[1]), float(start[2])))
    resampled = resample_image(
        image,
        grid,
        order=interp.image_interpolator.order,
        lower=box_low,
        upper=box_high,
        round_intensities=interp.round_intensities,
    )
    morph = resample_mask(
        mask,
        grid,
        order=interp.mask_interpolator.order,
        threshold=interp.mask_threshold,
        lower=box_low,
        upper=box_high,
    )
    if morph.is_empty:
        raise MaskError(
            f"{work.where}the ROI ({mask.voxel_count} voxels) vanishes when "
            f"resampled to {grid.spacing_mm} mm; use a finer spacing"
        )
    return np.asarray(resampled.array), np.asarray(morph.array), grid.spacing_mm


def discretise_roi(
    intensity: np.ndarray,
    roi: np.ndarray,
    settings: Settings,
    *,
    lower_bound: float | None = None,
) -> tuple[np.ndarray, int]:
    """`discretisation.discretise` with the method, bin width and number of bins of
    ``settings.discretisation``: the levels (1..Ng inside `roi`, 0 outside) and Ng."""
    disc = settings.discretisation
    return discretise(
        intensity,
        roi,
        method=disc.method.value,
        bin_width=disc.bin_width,
        n_bins=disc.n_bins,
        lower_bound=lower_bound,
    )


def prepare(
    image: Image,
    mask: Image,
    settings: Settings,
    *,
    margin: tuple[int, int, int] | None = (0, 0, 0),
) -> PreparedRoi:
    """Run the IBSI chain: crop, interpolate, re-segment, discretise (see module docstring).

    ``margin`` widens the working region (the ROI's bounding box plus the local-intensity
    margin) to at least that many working-grid voxels per (z, y, x) axis around the ROI, for
    the filters' kernel support; None keeps the whole grid.
    """
    checked = check_inputs(image, mask)
    pad_to = None if margin is None else np.asarray(margin, dtype=int)
    where = source_prefix(image)
    keep_all = settings.diagnostics
    lower, upper = bounding_box(checked.array)
    found: dict[str, float] = {}
    if keep_all:
        initial = np.asarray(image.array, dtype=np.float64)
        _check_finite(initial, where)
        if settings.round_input:
            initial = np.round(initial)
        found.update(diag.image_diagnostics(initial, image.spacing, stage="init"))
        found.update(diag.roi_diagnostics(initial, checked.array, checked.array, stage="init"))
        image = image.with_array(initial)
    stage = _crop if settings.interpolation.spacing_mm is None else _resample
    work = _Work(lower, upper, margin=pad_to, keep_all=keep_all, where=where)
    intensity, morph, spacing = stage(image, checked, settings, work)
    if keep_all:
        found.update(diag.image_diagnostics(intensity, spacing, stage="interp"))
        found.update(diag.roi_diagnostics(intensity, morph, morph, stage="interp"))
    reseg = settings.resegmentation
    intensity_mask = resegment(
        intensity, morph, value_range=reseg.range, outlier_sigma=reseg.outlier_sigma
    )
    if keep_all:
        found.update(diag.roi_diagnostics(intensity, morph, intensity_mask, stage="reseg"))
    if not intensity_mask.any():
        raise MaskError(
            f"{where}no ROI voxel is left after re-segmentation "
            f"(range {reseg.range}, outlier sigma {reseg.outlier_sigma})"
        )
    if keep_all and pad_to is not None:  # crop the whole grid now that diagnostics are done
        region = _box(
            *bounding_box(morph), morph.shape, np.maximum(_margin_voxels(spacing), pad_to)
        )
        intensity, morph, intensity_mask = intensity[region], morph[region], intensity_mask[region]
    lower_bound = reseg.range[0] if reseg.range is not None else None
    levels, n_levels = discretise_roi(intensity, intensity_mask, settings, lower_bound=lower_bound)
    return PreparedRoi(
        intensity, morph, intensity_mask, levels, n_levels, spacing, found, source=where
    )


def _support_box(
    grid: Any, low: np.ndarray, high: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    positions = grid.input_positions(low, high)
    first = np.array([math.floor(p.min()) - 13 if p.size else 0 for p in positions])
    last = np.array([math.ceil(p.max()) + 14 if p.size else 0 for p in positions])
    return np.clip(first, 0, shape), np.clip(last, 0, shape)


__all__ = [
    "LOCAL_MARGIN_MM",
    "MAX_TEXTURE_LEVELS",
    "PreparedRoi",
    "bounding_box",
    "check_inputs",
    "discretise_roi",
    "prepare",
    "source_prefix",
]
