"""Old option spellings still work, warn naming the new option; the new spellings do not warn.

| concept                    | option         | old spelling (hidden) |
| -------------------------- | -------------- | --------------------- |
| mask label of `extract`    | `--mask-label` | `--label`             |
| steps YAML of `preprocess` | `--steps-file` | `--config`            |
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import yaml

from medscale import Image
from medscale.cli.main import main
from medscale.errors import MedscaleDeprecationWarning
from medscale.io import read_image, write_image


@pytest.fixture
def label_map_case(tmp_path):
    """An image and a label map with two ROIs (1: a dim block, 2: a bright block)."""
    rng = np.random.default_rng(0)
    values = rng.normal(0.0, 5.0, (8, 16, 16))
    labels = np.zeros(values.shape, dtype=np.uint8)
    labels[2:6, 2:7, 2:7] = 1
    labels[2:6, 9:14, 9:14] = 2
    values[labels == 2] += 100.0
    image = Image(values.astype(np.float32), spacing=(2.0, 1.0, 1.0))
    image_path = write_image(image, tmp_path / "image.nii.gz")
    mask_path = write_image(image.with_array(labels), tmp_path / "labels.nii.gz")
    config = tmp_path / "stats.yaml"
    config.write_text(yaml.safe_dump({"families": ["statistics"]}))
    return str(image_path), str(mask_path), str(config)


def _run(args: list[str], capsys) -> tuple[int, str, list[warnings.WarningMessage]]:
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(args)
    return code, capsys.readouterr().out, list(caught)


def _deprecations(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, MedscaleDeprecationWarning)]


def test_extract_label_is_the_old_spelling_of_mask_label(label_map_case, capsys):
    image, mask, config = label_map_case
    base = ["extract", image, mask, "--config", config]
    code, new_out, caught = _run([*base, "--mask-label", "2"], capsys)
    assert code == 0 and _deprecations(caught) == []
    code, old_out, caught = _run([*base, "--label", "2"], capsys)
    assert code == 0
    assert _deprecations(caught) == ["--label is deprecated and will be removed; use --mask-label"]
    assert json.loads(old_out) == json.loads(new_out)
    code, other_out, _ = _run([*base, "--mask-label", "1"], capsys)  # the label is really used
    assert json.loads(other_out)["stat_mean"] < json.loads(new_out)["stat_mean"] - 50


def test_extract_label_and_mask_label_together_is_a_usage_error(label_map_case, capsys):
    image, mask, config = label_map_case
    capsys.readouterr()
    assert main(["extract", image, mask, "--label", "1", "--mask-label", "2"]) == 2
    assert "give --mask-label or its old spelling --label, not both" in capsys.readouterr().err


def test_old_spellings_are_hidden_from_help(capsys):
    assert main(["extract", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--mask-label" in text and "--label " not in text
    assert main(["preprocess", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--steps-file" in text and "--config" not in text


def test_preprocess_config_is_the_old_spelling_of_steps_file(label_map_case, tmp_path, capsys):
    image, _, _ = label_map_case
    steps = tmp_path / "steps.yaml"
    steps.write_text(yaml.safe_dump([{"minmax": {"out_min": 0.0, "out_max": 1.0}}]))
    new, old = tmp_path / "new.nii.gz", tmp_path / "old.nii.gz"
    code, _, caught = _run(
        ["preprocess", image, "--steps-file", str(steps), "--out", str(new)], capsys
    )
    assert code == 0 and _deprecations(caught) == []
    code, _, caught = _run(["preprocess", image, "--config", str(steps), "--out", str(old)], capsys)
    assert code == 0
    assert _deprecations(caught) == ["--config is deprecated and will be removed; use --steps-file"]
    result = read_image(old).array
    np.testing.assert_array_equal(result, read_image(new).array)
    assert (result.min(), result.max()) == pytest.approx((0.0, 1.0))  # the steps file was applied
