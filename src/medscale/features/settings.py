"""Typed settings of the IBSI feature chain, read from YAML, a dict or a built-in preset.

One frozen dataclass per stage, nested in `Settings`::

    name: my-settings
    families: [morphology, statistics, glcm]     # default: all (the IBSI families)
    round_input: false        # round intensities to integers when loading (IBSI CT NIfTI)
    diagnostics: false        # also return the IBSI diagnostic values (image/ROI checks)
    interpolation:
      spacing_mm: 2.0         # null (no resampling), a number, or [z, y, x] with null = keep
      image_interpolator: linear      # nearest | linear | cubic
      mask_interpolator: linear
      mask_threshold: 0.5
      round_intensities: true
    resegmentation:
      range: [-1000, 400]     # HU; null for an open end
      outlier_sigma: 3        # keep mean +/- sigma * SD; null: no outlier filtering
    discretisation:
      method: fixed_bin_size  # fixed_bin_size | fixed_bin_number | none
      bin_width: 25
    ivh:
      discretisation: none
      use_resegmentation_range: true
    texture:
      dimensions: [3D]        # any of 2D, 2.5D, 3D
    filters:                  # IBSI-2 filtered images (default: none)
      original: true          # also the unfiltered image's features (no column prefix)
      response_dtype: float32 # or float64
      specs:                  # `medscale filter` specs; columns log_s2_stat_mean, ...
        - log:sigma_mm=2,boundary=mirror
        - wavelet:name=coif1,band=LHL,boundary=mirror

Built-in presets live in ``medscale/features/presets/<name>.yaml``: `default`, `default-2d`,
`ibsi1-dig`, `ibsi1-a` ... `ibsi1-e` (IBSI-1 reference configurations, arXiv:1612.07003,
chapter 5), `ibsi2-1a` ... `ibsi2-9b` (IBSI-2 phase 2 on the CT phantom, arXiv:2006.05470;
the 18 ``stat_*`` features of one filter response) and `filters-default` (original + LoG
1, 2, 3 mm + the 8 level-1 coif1 wavelet sub-bands, first-order and texture families).

One-slice images (X-ray, ultrasound): `for_image` turns `default` into `default-2d` (2-D shape
``morphology_2d``, 2-D texture), so ``extract(xray_image, xray_mask)`` gives 2-D features.

The types live in `medscale.features.settings_model` and the validation in
`medscale.features.settings_parse`; this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from medscale.errors import ConfigError
from medscale.features.settings_model import (
    DIMENSIONS,
    MAX_BINS,
    MAX_SPACING_MM,
    Discretisation,
    DiscretisationSettings,
    FilterSettings,
    InterpolationSettings,
    Interpolator,
    IvhSettings,
    ResegmentationSettings,
    Settings,
    TextureSettings,
)
from medscale.features.settings_parse import from_dict, preset_names, read_yaml

__all__ = [
    "DIMENSIONS",
    "MAX_BINS",
    "MAX_SPACING_MM",
    "Discretisation",
    "DiscretisationSettings",
    "FilterSettings",
    "InterpolationSettings",
    "Interpolator",
    "IvhSettings",
    "ResegmentationSettings",
    "Settings",
    "TextureSettings",
    "for_image",
    "load_settings",
    "preset_names",
]


def for_image(settings: Settings, shape: tuple[int, ...]) -> Settings:
    """Settings for an image of `shape` (z, y, x): the `default` preset's exact settings become
    `default-2d` when z = 1; anything else is returned unchanged.

    >>> for_image(load_settings("default"), (1, 256, 256)).texture.dimensions
    ('2D',)
    """
    if len(shape) == 3 and shape[0] == 1 and settings == _preset("default"):
        return _preset("default-2d")
    return settings


# -- loading ---------------------------------------------------------------------------------


@cache
def _preset(name: str) -> Settings:
    """A built-in preset, parsed once (Settings are immutable, so sharing is safe)."""
    return from_dict(read_yaml(name), where=name)


def load_settings(source: Settings | str | Path | Mapping[str, Any] = "default") -> Settings:
    """Validated `Settings` from a preset name, a YAML file path, a dict, or `Settings`.

    Raises
    ------
    ConfigError
        Unknown preset, unreadable YAML, unknown key (naming the closest valid one) or a value
        out of range.

    Examples
    --------
    >>> load_settings("ibsi1-c").discretisation.bin_width
    25.0
    >>> load_settings({"discretisation": {"n_bins": 0, "method": "fixed_bin_number"}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    medscale.errors.ConfigError: settings: discretisation.n_bins must be an integer from 1 ...
    """
    if isinstance(source, Settings):
        return source
    if isinstance(source, Mapping):
        return from_dict(source, where="settings")
    if isinstance(source, str) and source in preset_names():
        return _preset(source)
    if isinstance(source, str | Path):
        return from_dict(read_yaml(source), where=str(source))
    raise ConfigError(f"settings must be a preset name, a YAML path or a dict, got {source!r}")
