"""Validation of feature settings: YAML text, a dict or a preset name -> `Settings`.

Every key is checked against the dataclass fields of `medscale.features.settings_model` (an
unknown key is a `ConfigError` naming it and the closest valid key), every value against its
range. The public entry point is `medscale.features.settings.load_settings`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from medscale.errors import ConfigError
from medscale.features.registry import IBSI_FAMILIES, family_names
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


def preset_names() -> list[str]:
    """Names of the built-in presets (files in medscale/features/presets)."""
    return list(_preset_names())


@cache
def _preset_names() -> tuple[str, ...]:
    folder = resources.files("medscale.features") / "presets"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def read_yaml(source: str | Path) -> Mapping[str, Any]:
    """The mapping in a preset (by name) or a YAML file (by path); ConfigError otherwise."""
    import yaml

    text_source = str(source)
    if text_source in preset_names():
        folder = resources.files("medscale.features") / "presets"
        text = (folder / f"{text_source}.yaml").read_text()
    elif text_source.endswith((".yaml", ".yml")) or Path(text_source).is_file():
        path = Path(text_source)
        if not path.is_file():
            raise ConfigError(f"{path}: settings file not found")
        text = path.read_text()
    else:
        close = difflib.get_close_matches(text_source, preset_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown preset {text_source!r} (presets: {', '.join(preset_names())}){hint}"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{text_source}: not valid YAML ({err})") from err
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{text_source}: settings must be a YAML mapping, got {type(data).__name__}"
        )
    return data


def _check_keys(data: Mapping[str, Any], cls: type, where: str) -> None:
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.4)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r}{hint} (valid keys: {', '.join(valid)})"
            )


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a mapping, got {value!r}")
    _check_keys(value, _SECTIONS[key][0], f"{where}: {key}")
    return value


def _enum(enum_cls: type[Enum], value: Any, name: str) -> Any:
    try:
        return enum_cls(str(value).lower())
    except ValueError:
        valid = ", ".join(member.value for member in enum_cls)  # type: ignore[attr-defined]
        raise ConfigError(f"{name} must be one of {valid}, got {value!r}") from None


def _number(
    value: Any,
    name: str,
    *,
    low: float,
    high: float,
    allow_none: bool = True,
    integer: bool = False,
) -> Any:
    if value is None and allow_none:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g}, got {value!r}")
    if integer and float(value) != int(value):
        raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g}, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g}, got {value!r}")
    return int(value) if integer else float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _spacing(value: Any, name: str) -> tuple[float | None, float | None, float | None] | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        size = _number(value, name, low=1e-3, high=MAX_SPACING_MM, allow_none=False)
        return (size, size, size)
    if isinstance(value, list | tuple) and len(value) == 3:
        triple = tuple(_number(v, name, low=1e-3, high=MAX_SPACING_MM) for v in value)
        return None if all(v is None for v in triple) else triple  # type: ignore[return-value]
    raise ConfigError(
        f"{name} must be null, a number or [z, y, x] (null keeps an axis), got {value!r}"
    )


def _default(cls: type, key: str) -> Any:
    """The default of field `key` of the settings dataclass `cls` (the one place it is written)."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == key)


def _discretisation(data: Mapping[str, Any], name: str, default: Discretisation) -> dict[str, Any]:
    method = _enum(
        Discretisation, data.get("method", data.get("discretisation", default)), f"{name} method"
    )
    bin_width = _number(data.get("bin_width"), f"{name}.bin_width", low=1e-9, high=1e9)
    n_bins = _number(data.get("n_bins"), f"{name}.n_bins", low=1, high=MAX_BINS, integer=True)
    if method is Discretisation.FIXED_BIN_SIZE and bin_width is None:
        raise ConfigError(f"{name}: fixed_bin_size needs a positive bin_width")
    if method is Discretisation.FIXED_BIN_NUMBER and n_bins is None:
        raise ConfigError(f"{name}: fixed_bin_number needs n_bins")
    return {"bin_width": bin_width, "n_bins": n_bins, "method": method}


def _interpolation(data: Mapping[str, Any], where: str) -> InterpolationSettings:
    checks: dict[str, Callable[[Any, str], Any]] = {
        "spacing_mm": _spacing,
        "image_interpolator": lambda value, name: _enum(Interpolator, value, name),
        "mask_interpolator": lambda value, name: _enum(Interpolator, value, name),
        "mask_threshold": lambda value, name: _number(
            value, name, low=1e-6, high=1.0, allow_none=False
        ),
        "round_intensities": _bool,
    }
    return InterpolationSettings(
        **{key: checks[key](value, f"{where}.{key}") for key, value in data.items()}
    )


def _resegmentation(data: Mapping[str, Any], where: str) -> ResegmentationSettings:
    bounds = data.get("range")
    if bounds is not None:
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ConfigError(f"{where}.range must be [lower, upper], got {bounds!r}")
        bounds = tuple(_number(b, f"{where}.range", low=-1e12, high=1e12) for b in bounds)
        if None not in bounds and bounds[0] > bounds[1]:
            raise ConfigError(f"{where}.range lower {bounds[0]:g} is above upper {bounds[1]:g}")
        if bounds == (None, None):
            bounds = None
    sigma = _number(data.get("outlier_sigma"), f"{where}.outlier_sigma", low=1e-3, high=1e3)
    return ResegmentationSettings(range=bounds, outlier_sigma=sigma)


def _discretisation_settings(data: Mapping[str, Any], where: str) -> DiscretisationSettings:
    method = _default(DiscretisationSettings, "method")
    given = dict(data)
    if given.get("method", method) == Discretisation.FIXED_BIN_SIZE:
        given.setdefault("bin_width", _default(DiscretisationSettings, "bin_width"))
    return DiscretisationSettings(**_discretisation(given, where, method))


def _ivh(data: Mapping[str, Any], where: str) -> IvhSettings:
    parts = _discretisation(data, where, _default(IvhSettings, "discretisation"))
    key = "use_resegmentation_range"
    return IvhSettings(
        discretisation=parts["method"],
        bin_width=parts["bin_width"],
        n_bins=parts["n_bins"],
        use_resegmentation_range=_bool(data.get(key, _default(IvhSettings, key)), f"{where}.{key}"),
    )


def _texture(data: Mapping[str, Any], where: str) -> TextureSettings:
    dimensions = data.get("dimensions", _default(TextureSettings, "dimensions"))
    if isinstance(dimensions, str):
        dimensions = [dimensions]
    for dimension in dimensions:
        if str(dimension) not in DIMENSIONS:
            raise ConfigError(f"{where}.dimensions must hold 2D, 2.5D or 3D, got {dimension!r}")
    return TextureSettings(dimensions=tuple(str(d) for d in dimensions))


def _families(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    families = data.get("families")
    if families is None or families == "all":
        families = IBSI_FAMILIES
    if isinstance(families, str) or not isinstance(families, list | tuple):
        raise ConfigError(f"{where}: families must be a list of family names or 'all'")
    known = family_names()
    for family in families:
        if family not in known:
            close = difflib.get_close_matches(str(family), list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown feature family {family!r}{hint}")
    return tuple(families)


def from_dict(data: Mapping[str, Any], *, where: str) -> Settings:
    """Validated `Settings` from a mapping; `where` (file or preset name) prefixes errors.

    A key left out takes the default of its `medscale.features.settings_model` dataclass."""
    _check_keys(data, Settings, where)
    families = _families(data, where)
    sections = {
        key: parse(_section(data, key, where), f"{where}: {key}")
        for key, (_, parse) in _SECTIONS.items()
    }
    filters = sections["filters"]
    if not filters.original and not filters.specs:
        raise ConfigError(f"{where}: filters.original is false and no filter is listed")
    flags: dict[str, Any] = {
        key: _bool(data[key], f"{where}: {key}")
        for key in ("round_input", "diagnostics")
        if key in data
    }
    name = data.get("name", Path(where).stem if where != "settings" else _default(Settings, "name"))
    return Settings(name=str(name), families=families, **flags, **sections)


def _filters(data: Mapping[str, Any], where: str) -> FilterSettings:
    """The ``filters:`` block: every spec parsed now (unknown kind or parameter: ConfigError)."""
    from medscale.features.filters.bank import check_unique
    from medscale.features.filters.spec import parse_filter_spec

    specs = data.get("specs") or []
    if isinstance(specs, str) or not isinstance(specs, list | tuple):
        raise ConfigError(
            f"{where}.specs must be a list of filter specs such as "
            f"'log:sigma_mm=2,boundary=mirror', got {specs!r}"
        )
    for index, spec in enumerate(specs):
        if not isinstance(spec, str):
            raise ConfigError(f"{where}.specs[{index}] must be a string, got {spec!r}")
        try:
            parse_filter_spec(spec)
        except ConfigError as err:
            raise ConfigError(f"{where}.specs[{index}]: {err}") from None
    texts = tuple(spec.strip() for spec in specs)
    check_unique(texts, where)
    original = _bool(
        data.get("original", _default(FilterSettings, "original")), f"{where}.original"
    )
    dtype = data.get("response_dtype", _default(FilterSettings, "response_dtype"))
    if dtype not in ("float32", "float64"):
        raise ConfigError(f"{where}.response_dtype must be float32 or float64, got {dtype!r}")
    return FilterSettings(
        specs=texts,
        original=original,
        response_dtype=dtype,
    )


# The sections of `Settings`: the dataclass whose fields are their keys, and their parser.
_SECTIONS: dict[str, tuple[type, Callable[[Mapping[str, Any], str], Any]]] = {
    "interpolation": (InterpolationSettings, _interpolation),
    "resegmentation": (ResegmentationSettings, _resegmentation),
    "discretisation": (DiscretisationSettings, _discretisation_settings),
    "ivh": (IvhSettings, _ivh),
    "texture": (TextureSettings, _texture),
    "filters": (FilterSettings, _filters),
}
