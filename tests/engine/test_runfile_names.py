"""Run-file keys have the names of the CLI options; the old key `features` still works and warns."""

from __future__ import annotations

import warnings

import pytest
import yaml

from medscale.engine.runfile import load_run_file
from medscale.engine.stages import StageSettings
from medscale.errors import ConfigError, MedscaleDeprecationWarning
from medscale.features.settings import load_settings


def _write(tmp_path, **keys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"manifest": "cases.csv", "out": "run", **keys}))
    return path


def test_config_key_does_not_warn(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        spec = load_run_file(_write(tmp_path, config="ibsi1-c", mask_label=2))
    assert spec.stage_settings.config == load_settings("ibsi1-c").to_dict()
    assert spec.stage_settings.mask_label == 2


def test_features_key_is_the_old_spelling_of_config(tmp_path):
    path = _write(tmp_path, features="ibsi1-c")
    with pytest.warns(MedscaleDeprecationWarning, match="'features' is deprecated.*use 'config'"):
        spec = load_run_file(path)
    assert spec.stage_settings.config == load_settings("ibsi1-c").to_dict()
    assert spec.stage_settings.config != load_settings("default").to_dict()


def test_features_and_config_together_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="give 'config' or its old name 'features', not both"):
        load_run_file(_write(tmp_path, features="ibsi1-c", config="ibsi1-c"))


def test_stage_settings_features_is_the_old_name_of_config():
    with pytest.warns(MedscaleDeprecationWarning, match=r"StageSettings\(features=...\)"):
        old = StageSettings(stages=("read", "extract"), features="ibsi1-c")
    assert old == StageSettings(stages=("read", "extract"), config="ibsi1-c")
    with pytest.warns(MedscaleDeprecationWarning, match="use StageSettings.config"):
        assert old.features == "ibsi1-c"
    with pytest.raises(ConfigError, match="not both"):
        StageSettings(config="ibsi1-c", features="ibsi1-a")
