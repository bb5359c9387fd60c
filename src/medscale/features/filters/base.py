"""Boundary rules and axis conventions shared by the IBSI-2 convolutional filters.

Arrays are in (z, y, x) order, as :class:`medscale.image.Image` stores them. A "2-D" filter runs
slice by slice in the axial (y, x) plane.

References
----------
IBSI chapter 2, "Standardised convolutional filtering for radiomics", arXiv:2006.05470, sec. 2.3.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from medscale.errors import ConfigError

__all__ = ["AXIAL_AXES", "Boundary", "check_sigma", "pad", "spatial_axes", "working_float"]

#: Axes of the axial (y, x) plane in a (z, y, x) array.
AXIAL_AXES: tuple[int, int] = (1, 2)


class Boundary(StrEnum):
    """IBSI-2 boundary (padding) rule; the value is the IBSI name."""

    ZERO = "zero"
    NEAREST = "nearest"
    PERIODIC = "periodic"
    MIRROR = "mirror"

    @classmethod
    def coerce(cls, value: Boundary | str) -> Boundary:
        try:
            return cls(str(value.value if isinstance(value, Boundary) else value).lower())
        except ValueError:
            names = ", ".join(b.value for b in cls)
            raise ConfigError(f"unknown boundary {value!r}; expected one of {names}") from None

    @property
    def ndimage_mode(self) -> str:
        """The ``scipy.ndimage`` mode that implements this rule (mirror = symmetric = 'reflect')."""
        return {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}[
            self.value
        ]

    @property
    def numpy_mode(self) -> str:
        """The :func:`numpy.pad` mode that implements this rule."""
        return {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}[
            self.value
        ]


def spatial_axes(ndim: int, *, two_d: bool) -> tuple[int, ...]:
    """Axes a filter runs over: the axial plane for 2-D filters, all axes otherwise."""
    if ndim != 3:
        raise ConfigError(f"filters expect a 3-D (z, y, x) array, got {ndim} dimensions")
    return AXIAL_AXES if two_d else (0, 1, 2)


def pad(array: np.ndarray, width: int, boundary: Boundary, axes: tuple[int, ...]) -> np.ndarray:
    """Pad ``array`` by ``width`` voxels on both sides of ``axes`` following ``boundary``."""
    widths = [(width, width) if axis in axes else (0, 0) for axis in range(array.ndim)]
    return np.pad(array, widths, mode=boundary.numpy_mode)  # type: ignore[call-overload]


def check_sigma(sigma_mm: float, spacing_mm: tuple[float, ...], axes: tuple[int, ...]) -> float:
    """Sigma in voxels; the spacing over ``axes`` must be isotropic."""
    if not sigma_mm > 0:
        raise ConfigError(f"sigma_mm must be > 0, got {sigma_mm}")
    used = {round(float(spacing_mm[a]), 6) for a in axes}
    if len(used) != 1:
        raise ConfigError(
            f"this filter needs isotropic voxels over axes {axes}; got spacing {spacing_mm} mm "
            "(resample first, e.g. `--step resample:spacing_mm=...`)"
        )
    return float(sigma_mm) / used.pop()


def working_float(array: np.ndarray) -> np.ndarray:
    """``array`` as float32 when it already is float32 (the feature engine's responses), else
    float64: the separable filters keep the caller's precision instead of doubling memory."""
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    return np.asarray(array, dtype=dtype)
