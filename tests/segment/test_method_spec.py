"""A segmentation method is named with its parameters as a preprocessing step is
(``NAME:k=v,...``): in Python, with ``--method`` and in a run file; ``--param`` still works.
A renamed method parameter (multi_otsu ``classes`` -> ``n_classes``) still works and warns."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import yaml

from medscale import Image
from medscale.cli.main import main
from medscale.engine.runfile import load_run_file
from medscale.errors import ConfigError, MedscaleDeprecationWarning
from medscale.io import read_mask, write_image
from medscale.params import Registry
from medscale.segment import METHODS, multi_otsu, segment


@pytest.fixture
def ramp():
    return Image(np.arange(4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8), spacing=(1.0, 1.0, 1.0))


def test_segment_takes_a_spec(ramp):
    spec = segment(ramp, "threshold:lower=100,upper=200")
    assert spec.voxel_count == 101
    assert np.array_equal(spec.array, segment(ramp, "threshold", lower=100, upper=200).array)


def test_segment_spec_and_keyword_for_one_parameter_is_an_error(ramp):
    with pytest.raises(ConfigError, match=r"\['lower'\] given both in the spec"):
        segment(ramp, "threshold:lower=100", lower=50)


def test_cli_method_spec_equals_method_and_param(ramp, tmp_path, capsys):
    image = str(write_image(ramp, tmp_path / "ramp.nii.gz"))
    spec, params = tmp_path / "spec.nii.gz", tmp_path / "params.nii.gz"
    assert main(["segment", image, "--method", "threshold:lower=100", "--out", str(spec)]) == 0
    command = ["segment", image, "--method", "threshold", "--param", "lower=100"]
    assert main([*command, "--out", str(params)]) == 0
    found = read_mask(spec)
    assert found.voxel_count == ramp.array.size - 100
    assert np.array_equal(found.array, read_mask(params).array)
    capsys.readouterr()
    command = ["segment", image, "--method", "threshold:lower=1", "--param", "lower=2"]
    assert main([*command, "--out", str(spec)]) == 2
    assert "given both in --method and as --param" in capsys.readouterr().err


def test_run_file_segment_spec(tmp_path):
    document = {
        "manifest": "cases.csv",
        "out": "run",
        "stages": ["read", "segment"],
        "segment": "region_growing:seed=2,4,4,lower=10",
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(document))
    stage = load_run_file(path).stage_settings
    assert stage.segment_method == "region_growing"
    assert stage.segment_params == {"seed": "2,4,4", "lower": "10"}


@pytest.fixture
def four_levels():
    values = np.repeat(np.array([0.0, 100.0, 200.0, 300.0]), 64).reshape(4, 8, 8)
    return Image(values + np.linspace(0, 1, values.size).reshape(values.shape))


def test_multi_otsu_classes_is_the_old_spelling_of_n_classes(four_levels):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        new = segment(four_levels, "multi_otsu", n_classes=2, keep=0)
    with pytest.warns(MedscaleDeprecationWarning, match="parameter 'classes'.*use 'n_classes'"):
        old = segment(four_levels, "multi_otsu", classes=2, keep=0)
    assert np.array_equal(old.array, new.array) and new.voxel_count == 128
    assert segment(four_levels, "multi_otsu", n_classes=4, keep=0).voxel_count == 64
    with pytest.warns(MedscaleDeprecationWarning, match=r"multi_otsu\(classes=...\)"):
        direct = multi_otsu(four_levels, classes=2, keep=0)  # the function, not the registry
    assert np.array_equal(direct.array, new.array)
    with pytest.raises(ConfigError, match="give 'n_classes' or its old name 'classes'"):
        segment(four_levels, "multi_otsu", classes=2, n_classes=2)
    assert "classes" not in METHODS.get("multi_otsu").parameters  # --list shows n_classes only


@dataclass(frozen=True)
class _Knobs:
    gain: float = 1.0
    on: bool = True


def test_a_flat_dataclass_parameter_is_offered_as_its_fields() -> None:
    registry = Registry("test method")

    def method(image: Image, *, n: int = 1, knobs: _Knobs | None = None) -> tuple[int, Any]:
        return n, knobs

    registry.register("method", flat=("knobs",))(method)
    operation = registry.get("method")
    assert list(operation.parameters) == ["n", "gain", "on"]
    assert operation.parameters["gain"].default == 1.0
    assert operation.coerce({"gain": "2", "on": "no"}) == {"knobs": _Knobs(2.0, False)}
    assert operation.coerce({"n": "3"}) == {"n": 3}  # no field given: the function's default
    with pytest.raises(TypeError, match="no keyword-only parameter"):
        registry.register("other", flat=("missing",))(method)
    with pytest.raises(TypeError, match="'n' is given flat but is not annotated with a dataclass"):
        registry.register("other", flat=("n",))(method)
