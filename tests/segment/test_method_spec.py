"""A segmentation method is named with its parameters as a preprocessing step is
(``NAME:k=v,...``): in Python, with ``--method`` and in a run file; ``--param`` still works."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from medscale import Image
from medscale.cli.main import main
from medscale.engine.runfile import load_run_file
from medscale.errors import ConfigError
from medscale.io import read_mask, write_image
from medscale.segment import segment


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
