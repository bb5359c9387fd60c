"""Intensity histogram: IBSI digital phantom reference values, mode and gradient rules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from ibsi_reference import matches, reference_rows, reference_values

from medscale.errors import InputError, MedscaleWarning
from medscale.features import intensity_histogram, statistics
from medscale.io import read_image, read_mask


@pytest.fixture(scope="module")
def dig(shared_data: Path) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    folder = shared_data / "ibsi1" / "digital_phantom"
    image = read_image(folder / "phantom.nii.gz").array
    mask = read_mask(folder / "mask.nii.gz").array.astype(bool)
    computed = intensity_histogram.compute(image[mask].astype(np.int64), 6)
    return computed, reference_values(shared_data, "dig")


@pytest.mark.parametrize("name", [info.name for info in intensity_histogram.FEATURES])
def test_digital_phantom(dig, name: str) -> None:
    computed, reference = dig
    value, tolerance = reference[name]
    assert matches(computed[name], value, tolerance), (name, computed[name], value, tolerance)


def test_shared_features_equal_statistics_of_levels() -> None:
    levels = np.random.default_rng(5).integers(1, 33, size=2000)
    ih = intensity_histogram.compute(levels, 32)
    st = statistics.compute(levels.astype(float))
    for name in statistics.SHARED_NAMES:
        assert ih[f"ih_{name}"] == pytest.approx(st[f"stat_{name}"], rel=1e-12, abs=1e-12)


def test_entropy_and_uniformity_of_a_uniform_histogram() -> None:
    levels = np.repeat(np.arange(1, 9), 10)
    out = intensity_histogram.compute(levels, 8)
    assert out["ih_entropy"] == pytest.approx(3.0)
    assert out["ih_uniformity"] == pytest.approx(1 / 8)
    assert out["ih_max_grad"] == 0.0 and out["ih_min_grad"] == 0.0


def test_gradient_uses_empty_bins_and_one_sided_ends() -> None:
    counts = np.array([4, 0, 0, 10, 2])  # level 5 of 6 has 2 voxels, level 6 none
    levels = np.repeat(np.arange(1, 6), counts)
    out = intensity_histogram.compute(levels, 6)
    gradient = [0 - 4, (0 - 4) / 2, (10 - 0) / 2, (2 - 0) / 2, (0 - 10) / 2, 0 - 2]
    assert out["ih_max_grad"] == max(gradient) and out["ih_max_grad_g"] == 3
    assert out["ih_min_grad"] == min(gradient) and out["ih_min_grad_g"] == 5
    assert out["ih_mode"] == 4


def test_mode_ties_go_to_the_level_closest_to_the_mean_then_left() -> None:
    # counts 3 at levels 1 and 4, mean 3.0 -> level 4 is closer
    assert intensity_histogram.compute(np.array([1, 1, 1, 4, 4, 4, 5, 5]), 5)["ih_mode"] == 4
    # levels 1 and 3 equidistant to the mean 2 -> the left one
    assert intensity_histogram.compute(np.array([1, 1, 2, 3, 3]), 3)["ih_mode"] == 1


def test_constant_roi() -> None:
    out = intensity_histogram.compute(np.full(20, 3), 5)
    assert out["ih_var"] == 0 and out["ih_skew"] == 0 and out["ih_entropy"] == 0
    assert out["ih_uniformity"] == 1 and out["ih_mode"] == 3


def test_levels_outside_range_are_rejected() -> None:
    with pytest.raises(InputError, match="outside 1..4"):
        intensity_histogram.compute(np.array([1, 5]), 4)
    with pytest.raises(InputError, match="whole grey levels"):
        intensity_histogram.compute(np.array([1.5, 2.0]), 4)


def test_empty_roi_gives_nan_with_warning() -> None:
    with pytest.warns(MedscaleWarning, match="empty"):
        out = intensity_histogram.compute(np.array([], dtype=int), 4)
    assert all(math.isnan(v) for v in out.values())


def test_feature_table_matches_the_reference_ids_and_codes(shared_data: Path) -> None:
    rows = [r for r in reference_rows(shared_data, "dig") if r["feature"].startswith("ih_")]
    assert {info.name: info.ibsi_code for info in intensity_histogram.FEATURES} == {
        r["feature"]: r["ibsi_tag"] for r in rows
    }
    assert all(info.family == rows[0]["feature_family"] for info in intensity_histogram.FEATURES)
