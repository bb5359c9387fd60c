"""`extract`: the IBSI image-processing chain, then every feature family, for one ROI.

The chain itself (crop, interpolate, re-segment, discretise) is `medscale.features.chain`;
this module runs the families (`medscale.features.registry`) on its `PreparedRoi`. A family
whose module is not installed is skipped (logged once).
"""

from __future__ import annotations

import logging
import time

from medscale.errors import ConfigError
from medscale.features.chain import PreparedRoi, check_inputs, prepare, source_prefix
from medscale.features.family_inputs import FamilyInputs
from medscale.features.pyradiomics_names import NAME_STYLES, rename
from medscale.features.registry import families
from medscale.features.settings import Settings, for_image, load_settings
from medscale.image import Image

log = logging.getLogger(__name__)


def compute_families(
    prepared: PreparedRoi, settings: Settings, timings: dict[str, float] | None = None
) -> dict[str, float]:
    """Every family of `settings.families` on a prepared ROI (families not installed skipped).

    The inputs the families declare (`medscale.features.registry.Family.needs`) are built once,
    before the first family runs, and the same `FamilyInputs` is passed to each.
    """
    selected = families(settings.families)
    inputs = FamilyInputs(prepared, settings)
    start = time.perf_counter()
    inputs.build(tuple(dict.fromkeys(need for family in selected for need in family.needs)))
    if timings is not None:
        timings["inputs"] = time.perf_counter() - start
    found: dict[str, float] = {}
    for family in selected:
        start = time.perf_counter()
        found.update(family.compute(inputs, settings))
        if timings is not None:
            timings[family.name] = timings.get(family.name, 0.0) + time.perf_counter() - start
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
        If given, filled with seconds spent per stage (``chain``, ``inputs``: the inputs the
        families share) and per family.

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


__all__ = ["PreparedRoi", "check_inputs", "compute_families", "extract", "prepare"]
