"""The six texture families on the IBSI digital phantom, each module called on its own.

One harness for GLCM, GLRLM, GLSZM, GLDZM, NGTDM and NGLDM: every reference value of the family
(2-D, 2.5-D and 3-D aggregation) within its tolerance, and the feature table in step with the
output. Brute-force cross-checks and invariants stay in each family's test module.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from ibsi_reference import digital_phantom, matches, reference_values, shared_data_dir

FAMILIES = ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
ROWS = [
    (family, feature, value, tolerance)
    for family in FAMILIES
    for feature, (value, tolerance) in reference_values(
        shared_data_dir(), "dig", family=family
    ).items()
]


def _module(family: str) -> ModuleType:
    return importlib.import_module(f"medscale.features.{family}")


@pytest.fixture(scope="module")
def phantom_features(shared_data: Path) -> dict[str, dict[str, float]]:
    levels, roi = digital_phantom(shared_data)
    assert roi.sum() == 74
    return {
        family: _module(family).compute(levels, roi, 6, dimension=("2D", "2.5D", "3D"))
        for family in FAMILIES
    }


@pytest.mark.parametrize(
    ("family", "feature", "value", "tolerance"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS]
)
def test_digital_phantom(
    phantom_features: dict[str, dict[str, float]],
    family: str,
    feature: str,
    value: float,
    tolerance: float,
) -> None:
    computed = phantom_features[family][feature]
    assert matches(computed, value, tolerance), f"{feature}: {computed} vs {value} +/- {tolerance}"


@pytest.mark.parametrize("family", FAMILIES)
def test_feature_table_matches_output(
    phantom_features: dict[str, dict[str, float]], family: str
) -> None:
    features = _module(family).FEATURES
    produced = {
        key.rsplit("_2D", 1)[0].rsplit("_2_5D", 1)[0].rsplit("_3D", 1)[0]
        for key in phantom_features[family]
    }
    assert {info.name for info in features} == produced
    assert all(len(info.ibsi_code) == 4 for info in features)
