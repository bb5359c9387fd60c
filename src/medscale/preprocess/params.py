"""Moved to `medscale.params` (the registry of named operations is not preprocessing's own).

Kept for the modules that still import it from here (``medscale.segment.unet*``, being moved
onto MONAI on another branch); new code imports `medscale.params`.
"""

from medscale.params import (
    Operation,
    Registry,
    float_dtype,
    new_image,
    parse_spec,
    per_axis,
    require,
    require_2d,
    require_finite,
)

__all__ = [
    "Operation",
    "Registry",
    "float_dtype",
    "new_image",
    "parse_spec",
    "per_axis",
    "require",
    "require_2d",
    "require_finite",
]
