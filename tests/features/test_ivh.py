"""Intensity-volume histogram: IBSI digital phantom, the manual's IVH table, the three cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from ibsi_reference import matches, reference_rows, reference_values

from medscale.errors import ConfigError, MedscaleWarning
from medscale.features import ivh
from medscale.io import read_image, read_mask


@pytest.fixture(scope="module")
def phantom_values(shared_data: Path) -> np.ndarray:
    folder = shared_data / "ibsi1" / "digital_phantom"
    image = read_image(folder / "phantom.nii.gz").array.astype(np.float64)
    mask = read_mask(folder / "mask.nii.gz").array.astype(bool)
    return image[mask]


@pytest.mark.parametrize("name", [info.name for info in ivh.FEATURES])
@pytest.mark.parametrize(
    "setting",
    [
        {"discretisation": "none"},
        {"discretisation": "fixed_bin_size", "bin_width": 1.0, "value_range": (0.5, 6.5)},
        {"discretisation": "fixed_bin_number", "n_bins": 6},
    ],
    ids=["none", "fbs1", "fbn6"],
)
def test_digital_phantom(phantom_values, shared_data, name: str, setting: dict) -> None:
    value, tolerance = reference_values(shared_data, "dig")[name]
    computed = ivh.compute(phantom_values, **setting)[name]
    if setting["discretisation"] == "fixed_bin_number":  # grey levels 1..6 either way
        assert matches(computed, value, tolerance), (name, computed, value)
    elif setting["discretisation"] == "none":
        assert matches(computed, value, tolerance), (name, computed, value)
    elif name.startswith("ivh_v") or name == "ivh_diff_v10_v90":
        # bins [0.5, 1.5), ... centred on 1..6: G = [1, 6] again
        assert matches(computed, value, tolerance), (name, computed, value)


def test_manual_ivh_table_of_the_digital_phantom(phantom_values) -> None:
    # manual, table "intensity-volume histogram of the digital phantom": nu at i = 1..6
    nu = {1: 1.000, 2: 0.324, 3: 0.324, 4: 0.311, 5: 0.095, 6: 0.095}
    fraction_at_least = {i: np.mean(phantom_values >= i) for i in nu}
    assert all(abs(fraction_at_least[i] - nu[i]) < 5e-4 for i in nu)
    out = ivh.compute(phantom_values, discretisation="none")
    assert out["ivh_v10"] == pytest.approx(fraction_at_least[2])  # gamma(2) = 0.2 >= 0.1
    assert out["ivh_v90"] == pytest.approx(fraction_at_least[6])  # gamma(6) = 1.0 >= 0.9


def test_resegmentation_range_sets_the_total_range() -> None:
    values = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0])
    # G = [-100, 100]: gamma >= 0.1 first at i = -80 (all voxels), >= 0.9 at i = 80
    out = ivh.compute(values, discretisation="none", value_range=(-100.0, 100.0))
    assert out["ivh_v10"] == 1.0
    assert out["ivh_v90"] == pytest.approx(0.2)
    assert out["ivh_i10"] == 81.0  # lowest i with at most 10 % of voxels >= i
    assert out["ivh_i90"] == 1.0
    # an open upper end falls back to max(X): G = [-100, 90]
    open_end = ivh.compute(values, discretisation="none", value_range=(-100.0, None))
    assert open_end["ivh_v90"] == pytest.approx(0.2)  # i = -100 + 0.9 * 190 = 71 -> 80, 90


def test_fixed_bin_size_uses_bin_centres() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([np.round(rng.normal(-50.0, 200.0, 400)), [-1000.0, 400.0, 400.0]])
    out = ivh.compute(
        values, discretisation="fixed_bin_size", bin_width=2.5, value_range=(-1000.0, 400.0)
    )
    # voxels take their bin centre -1000 + (X_d - 0.5) 2.5; G = [-998.75, 398.75] step 2.5,
    # and the grid goes on to 401.25, the centre of the bin of the voxels at 400
    centres = -1000.0 + (np.floor((values + 1000.0) / 2.5) + 0.5) * 2.5
    grid = -998.75 + 2.5 * np.arange(562)
    nu = np.array([np.mean(centres >= i - 1e-9) for i in grid])
    gamma = (grid - grid[0]) / (398.75 - grid[0])
    assert out["ivh_i10"] == pytest.approx(grid[np.argmax(nu <= 0.1)])
    assert out["ivh_i90"] == pytest.approx(grid[np.argmax(nu <= 0.9)])
    assert out["ivh_v10"] == pytest.approx(nu[np.argmax(gamma >= 0.1)])
    assert out["ivh_v90"] == pytest.approx(nu[np.argmax(gamma >= 0.9)])
    assert out["ivh_i10"] % 2.5 == pytest.approx(1.25)  # a bin centre


def test_fixed_bin_number_ignores_the_range_and_reports_bin_numbers() -> None:
    values = np.linspace(0.0, 1.0, 1001)
    out = ivh.compute(
        values, discretisation="fixed_bin_number", n_bins=1000, value_range=(-5.0, 5.0)
    )
    # value k / 1000 -> bin k + 1, the maximum joins bin 1000: 1002 - i voxels at >= i
    assert out["ivh_i10"] == 902.0  # 1002 - i <= 100.1
    assert out["ivh_i90"] == 102.0  # 1002 - i <= 900.9
    assert out["ivh_v10"] == pytest.approx(901 / 1001)  # gamma = (i - 1) / 999 >= 0.1 at 101
    assert out["ivh_diff_i10_i90"] == 800.0


def test_constant_roi_gives_nan_with_warning() -> None:
    with pytest.warns(MedscaleWarning, match="ivh_v10"):
        out = ivh.compute(np.full(10, 5.0), discretisation="none")
    assert math.isnan(out["ivh_v10"]) and math.isnan(out["ivh_i10"])


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="discretisation"):
        ivh.compute(np.ones(3), discretisation="fbs")
    with pytest.raises(ConfigError, match="bin_width"):
        ivh.compute(np.ones(3), discretisation="fixed_bin_size")
    with pytest.raises(ConfigError, match="n_bins"):
        ivh.compute(np.ones(3), discretisation="fixed_bin_number", n_bins=0)


def test_feature_table_matches_the_reference_ids_and_codes(shared_data: Path) -> None:
    rows = [r for r in reference_rows(shared_data, "dig") if r["feature"].startswith("ivh_")]
    assert {info.name: info.ibsi_code for info in ivh.FEATURES} == {
        r["feature"]: r["ibsi_tag"] for r in rows
    }
    assert all(info.family == rows[0]["feature_family"] for info in ivh.FEATURES)
