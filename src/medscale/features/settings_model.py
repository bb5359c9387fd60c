"""The typed settings of the IBSI feature chain: one frozen dataclass per stage, in `Settings`.

Read them with `medscale.features.settings.load_settings` (YAML, dict or preset); this module
holds the types alone, `medscale.features.settings_parse` the validation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from medscale.features.registry import IBSI_FAMILIES

MAX_BINS = 100_000
MAX_SPACING_MM = 100.0
DIMENSIONS = ("2D", "2.5D", "3D")


class Interpolator(StrEnum):
    """Interpolation kernels: B-spline orders 0 (nearest), 1 (linear) and 3 (cubic)."""

    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"

    @property
    def order(self) -> int:
        return {"nearest": 0, "linear": 1, "cubic": 3}[self.value]


class Discretisation(StrEnum):
    """How intensities become grey levels (IBSI-1 section 2.7)."""

    FIXED_BIN_SIZE = "fixed_bin_size"
    FIXED_BIN_NUMBER = "fixed_bin_number"
    NONE = "none"


@dataclass(frozen=True)
class InterpolationSettings:
    """Resampling to a new grid with aligned centres (IBSI-1 section 2.4).

    spacing_mm is None (no resampling) or (z, y, x) in mm, where None keeps an axis as it is.
    """

    spacing_mm: tuple[float | None, float | None, float | None] | None = None
    image_interpolator: Interpolator = Interpolator.LINEAR
    mask_interpolator: Interpolator = Interpolator.LINEAR
    mask_threshold: float = 0.5
    round_intensities: bool = False


@dataclass(frozen=True)
class ResegmentationSettings:
    """Intensity mask refinement: range (inclusive, None = open end) and outlier filter."""

    range: tuple[float | None, float | None] | None = None
    outlier_sigma: float | None = None


@dataclass(frozen=True)
class DiscretisationSettings:
    """Grey-level discretisation for the texture families and the intensity histogram."""

    method: Discretisation = Discretisation.FIXED_BIN_SIZE
    bin_width: float | None = 25.0
    n_bins: int | None = None


@dataclass(frozen=True)
class IvhSettings:
    """Discretisation of the intensity-volume histogram (its own, IBSI-1 section 3.5)."""

    discretisation: Discretisation = Discretisation.NONE
    bin_width: float | None = None
    n_bins: int | None = None
    use_resegmentation_range: bool = True


@dataclass(frozen=True)
class TextureSettings:
    """Which texture aggregation dimensions to compute."""

    dimensions: tuple[str, ...] = ("3D",)


@dataclass(frozen=True)
class FilterSettings:
    """IBSI-2 filtered images: filter specs (`medscale filter` grammar) and the original.

    Each spec's response (of the interpolated image) gets the configured families, with the
    column prefix of `medscale.features.filters.bank.column_prefix`; ``original`` keeps the
    unfiltered image's features (no prefix). ``response_dtype`` float32 (default) halves the
    memory and time of the separable filters; float64 keeps ill-conditioned ratios such as
    ``stat_qcod`` of a zero-mean response to full precision (the ``ibsi2-*`` presets).
    """

    specs: tuple[str, ...] = ()
    original: bool = True
    response_dtype: str = "float32"


@dataclass(frozen=True)
class Settings:
    """The full, validated settings of one feature extraction."""

    name: str = "custom"
    families: tuple[str, ...] = IBSI_FAMILIES
    round_input: bool = False
    diagnostics: bool = False
    interpolation: InterpolationSettings = field(default_factory=InterpolationSettings)
    resegmentation: ResegmentationSettings = field(default_factory=ResegmentationSettings)
    discretisation: DiscretisationSettings = field(default_factory=DiscretisationSettings)
    ivh: IvhSettings = field(default_factory=IvhSettings)
    texture: TextureSettings = field(default_factory=TextureSettings)
    filters: FilterSettings = field(default_factory=FilterSettings)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-able dict (enums as strings, tuples as lists); `load_settings` inverts it."""
        return plain(dataclasses.asdict(self))


def plain(value: Any) -> Any:
    """`value` with enums as their strings and tuples as lists, recursively (YAML-able)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
