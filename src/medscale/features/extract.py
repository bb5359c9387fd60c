"""`extract`: the IBSI image-processing chain, then every feature family, for one ROI.

The chain itself (crop, interpolate, re-segment, discretise) is `medscale.features.chain`;
this module runs the families on its `PreparedRoi`. A family whose module is not installed is
skipped (logged once).
"""

from __future__ import annotations

import importlib
import logging
import time
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from medscale.errors import ConfigError
from medscale.features.chain import (
    TEXTURE_FAMILIES,
    PreparedRoi,
    bounding_box,
    check_inputs,
    prepare,
    source_prefix,
)
from medscale.features.pyradiomics_names import NAME_STYLES, rename
from medscale.features.registry import FAMILY_MODULES
from medscale.features.settings import Settings, for_image, load_settings
from medscale.features.texture_common import shared_prepare
from medscale.image import Image

log = logging.getLogger(__name__)


@cache
def family_module(family: str) -> ModuleType | None:
    """The module of a feature family, or None (logged once) when it is not installed."""
    name = FAMILY_MODULES[family]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        log.warning("feature family %s is not available (%s missing); skipped", family, name)
        return None


def _padded(array: np.ndarray, region: tuple, pad: int) -> np.ndarray:
    """`array[region]` widened by `pad` voxels on every side, zero / False beyond the grid."""
    lower = [s.start - pad for s in region]
    upper = [s.stop + pad for s in region]
    inner = tuple(
        slice(max(lo, 0), min(hi, n)) for lo, hi, n in zip(lower, upper, array.shape, strict=True)
    )
    out = np.zeros([hi - lo for lo, hi in zip(lower, upper, strict=True)], dtype=array.dtype)
    out[tuple(slice(s.start - lo, s.stop - lo) for s, lo in zip(inner, lower, strict=True))] = (
        array[inner]
    )  # (np.pad does the same with ~10x the Python overhead)
    return out


def compute_families(
    prepared: PreparedRoi, settings: Settings, timings: dict[str, float] | None = None
) -> dict[str, float]:
    """Every family of `settings.families` on a prepared ROI (missing modules skipped)."""
    morph_box = tuple(
        slice(int(lo), int(hi)) for lo, hi in zip(*bounding_box(prepared.morph_mask), strict=True)
    )
    tight = {
        name: _padded(getattr(prepared, name), morph_box, 1)
        for name in ("intensity", "morph_mask", "intensity_mask", "levels")
    }
    values = prepared.intensity[prepared.intensity_mask]
    reseg_range = settings.resegmentation.range
    ivh_range = None
    if reseg_range is not None and settings.ivh.use_resegmentation_range:
        ivh_range = reseg_range
    ivh = settings.ivh
    calls: dict[str, Any] = {
        "morphology": lambda m: m.compute(
            tight["morph_mask"],
            prepared.spacing_mm,
            intensity=tight["intensity"],
            intensity_mask=tight["intensity_mask"],
        ),
        "morphology_2d": lambda m: m.compute(
            tight["morph_mask"],
            prepared.spacing_mm,
            intensity=tight["intensity"],
            intensity_mask=tight["intensity_mask"],
        ),
        "local_intensity": lambda m: m.compute(
            prepared.intensity, prepared.intensity_mask, prepared.spacing_mm
        ),
        "statistics": lambda m: m.compute(values),
        "intensity_histogram": lambda m: m.compute(
            prepared.levels[prepared.intensity_mask], prepared.n_levels
        ),
        "intensity_volume_histogram": lambda m: m.compute(
            values,
            discretisation=ivh.discretisation.value,
            bin_width=ivh.bin_width,
            n_bins=ivh.n_bins,
            value_range=ivh_range,
        ),
    }
    found: dict[str, float] = {}
    with shared_prepare():  # the texture families crop the same arrays once
        for family in settings.families:
            module = family_module(family)
            if module is None:
                continue
            start = time.perf_counter()
            if family in TEXTURE_FAMILIES:
                extra = {"morph_roi": tight["morph_mask"]} if family == "gldzm" else {}
                for dimension in settings.texture.dimensions:
                    found.update(
                        module.compute(
                            tight["levels"],
                            tight["intensity_mask"],
                            prepared.n_levels,
                            dimension=dimension,
                            **extra,
                        )
                    )
            else:
                found.update(calls[family](module))
            if timings is not None:
                timings[family] = timings.get(family, 0.0) + time.perf_counter() - start
    return found


def extract(
    image: Image,
    mask: Image,
    settings: Settings | str | dict = "default",
    *,
    names: str = "ibsi",
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """IBSI radiomics features of one ROI: the processing chain, then every feature family.

    Parameters
    ----------
    image : Image
        Intensities (e.g. HU), any real dtype; axes (z, y, x).
    mask : Mask
        The ROI on the image's grid.
    settings : Settings, preset name, YAML path or dict
        See `medscale.features.settings`; presets ``default``, ``default-2d``, ``ibsi1-dig``,
        ``ibsi1-a`` ... ``ibsi1-e``. For a 2-D image (one slice, z = 1) ``default`` is replaced
        by ``default-2d``: 2-D shape (``morph_2d_*``, not IBSI) and 2-D texture (``_2D`` ids)
        instead of the 3-D morphology and texture of a one-slice volume. Other settings are
        used as given.
    names : {"ibsi", "pyradiomics"}
        Output ids: IBSI ids (default), or pyradiomics's ``original_<class>_<Feature>`` names
        for the features pyradiomics defines the same way (others keep their IBSI id; see
        `medscale.features.pyradiomics_names`).
    timings : dict, optional
        If given, filled with seconds spent per stage (``chain``) and per family.

    Returns
    -------
    dict of str to float
        Feature id -> value; IBSI diagnostic values first when the settings ask for them.
        Features IBSI leaves undefined for this input are NaN (with a `MedscaleWarning`).

    Raises
    ------
    MaskError
        Empty mask, mask outside the image, ROI lost in resampling or re-segmentation.
    GeometryError
        Mask not on the image grid.
    InputError
        NaN / infinite voxels around the ROI, non-numeric image.
    ConfigError
        Invalid settings, unknown preset or unknown naming style.

    Examples
    --------
    >>> import numpy as np
    >>> from medscale import Image, Mask
    >>> image = Image(np.arange(64.0).reshape(4, 4, 4), spacing=(2.0, 2.0, 2.0))
    >>> mask = Mask.like(image, image.array > 20)
    >>> features = extract(image, mask, {"families": []})
    >>> features
    {}
    """
    if names not in NAME_STYLES:
        raise ConfigError(f"names must be one of {', '.join(NAME_STYLES)}, got {names!r}")
    settings = load_settings(settings)
    resolved = for_image(settings, image.shape)
    if resolved is not settings:
        log.info(
            "%sone-slice image: settings %r -> %r",
            source_prefix(image),
            settings.name,
            resolved.name,
        )
        settings = resolved
    start = time.perf_counter()
    prepared = prepare(image, mask, settings)
    if timings is not None:
        timings["chain"] = time.perf_counter() - start
    found = dict(prepared.diagnostics)
    found.update(compute_families(prepared, settings, timings))
    return found if names == "ibsi" else rename(found, names)


__all__ = [
    "TEXTURE_FAMILIES",
    "PreparedRoi",
    "check_inputs",
    "compute_families",
    "extract",
    "family_module",
    "prepare",
]
