"""`FamilyInputs`: what the feature families read from one prepared ROI, each built once.

A family names the inputs it needs (`medscale.features.registry.INPUTS`); `compute_families`
builds those of the requested families before the first family runs and hands the same
`FamilyInputs` to each, so that work several families share (the cropped texture array of the
six texture families) is done once and passed explicitly.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np

from medscale.errors import ConfigError
from medscale.features import texture_common as tc
from medscale.features.chain import MAX_TEXTURE_LEVELS, PreparedRoi, bounding_box
from medscale.features.settings_model import Settings


def widened(array: np.ndarray, region: tuple[slice, ...], pad: int) -> np.ndarray:
    """`array[region]` widened by `pad` voxels on every side, zero / False beyond the grid."""
    lower = [s.start - pad for s in region]
    upper = [s.stop + pad for s in region]
    inner = tuple(
        slice(max(lo, 0), min(hi, n)) for lo, hi, n in zip(lower, upper, array.shape, strict=True)
    )
    out = np.zeros([hi - lo for lo, hi in zip(lower, upper, strict=True)], dtype=array.dtype)
    out[tuple(slice(s.start - lo, s.stop - lo) for s, lo in zip(inner, lower, strict=True))] = (
        array[inner]
    )
    return out


class FamilyInputs:
    """The inputs of the feature families for one ROI (see `medscale.features.registry`).

    Parameters
    ----------
    prepared : PreparedRoi
        The ROI after the IBSI chain.
    settings : Settings
        The settings it was prepared with.

    Attributes
    ----------
    roi : PreparedRoi
        The prepared ROI itself, on the working grid (the ROI box and its margin).
    box : PreparedRoi
        The same arrays cropped to the bounding box of the morphological mask, widened by one
        voxel (zero / False beyond the working grid): the shape families' input.
    values : numpy.ndarray of float64, shape (n,)
        Intensities of the voxels of the intensity mask.
    roi_levels : numpy.ndarray of int64, shape (n,)
        Their grey levels.
    texture : numpy.ndarray of int64 or None
        `texture_common.prepare` of the box's levels and intensity mask (margin 1): levels
        with 0 outside the ROI, one outside voxel on every side; None for an empty ROI.
    """

    def __init__(self, prepared: PreparedRoi, settings: Settings) -> None:
        self.roi = prepared
        self.settings = settings

    def build(self, needs: tuple[str, ...]) -> None:
        """Build the inputs named in `needs` now (errors before any family has run)."""
        for need in needs:
            getattr(self, need)

    @cached_property
    def box(self) -> PreparedRoi:
        roi = self.roi
        region = tuple(
            slice(int(lo), int(hi)) for lo, hi in zip(*bounding_box(roi.morph_mask), strict=True)
        )
        return replace(
            roi,
            intensity=widened(roi.intensity, region, 1),
            morph_mask=widened(roi.morph_mask, region, 1),
            intensity_mask=widened(roi.intensity_mask, region, 1),
            levels=widened(roi.levels, region, 1),
        )

    @cached_property
    def values(self) -> np.ndarray:
        return self.roi.intensity[self.roi.intensity_mask]

    @cached_property
    def roi_levels(self) -> np.ndarray:
        return self.roi.levels[self.roi.intensity_mask]

    @cached_property
    def texture(self) -> np.ndarray | None:
        n_levels = self.roi.n_levels
        if n_levels > MAX_TEXTURE_LEVELS:
            raise ConfigError(
                f"{self.roi.source}discretisation gives {n_levels} grey levels (more than "
                f"{MAX_TEXTURE_LEVELS}): texture matrices would need Ng^2 cells; use a wider "
                f"bin_width (now {self.settings.discretisation.bin_width}) or fixed_bin_number"
            )
        box = self.box
        padded = tc.prepare(box.levels, box.intensity_mask, n_levels, margin=1)
        if padded is not None:
            padded.flags.writeable = False  # shared by every texture family
        return padded


__all__ = ["FamilyInputs", "widened"]
