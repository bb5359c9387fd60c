"""What each feature is: its id, family, IBSI code and a one-line definition.

Every family module declares ``FEATURES: tuple[FeatureInfo, ...]`` with the ids *without* the
aggregation suffix (``cm_joint_max``); `all_features` gathers them for ``medscale features
--list`` and for documentation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

FAMILY_MODULES: dict[str, str] = {
    "morphology": "medscale.features.morphology",
    "local_intensity": "medscale.features.local_intensity",
    "statistics": "medscale.features.statistics",
    "intensity_histogram": "medscale.features.intensity_histogram",
    "intensity_volume_histogram": "medscale.features.ivh",
    "glcm": "medscale.features.glcm",
    "glrlm": "medscale.features.glrlm",
    "glszm": "medscale.features.glszm",
    "gldzm": "medscale.features.gldzm",
    "ngtdm": "medscale.features.ngtdm",
    "ngldm": "medscale.features.ngldm",
    "morphology_2d": "medscale.features.morphology_2d",
}

#: The families IBSI-1 standardises: what ``families: all`` means. ``morphology_2d`` (2-D shape
#: of single-slice images, not IBSI) is asked for by name, or by the ``default-2d`` preset.
IBSI_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILY_MODULES if f != "morphology_2d")


@dataclass(frozen=True)
class FeatureInfo:
    """One feature as IBSI defines it.

    Attributes
    ----------
    name : str
        Feature id without the aggregation suffix, e.g. ``"cm_joint_max"``.
    family : str
        One of the keys of `FAMILY_MODULES`.
    ibsi_code : str
        The four-character IBSI identifier, e.g. ``"GYBY"``; ``""`` for a feature IBSI does not
        standardise (the ``morph_2d_*`` family).
    definition : str
        One line saying what the feature measures.
    """

    name: str
    family: str
    ibsi_code: str
    definition: str


def all_features() -> list[FeatureInfo]:
    """Every feature of every family module that is installed, in family order."""
    found: list[FeatureInfo] = []
    for module_name in FAMILY_MODULES.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        found.extend(module.FEATURES)
    return found
