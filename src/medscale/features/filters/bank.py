"""A filter bank for the feature engine: column prefixes, kernel supports, the responses.

Column prefixes (one rule per kind; numbers print without a trailing ``.0`` and with ``p`` for
the decimal point, so sigma 1.5 mm is ``s1p5``; ``_2d`` is added for ``dims=2``):

- ``mean``: ``mean_m{support}``, e.g. ``mean_m5_2d``
- ``log``: ``log_s{sigma_mm}``, e.g. ``log_s2``; ``_t{truncate}`` when truncate is not 4
- ``laws``: ``laws_{kernel}``, then ``_ri`` (rotation-invariant, max pooling; ``_ri_mean``
  for mean pooling) and ``_e{energy_delta}``, e.g. ``laws_l5e5e5_ri_e7``
- ``gabor``: ``gabor_s{sigma_mm}_w{wavelength_mm}_g{gamma}``, then ``_t{theta_deg}`` or, when
  rotation-invariant, ``_ri{theta_step_deg}``, and ``_3p`` for the three orthogonal planes
- ``wavelet``: ``wavelet_{name}_{band}``, then ``_l{level}`` for level > 1, ``_ri``
  (mean pooling; ``_ri_max`` for max pooling) and ``_dec`` for the decimated form, e.g.
  ``wavelet_coif1_lhl``, ``wavelet_haar_hhh_l2_dec``
- ``simoncelli``: ``simoncelli_l{level}``
- a Riesz order adds ``_riesz{lx}{ly}{lz}``

The boundary rule (and LoG's ``anisotropic``) is not part of the prefix: two specs of one
settings block that differ only in it would share a prefix, which is a settings error
(`check_unique`).

Supports (`support`): the half-width, in voxels per (z, y, x) axis, of the input a response
voxel depends on. The engine filters the ROI's bounding box widened by it, which gives the
whole-image response exactly inside the ROI for the zero, nearest and mirror rules (their
padding only looks at the image's own edge voxels). Periodic boundaries, the global
Fourier filters (Simoncelli, Riesz) and decimated wavelets (whose grid's phase depends on where
the image starts) have no finite support (None): they get the whole grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pywt

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary
from medscale.features.filters.laws import parse_kernel
from medscale.features.filters.spec import FilterSpec, apply_filter, parse_filter_spec
from medscale.features.filters.wavelet import wavelet_bands

__all__ = ["check_unique", "column_prefix", "filter_responses", "support"]


def _num(value: float) -> str:
    text = f"{float(value):g}"
    return text.replace(".", "p").replace("-", "m")


def column_prefix(spec: FilterSpec | str) -> str:
    """The column prefix of a filter's features (module docstring), without the final ``_``."""
    spec = parse_filter_spec(spec) if isinstance(spec, str) else spec
    p = spec.params
    if spec.kind == "mean":
        parts = [f"mean_m{p['support']}"]
    elif spec.kind == "log":
        parts = [f"log_s{_num(p['sigma_mm'])}"]
        if p["truncate"] != 4.0:
            parts.append(f"t{_num(p['truncate'])}")
    elif spec.kind == "laws":
        parts = [f"laws_{p['kernel'].lower()}"]
        if p["rot_inv"]:
            parts.append("ri" if p["pooling"] == "max" else f"ri_{p['pooling']}")
        if p["energy_delta"] is not None:
            parts.append(f"e{p['energy_delta']}")
    elif spec.kind == "gabor":
        parts = [
            f"gabor_s{_num(p['sigma_mm'])}_w{_num(p['wavelength_mm'])}_g{_num(p['gamma'])}",
            f"ri{_num(p['theta_step_deg'])}" if p["rot_inv"] else f"t{_num(p['theta_deg'])}",
        ]
        if p["planes"] == "orthogonal":
            parts.append("3p")
    elif spec.kind == "wavelet":
        parts = [f"wavelet_{p['name'].lower()}_{p['band'].lower()}"]
        if p["level"] != 1:
            parts.append(f"l{p['level']}")
        if p["rot_inv"]:
            parts.append("ri" if p["pooling"] == "mean" else f"ri_{p['pooling']}")
        if p["decimated"]:
            parts.append("dec")
    else:
        parts = [f"simoncelli_l{p['level']}"]
    if p.get("dims", 3) == 2:
        parts.append("2d")
    if p.get("riesz") is not None:
        parts.append("riesz" + "".join(str(o) for o in p["riesz"]))
    return "_".join(parts)


def check_unique(specs: Sequence[str], where: str) -> None:
    """ConfigError naming the two specs when two of them would write the same columns."""
    seen: dict[str, str] = {}
    for text in specs:
        prefix = column_prefix(text)
        if prefix in seen:
            raise ConfigError(
                f"{where}: {seen[prefix]!r} and {text!r} both name their columns "
                f"{prefix}_*; the boundary rule is not part of the prefix, so keep one of them"
            )
        seen[prefix] = text


def _wavelet_half_width(name: str, level: int) -> int:
    try:
        taps = pywt.Wavelet(name).dec_len
    except ValueError:
        raise ConfigError(f"unknown wavelet {name!r}") from None
    # level j convolves with a kernel of taps * 2**(j-1) samples (a trous); the cascade's
    # reach is at most the sum of the kernels' lengths
    return sum(taps * 2 ** (lev - 1) for lev in range(1, level + 1))


def support(spec: FilterSpec | str, spacing_mm: Sequence[float]) -> tuple[int, int, int] | None:
    """Half-width (z, y, x voxels) of the input one response voxel reads; None: whole grid."""
    spec = parse_filter_spec(spec) if isinstance(spec, str) else spec
    p = spec.params
    if p["boundary"] is Boundary.PERIODIC or spec.kind == "simoncelli":
        return None
    if p.get("riesz") is not None or p.get("decimated"):
        return None
    in_plane = p.get("dims", 3) == 2
    if spec.kind == "mean":
        half = p["support"] // 2
    elif spec.kind == "log":
        sigma_vox = p["sigma_mm"] / min(float(s) for s in spacing_mm)
        half = int(p["truncate"] * sigma_vox + 0.5) + 1
    elif spec.kind == "laws":
        half = max(k.size for k in parse_kernel(p["kernel"], two_d=in_plane)) // 2
        half += p["energy_delta"] or 0
    elif spec.kind == "gabor":
        sigma_vox = p["sigma_mm"] / min(float(s) for s in spacing_mm)
        half = math.ceil(4.0 * sigma_vox * max(1.0, 1.0 / p["gamma"])) + 1
        in_plane = p["planes"] == "axial"
    else:
        half = _wavelet_half_width(p["name"], p["level"])
    return (0 if in_plane else half, half, half)


def filter_responses(
    array: np.ndarray, spacing_mm: tuple[float, ...], specs: Sequence[str]
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(prefix, response)`` for each spec, one response held at a time.

    Plain (not rotation-invariant) wavelet specs that differ only in their band share the 1-D
    passes (`medscale.features.filters.wavelet.wavelet_bands`); their responses come out in
    the depth-first band order, the other specs in the given order. The response keeps the
    dtype `apply_filter` gives for ``array`` (float32 in, float32 out for the separable kinds).
    """
    parsed = [parse_filter_spec(text) for text in specs]
    groups: dict[tuple, dict[str, FilterSpec]] = {}
    for spec in parsed:
        if spec.kind == "wavelet" and not spec.params["rot_inv"] and not spec.params["decimated"]:
            key = tuple(sorted((k, str(v)) for k, v in spec.params.items() if k != "band"))
            groups.setdefault(key, {})[spec.params["band"].upper()] = spec
            continue
        yield column_prefix(spec), apply_filter(array, spacing_mm, spec)
    for bands in groups.values():
        first = next(iter(bands.values())).params
        if len(bands) == 1:
            (spec,) = bands.values()
            yield column_prefix(spec), apply_filter(array, spacing_mm, spec)
            continue
        for band, response in wavelet_bands(
            array,
            name=first["name"],
            level=first["level"],
            boundary=first["boundary"],
            two_d=first["dims"] == 2,
        ):
            if band in bands:
                yield column_prefix(bands[band]), response
