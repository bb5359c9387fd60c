"""The feature-family contract: every family declared one way, and a family added in one file
(tests/toy_family.py) is seen by `extract`, ``medscale features --list`` and pyradiomics names."""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from medscale import Image, Mask
from medscale.errors import ConfigError
from medscale.features import extract, registry
from medscale.features.settings import load_settings


@pytest.fixture
def toy():
    """The toy family registered for one test (imported afresh, unregistered after)."""
    sys.modules.pop("toy_family", None)
    module = importlib.import_module("toy_family")
    yield module
    registry.unregister(module.NAME)
    sys.modules.pop("toy_family", None)


def _case() -> tuple[Image, Mask]:
    rng = np.random.default_rng(7)
    image = Image(rng.normal(50.0, 40.0, size=(5, 8, 8)).round(), spacing=(2.0, 1.0, 1.0))
    inside = np.zeros(image.shape, bool)
    inside[1:4, 2:7, 1:6] = True
    return image, Mask.like(image, inside)


def test_every_builtin_family_declares_the_contract():
    for name in registry.FAMILY_MODULES:
        family = registry.get_family(name)
        assert family is not None and family.name == name
        assert family.features and all(info.family == name for info in family.features)
        assert set(family.needs) <= set(registry.INPUTS)
        codes = [info.ibsi_code for info in family.features]
        assert all(len(code) == 4 for code in codes) == family.ibsi, name


def test_output_names_are_what_each_family_computes():
    image, mask = _case()
    settings = load_settings({"texture": {"dimensions": ["2D", "2.5D", "3D"]}})
    found = extract(image, mask, settings)
    expected = [
        n for family in registry.families(settings.families) for n in family.output_names(settings)
    ]
    assert sorted(found) == sorted(expected)  # same ids (families order their own)


def test_a_family_from_one_file_is_seen_everywhere(toy):
    from medscale.cli.main import cli
    from medscale.features.pyradiomics_names import PYRADIOMICS_NAMES, PYRADIOMICS_NAMES_2D
    from medscale.features.transformer import feature_names

    image, mask = _case()
    settings = {"families": ["statistics", toy.NAME]}
    found = extract(image, mask, settings)
    values = image.array[mask.array]
    assert found["toy_span"] == values.max() - values.min()
    # IBSI fixed bin size 25: bins start at the ROI minimum
    assert found["toy_level_count"] == np.unique((values - values.min()) // 25).size
    assert sorted(found) == sorted(feature_names(settings))
    renamed = extract(image, mask, settings, names="pyradiomics")
    assert renamed["original_toy_Range"] == found["toy_span"]
    assert PYRADIOMICS_NAMES["toy_span"] == "original_toy_Range"
    assert "toy_span" not in PYRADIOMICS_NAMES_2D  # declared for the 3-D table only

    result = CliRunner().invoke(cli, ["features", "--list", "--json", "--family", toy.NAME])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["features"]
    assert [row["name"] for row in listed] == ["toy_span", "toy_level_count"]
    assert not any(row["ibsi_standardised"] for row in listed)
    result = CliRunner().invoke(cli, ["features", "--list", "--json"])
    assert {"toy_span", "stat_mean"} <= {
        row["name"] for row in json.loads(result.output)["features"]
    }
    # not part of `families: all` (IBSI-1 only), and gone once unregistered
    assert toy.NAME not in load_settings("default").families


def test_unregistered_family_is_unknown_again(toy):
    registry.unregister(toy.NAME)
    with pytest.raises(ConfigError, match="unknown feature family 'toy_spread'"):
        load_settings({"families": [toy.NAME]})
    from medscale.features.pyradiomics_names import PYRADIOMICS_NAMES

    assert "toy_span" not in PYRADIOMICS_NAMES


def test_contract_refuses_bad_declarations(toy):
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(registry.Family("glcm", (), (), toy.compute))
    with pytest.raises(ConfigError, match="unknown inputs"):
        registry.Family("bad", (), ("pixels",), toy.compute)
    stray = registry.FeatureInfo("x", "other", "", "")
    with pytest.raises(ConfigError, match="another family"):
        registry.Family("bad", (stray,), (), toy.compute)
