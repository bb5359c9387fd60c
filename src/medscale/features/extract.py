"""`extract`: the IBSI image-processing chain, then every feature family, for one ROI.

The chain itself (crop, interpolate, re-segment, discretise) is `medscale.features.chain`;
this module runs the families (`medscale.features.registry`) on its `PreparedRoi`. A family
whose module is not installed is skipped (logged once).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from medscale.errors import ConfigError, renamed_argument
from medscale.features.chain import (
    LOCAL_MARGIN_MM,
    PreparedRoi,
    bounding_box,
    check_inputs,
    discretise_roi,
    prepare,
    source_prefix,
)
from medscale.features.family_inputs import FamilyInputs
from medscale.features.filters.bank import column_prefix, filter_responses, support
from medscale.features.filters.spec import parse_filter_spec
from medscale.features.filters.wavelet import decimated_mask
from medscale.features.pyradiomics_names import NAME_STYLES, rename
from medscale.features.registry import families
from medscale.features.settings import ResegmentationSettings, Settings, for_image, load_settings
from medscale.image import Image

#: Families that read only the mask: computed on the original image, not per filter response.
SHAPE_FAMILIES = frozenset({"morphology", "morphology_2d"})

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
    config: Settings | str | dict = "default",
    *,
    names: str = "ibsi",
    timings: dict[str, float] | None = None,
    settings: Settings | str | dict | None = None,
) -> dict[str, float]:
    """IBSI radiomics features of one ROI: the processing chain, then every feature family.

    Parameters
    ----------
    image : Image
        Intensities (e.g. HU), any real dtype; axes (z, y, x).
    mask : Mask
        The ROI on the image's grid.
    config : Settings, preset name, YAML path or dict
        The feature settings (``--config`` on the command line, ``config:`` in a run file).
        See `medscale.features.settings`; presets ``default``, ``default-2d``, ``ibsi1-dig``,
        ``ibsi1-a`` ... ``ibsi1-e``, ``ibsi2-1a`` ... ``ibsi2-9b``, ``filters-default``. For a 2-D
        image (one slice, z = 1) ``default`` is replaced
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
    settings : Settings, preset name, YAML path or dict, optional
        Deprecated spelling of `config` (a `MedscaleDeprecationWarning`).

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
    settings = load_settings(
        renamed_argument(config, settings, "default", names=("settings", "config"), where="extract")
    )
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
    bank = settings.filters
    margin = filter_margin(settings, _working_spacing(image, settings)) if bank.specs else (0, 0, 0)
    prepared = prepare(image, mask, settings, margin=margin)
    if timings is not None:
        timings["chain"] = time.perf_counter() - start
    found = dict(prepared.diagnostics)
    if bank.original:
        found.update(compute_families(prepared, settings, timings))
    if bank.specs:
        found.update(filtered_features(prepared, settings, timings))
    return found if names == "ibsi" else rename(found, names)


def _working_spacing(image: Image, settings: Settings) -> tuple[float, ...]:
    wanted = settings.interpolation.spacing_mm
    if wanted is None:
        return tuple(image.spacing)
    return tuple(
        float(w) if w is not None else s for w, s in zip(wanted, image.spacing, strict=True)
    )


def filter_margin(settings: Settings, spacing_mm: tuple[float, ...]) -> tuple[int, int, int] | None:
    """Working-grid voxels per (z, y, x) axis the filters of `settings` need around the ROI:
    the largest kernel support (`medscale.features.filters.bank.support`); None (the whole
    grid) when one of them has no finite support (periodic boundary, Fourier filters)."""
    widest = np.zeros(3, dtype=int)
    for spec in settings.filters.specs:
        half = support(spec, spacing_mm)
        if half is None:
            return None
        widest = np.maximum(widest, half)
    return (int(widest[0]), int(widest[1]), int(widest[2]))


def filtered_features(
    prepared: PreparedRoi, settings: Settings, timings: dict[str, float] | None = None
) -> dict[str, float]:
    """The families of `settings` on each filter response of `prepared.intensity` (IBSI-2).

    IBSI-2 order: the filters run on the interpolated (and rounded) image of the working
    region, which covers the ROI plus every kernel's support, so the response inside the ROI is
    the whole-image response; the ROI is the intensity mask re-segmented on the *original*
    intensities; the response is not rounded. Per response, the grey levels come from the
    response itself (the discretisation settings, no re-segmentation bound); shape families
    are left out (they do not depend on the intensities). Columns: ``<prefix>_<feature id>``.
    Responses are float32 (for the separable filters) unless ``filters.response_dtype`` says
    float64, one held at a time. A decimated wavelet's features are computed on its decimated
    grid: both masks go to that grid by `medscale.features.filters.wavelet.decimated_mask` and
    the spacing doubles per level on the filtered axes (the module docstring of
    `medscale.features.filters.wavelet`).
    """
    selected = tuple(f for f in settings.families if f not in SHAPE_FAMILIES)
    per_response = replace(
        settings,
        families=selected,
        diagnostics=False,
        resegmentation=ResegmentationSettings(),
        filters=replace(settings.filters, specs=()),
    )
    lower, upper = bounding_box(prepared.morph_mask)
    keep = np.array([int(np.ceil(LOCAL_MARGIN_MM / s)) + 1 for s in prepared.spacing_mm])
    low = np.maximum(lower - keep, 0)
    high = np.minimum(upper + keep, prepared.morph_mask.shape)
    region = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    morph, roi = prepared.morph_mask[region], prepared.intensity_mask[region]
    found: dict[str, float] = {}
    start = time.perf_counter()
    source = prepared.intensity.astype(settings.filters.response_dtype)
    decimated = {}
    for text in settings.filters.specs:
        spec = parse_filter_spec(text)
        if spec.kind == "wavelet" and spec.params["decimated"]:
            decimated[column_prefix(spec)] = spec.params
    for prefix, response in filter_responses(source, prepared.spacing_mm, settings.filters.specs):
        spacing = prepared.spacing_mm
        if prefix in decimated:
            p = decimated[prefix]
            two_d = p["dims"] == 2

            grid = {"name": p["name"], "level": p["level"], "two_d": two_d}
            morph_used = decimated_mask(prepared.morph_mask, **grid)
            roi_used = decimated_mask(prepared.intensity_mask, **grid)
            values = np.asarray(response, dtype=np.float64)
            factor = 2 ** p["level"]
            spacing = (
                spacing[0] * (1 if two_d else factor),
                spacing[1] * factor,
                spacing[2] * factor,
            )
            if not roi_used.any():
                raise ConfigError(
                    f"{prepared.source}filter {prefix}: the ROI has no voxel left on the "
                    f"level-{p['level']} decimated grid"
                )
        else:
            values = np.asarray(response[region], dtype=np.float64)
            morph_used, roi_used = morph, roi
        del response
        if timings is not None:
            timings["filters"] = timings.get("filters", 0.0) + time.perf_counter() - start
        levels, n_levels = discretise_roi(values, roi_used, settings)
        filtered = PreparedRoi(
            values, morph_used, roi_used, levels, n_levels, spacing, {}, prepared.source
        )
        for key, value in compute_families(filtered, per_response, timings).items():
            found[f"{prefix}_{key}"] = value
        start = time.perf_counter()
    return found


__all__ = [
    "SHAPE_FAMILIES",
    "PreparedRoi",
    "check_inputs",
    "compute_families",
    "extract",
    "filter_margin",
    "filtered_features",
    "prepare",
]
