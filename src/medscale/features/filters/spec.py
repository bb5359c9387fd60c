"""Filter specifications such as ``log:sigma_mm=1.5,boundary=mirror`` and their application.

A spec is ``KIND[:key=value,...]``. Kinds and keys (defaults in brackets):

- ``mean``: support (voxels) [3], boundary [zero], dims (2 or 3) [3]
- ``log``: sigma_mm, truncate [4], boundary [zero], dims [3], riesz (e.g. ``1-0-0``) [none],
  anisotropic [false] (true: sigma_mm per axis on anisotropic voxels, not IBSI; see log_filter)
- ``laws``: kernel (e.g. ``E5L5S5``), rot_inv [false], pooling [max], energy_delta [none],
  boundary [zero], dims [3]
- ``gabor``: sigma_mm, wavelength_mm, gamma [1], theta_deg [0], rot_inv [false],
  theta_step_deg [45], planes (axial / orthogonal) [axial], boundary [zero]
- ``wavelet``: name [haar], band [LLL], level [1], rot_inv [false], pooling [mean],
  boundary [zero], dims [3], decimated [false] (true: the PyWavelets ``wavedecn`` form on a
  coarser grid, `medscale.features.filters.wavelet.wavelet_filter` with ``decimated=True``;
  not with rot_inv)
- ``simoncelli``: level [1], boundary [periodic], dims [3], riesz [none]

Riesz orders are along (x, y, z).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary
from medscale.features.filters.gabor import gabor_filter
from medscale.features.filters.laws import laws_energy, laws_filter
from medscale.features.filters.log import log_filter
from medscale.features.filters.mean import mean_filter
from medscale.features.filters.riesz import riesz_filter
from medscale.features.filters.simoncelli import simoncelli_filter
from medscale.features.filters.wavelet import wavelet_filter

__all__ = ["FilterSpec", "apply_filter", "parse_filter_spec"]

_NONE = object()


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValueError(f"{text!r} is not true/false")


def _order(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.replace(",", "-").split("-"))
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not an order like 1-0-0")
    return parts[0], parts[1], parts[2]


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"must be > 0, got {text}")
    return value


def _wavelet_name(text: str) -> str:
    import pywt

    if text.lower() not in pywt.wavelist(kind="discrete"):
        raise ValueError(
            f"unknown wavelet {text!r}; expected a PyWavelets name such as haar, db3, coif1"
        )
    return text.lower()


def _dims(text: str) -> int:
    value = int(text)
    if value not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {text}")
    return value


_COMMON: dict[str, tuple[Callable[[str], Any], Any]] = {"boundary": (Boundary.coerce, "zero")}
_KEYS: dict[str, dict[str, tuple[Callable[[str], Any], Any]]] = {
    "mean": {"support": (int, 3), "dims": (_dims, 3)},
    "log": {
        "sigma_mm": (_positive, _NONE),
        "truncate": (_positive, 4.0),
        "dims": (_dims, 3),
        "anisotropic": (_bool, False),
    },
    "laws": {
        "kernel": (str, _NONE),
        "rot_inv": (_bool, False),
        "pooling": (str, "max"),
        "energy_delta": (int, None),
        "dims": (_dims, 3),
    },
    "gabor": {
        "sigma_mm": (_positive, _NONE),
        "wavelength_mm": (_positive, _NONE),
        "gamma": (_positive, 1.0),
        "theta_deg": (float, 0.0),
        "rot_inv": (_bool, False),
        "theta_step_deg": (float, 45.0),
        "planes": (str, "axial"),
    },
    "wavelet": {
        "name": (_wavelet_name, "haar"),
        "band": (str, "LLL"),
        "level": (int, 1),
        "rot_inv": (_bool, False),
        "pooling": (str, "mean"),
        "dims": (_dims, 3),
        "decimated": (_bool, False),
    },
    "simoncelli": {"level": (int, 1), "dims": (_dims, 3)},
}
_RIESZ_KINDS = {"log", "simoncelli"}


@dataclass(frozen=True)
class FilterSpec:
    """A parsed filter spec: ``kind`` and its complete, typed ``params``."""

    kind: str
    params: dict[str, Any]


def parse_filter_spec(text: str) -> FilterSpec:
    """Parse ``KIND[:key=value,...]``; unknown kinds, keys or values raise ConfigError."""
    kind, _, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in _KEYS:
        near = difflib.get_close_matches(kind, _KEYS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(f"unknown filter {kind!r}{hint}; expected one of {', '.join(_KEYS)}")
    table = {**_COMMON, **_KEYS[kind]}
    if kind == "simoncelli":
        table["boundary"] = (Boundary.coerce, "periodic")
    if kind in _RIESZ_KINDS:
        table["riesz"] = (_order, None)
    given: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ConfigError(f"filter {kind}: {item!r} is not key=value")
        if key not in table:
            near = difflib.get_close_matches(key, table, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(
                f"filter {kind}: unknown parameter {key!r}{hint}; valid: {', '.join(table)}"
            )
        given[key] = value.strip()
    params: dict[str, Any] = {}
    for key, (convert, default) in table.items():
        if key in given:
            try:
                params[key] = convert(given[key])
            except (ValueError, ConfigError) as err:
                raise ConfigError(f"filter {kind}: bad value for {key}: {err}") from err
        elif default is _NONE:
            raise ConfigError(f"filter {kind}: parameter {key!r} is required")
        else:
            params[key] = convert(default) if key == "boundary" else default
    if kind == "wavelet" and params["decimated"] and params["rot_inv"]:
        raise ConfigError(
            "filter wavelet: decimated=true does not take rot_inv=true (a rotated image's "
            "decimated grid is not the rotated grid); use the undecimated form"
        )
    return FilterSpec(kind, params)


def apply_filter(
    array: np.ndarray, spacing_mm: tuple[float, ...], spec: FilterSpec | str
) -> np.ndarray:
    """Response map (z, y, x) of ``spec`` on ``array`` with voxel ``spacing_mm``.

    float32 for a float32 input to mean, log, laws, gabor and wavelet, else float64. A decimated
    wavelet's response is on its coarser grid (`medscale.features.filters.wavelet`).
    """
    spec = parse_filter_spec(spec) if isinstance(spec, str) else spec
    p = spec.params
    boundary = p["boundary"]
    two_d = p.get("dims", 3) == 2
    base: Callable[[np.ndarray], np.ndarray]
    if spec.kind == "mean":
        return mean_filter(array, support=p["support"], boundary=boundary, two_d=two_d)
    if spec.kind == "laws":
        out = laws_filter(
            array,
            kernel=p["kernel"],
            boundary=boundary,
            two_d=two_d,
            rot_inv=p["rot_inv"],
            pooling=p["pooling"],
        )
        if p["energy_delta"] is None:
            return out
        return laws_energy(out, delta=p["energy_delta"], boundary=boundary, two_d=two_d)
    if spec.kind == "gabor":
        if p["planes"] not in ("axial", "orthogonal"):
            raise ConfigError(
                f"filter gabor: planes must be axial or orthogonal, got {p['planes']}"
            )
        return gabor_filter(
            array,
            sigma_mm=p["sigma_mm"],
            wavelength_mm=p["wavelength_mm"],
            gamma=p["gamma"],
            theta=np.deg2rad(p["theta_deg"]),
            spacing_mm=spacing_mm,
            boundary=boundary,
            rot_inv=p["rot_inv"],
            theta_step=np.deg2rad(p["theta_step_deg"]),
            orthogonal_planes=p["planes"] == "orthogonal",
        )
    if spec.kind == "wavelet":
        return wavelet_filter(
            array,
            name=p["name"],
            band=p["band"],
            level=p["level"],
            boundary=boundary,
            two_d=two_d,
            rot_inv=p["rot_inv"],
            pooling=p["pooling"],
            decimated=p["decimated"],
        )
    if spec.kind == "log":

        def base(a: np.ndarray, rule: Boundary | str = boundary) -> np.ndarray:
            return log_filter(
                a,
                sigma_mm=p["sigma_mm"],
                spacing_mm=spacing_mm,
                truncate=p["truncate"],
                boundary=rule,
                two_d=two_d,
                anisotropic=p["anisotropic"],
            )

    else:

        def base(a: np.ndarray, rule: Boundary | str = boundary) -> np.ndarray:
            return simoncelli_filter(a, level=p["level"], boundary=rule, two_d=two_d)

    if p["riesz"] is None:
        return base(array)
    # padded once by the rule; the base then sees an already padded, periodic-safe image
    inner = "periodic" if spec.kind == "simoncelli" else boundary
    return riesz_filter(array, lambda a: base(a, inner), order=p["riesz"], boundary=boundary)
