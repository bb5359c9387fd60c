"""IBSI-exact radiomics: the image-processing chain and one module per feature family.

>>> from medscale.features import extract, load_settings    # doctest: +SKIP
>>> features = extract(image, mask, "ibsi1-c")              # doctest: +SKIP

`extract` runs the chain (interpolation, re-segmentation, discretisation) and every installed
family; `RadiomicsTransformer` does it over a manifest as a scikit-learn transformer.
"""

from typing import TYPE_CHECKING

from medscale.features.extract import extract
from medscale.features.settings import Settings, load_settings, preset_names

if TYPE_CHECKING:
    from medscale.features.transformer import RadiomicsTransformer

__all__ = ["RadiomicsTransformer", "Settings", "extract", "load_settings", "preset_names"]


def __getattr__(name: str) -> "type[RadiomicsTransformer]":
    """Import `RadiomicsTransformer` on first use, so scikit-learn loads only when needed."""
    if name == "RadiomicsTransformer":
        from medscale.features.transformer import RadiomicsTransformer

        return RadiomicsTransformer
    raise AttributeError(f"module 'medscale.features' has no attribute {name!r}")
