"""The feature-family contract, and the one place where families are registered.

A family is one module that declares ``FAMILY = Family(...)``:

- ``name``: the family's name in settings (``families: [glcm, ...]``) and in the feature table;
- ``features``: its `FeatureInfo` table (feature ids *without* the aggregation suffix, IBSI
  codes, one-line definitions), what ``medscale features --list`` shows;
- ``needs``: the prepared inputs it reads, named after the attributes of
  `medscale.features.family_inputs.FamilyInputs` (``roi``, ``box``, ``values``, ``roi_levels``,
  ``texture``); `compute_families` builds each input once per ROI and hands the same object to
  every family, so shared work (the texture crop) is done once and passed explicitly;
- ``compute(inputs, settings) -> dict[str, float]``: the family's features of one ROI;
- ``suffixes(settings)``: the aggregation suffixes of its output ids (none for a family whose
  ids are its feature names; `texture_suffixes` for one id per texture dimension,
  `averaged_texture_suffixes` for ``_avg`` / ``_comb`` per dimension);
- ``pyradiomics``: the features pyradiomics defines the same way, if any (`PyradiomicsNames`),
  which `medscale.features.pyradiomics_names` turns into its renaming tables;
- ``ibsi``: whether the family is standardised by IBSI-1 (what ``families: all`` means).

The built-in families are the modules of `FAMILY_MODULES`, in output order (imported on first
use; one whose module is not installed is skipped). Any other module adds a family by calling
`register` with its `Family` when it is imported; from then on the family is accepted in
settings and appears in `extract`, the feature list and the pyradiomics names. Adding a family
is therefore one new file.
"""

from __future__ import annotations

import csv
import importlib
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from medscale.errors import ConfigError

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings

log = logging.getLogger(__name__)

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

#: The prepared inputs a family may declare in ``needs`` (see `FamilyInputs`).
INPUTS: tuple[str, ...] = ("roi", "box", "values", "roi_levels", "texture")


@dataclass(frozen=True)
class FeatureInfo:
    """One feature as IBSI defines it.

    Attributes
    ----------
    name : str
        Feature id without the aggregation suffix, e.g. ``"cm_joint_max"``.
    family : str
        The name of its `Family`.
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


def feature_table(family: str, rows: Sequence[tuple[str, str, str]]) -> tuple[FeatureInfo, ...]:
    """The table of `family`: one `FeatureInfo` per ``(name, IBSI code, definition)`` row."""
    return tuple(FeatureInfo(name, family, code, definition) for name, code, definition in rows)


#: The tables of the built-in families: one row per feature (family, feature id, IBSI code,
#: pyradiomics name where pyradiomics defines it the same way, definition), in output order.
BUILTIN_TABLE = "feature_table.csv"


@cache
def _builtin_rows() -> dict[str, tuple[dict[str, str], ...]]:
    text = resources.files("medscale.features").joinpath(BUILTIN_TABLE).read_text("utf-8")
    rows: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        rows.setdefault(row["family"], []).append(row)
    return {family: tuple(found) for family, found in rows.items()}


def builtin_features(family: str) -> tuple[FeatureInfo, ...]:
    """The feature table of the built-in `family`, as `BUILTIN_TABLE` lists it."""
    return tuple(
        FeatureInfo(row["name"], family, row["ibsi_code"], row["definition"])
        for row in _builtin_rows()[family]
    )


@dataclass(frozen=True)
class PyradiomicsNames:
    """The features of a family that pyradiomics (v3) defines the same way.

    Attributes
    ----------
    feature_class : str
        pyradiomics's feature class (``firstorder``, ``shape``, ``glcm`` ...).
    names : mapping of str to str
        Feature id (without suffix) -> pyradiomics feature name.
    suffix_3d, suffix_2d : str
        Suffix of the medscale id in the 3-D table and in the one-slice (2-D) table.
    tables : tuple of {"3D", "2D"}
        Which tables the family enters (``shape`` is 3-D only, ``shape2D`` 2-D only).
    """

    feature_class: str
    names: Mapping[str, str]
    suffix_3d: str = ""
    suffix_2d: str = ""
    tables: tuple[str, ...] = ("3D", "2D")

    @classmethod
    def builtin(
        cls,
        family: str,
        feature_class: str,
        *,
        suffix_3d: str = "",
        suffix_2d: str = "",
        tables: tuple[str, ...] = ("3D", "2D"),
    ) -> PyradiomicsNames:
        """The names of the built-in `family`: its `BUILTIN_TABLE` rows with a pyradiomics name."""
        rows = _builtin_rows()[family]
        names = {row["name"]: row["pyradiomics"] for row in rows if row["pyradiomics"]}
        return cls(feature_class, names, suffix_3d, suffix_2d, tables)


def no_suffixes(settings: Settings) -> tuple[str, ...]:
    """The ids of a family without aggregation: its feature names as they are."""
    return ("",)


def dimension_suffixes(dims: Sequence[str], *, averaged: bool = False) -> tuple[str, ...]:
    """The id suffixes (without the leading ``_``) of texture dimensions `dims`: ``2D``,
    ``2_5D``, ``3D``; `averaged`: two per dimension, averaged over directions and merged
    (``2D_avg``, ``2D_comb`` ...)."""
    kinds = ("_avg", "_comb") if averaged else ("",)
    return tuple(d.replace(".", "_") + kind for d in dims for kind in kinds)


def texture_suffixes(settings: Settings) -> tuple[str, ...]:
    """One id per texture dimension of the settings: ``_2D``, ``_2_5D``, ``_3D``."""
    return tuple("_" + s for s in dimension_suffixes(settings.texture.dimensions))


def averaged_texture_suffixes(settings: Settings) -> tuple[str, ...]:
    """Two ids per texture dimension: averaged over directions and merged (``_3D_avg`` ...)."""
    return tuple("_" + s for s in dimension_suffixes(settings.texture.dimensions, averaged=True))


@dataclass(frozen=True)
class Family:
    """One feature family: its table, the inputs it needs, and how it computes (see module).

    Attributes
    ----------
    name : str
    features : tuple of FeatureInfo
    needs : tuple of str
        Names from `INPUTS`.
    compute : callable (FamilyInputs, Settings) -> dict of str to float
    suffixes : callable (Settings) -> tuple of str
        Aggregation suffixes of the output ids; ``("",)`` for none.
    pyradiomics : PyradiomicsNames, optional
    ibsi : bool
        Standardised by IBSI-1 (part of ``families: all``).
    """

    name: str
    features: tuple[FeatureInfo, ...]
    needs: tuple[str, ...]
    compute: Callable[[FamilyInputs, Settings], dict[str, float]]
    suffixes: Callable[[Settings], tuple[str, ...]] = no_suffixes
    pyradiomics: PyradiomicsNames | None = None
    ibsi: bool = True
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        unknown = [need for need in self.needs if need not in INPUTS]
        if unknown:
            raise ConfigError(
                f"feature family {self.name!r}: unknown inputs {unknown}; "
                f"needs must be among {', '.join(INPUTS)}"
            )
        strays = [info.name for info in self.features if info.family != self.name]
        if strays:
            raise ConfigError(f"feature family {self.name!r}: features of another family {strays}")

    def output_names(self, settings: Settings) -> list[str]:
        """The ids `compute` returns under `settings`, in order (feature, then suffix)."""
        suffixes = self.suffixes(settings)
        return [info.name + suffix for info in self.features for suffix in suffixes]


_REGISTERED: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add `family` to the registry (a module calls this once, when imported); returns it.

    Raises
    ------
    ConfigError
        When another family already has that name.
    """
    known = _REGISTERED.get(family.name)
    if family.name in FAMILY_MODULES or (known is not None and known is not family):
        raise ConfigError(f"feature family {family.name!r} is already registered")
    _REGISTERED[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family added with `register` (built-in families stay)."""
    _REGISTERED.pop(name, None)


@cache
def _builtin(name: str) -> Family | None:
    module_name = FAMILY_MODULES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        log.warning("feature family %s is not available (%s missing); skipped", name, module_name)
        return None
    family: Family = module.FAMILY
    return family


def family_names() -> tuple[str, ...]:
    """Every family a setting may name: the built-in ones, then those registered."""
    return tuple(FAMILY_MODULES) + tuple(_REGISTERED)


def get_family(name: str) -> Family | None:
    """The family called `name`, or None (logged once) when its module is not installed.

    Raises
    ------
    ConfigError
        For a name no family has.
    """
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in FAMILY_MODULES:
        raise ConfigError(f"unknown feature family {name!r}; families: {', '.join(family_names())}")
    return _builtin(name)


def families(names: Sequence[str] | None = None) -> list[Family]:
    """The installed families among `names` (default: every family), in that order."""
    found = [get_family(name) for name in (family_names() if names is None else names)]
    return [family for family in found if family is not None]


def all_features() -> list[FeatureInfo]:
    """Every feature of every installed family, in family order."""
    return [info for family in families() for info in family.features]
