"""A feature family in one file, as a plug-in writes it: declared, then registered on import.

Used by tests/features/test_family_contract.py to show that a family added this way is seen by
`extract`, ``medscale features --list`` and the pyradiomics-name tables.
"""

from __future__ import annotations

import numpy as np

from medscale.features.family_inputs import FamilyInputs
from medscale.features.registry import (
    Family,
    FeatureInfo,
    PyradiomicsNames,
    register,
)
from medscale.features.settings_model import Settings

NAME = "toy_spread"
FEATURES = (
    FeatureInfo("toy_span", NAME, "", "Span of the intensities: max - min"),
    FeatureInfo("toy_level_count", NAME, "", "Number of distinct grey levels in the ROI"),
)


def compute(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
    """The two toy features of one ROI (from two of the shared inputs)."""
    values = inputs.values
    return {
        "toy_span": float(values.max() - values.min()),
        "toy_level_count": float(np.unique(inputs.texture[inputs.texture > 0]).size),
    }


FAMILY = register(
    Family(
        name=NAME,
        features=FEATURES,
        needs=("values", "texture"),
        compute=compute,
        pyradiomics=PyradiomicsNames("toy", {"toy_span": "Range"}, tables=("3D",)),
        ibsi=False,
    )
)
