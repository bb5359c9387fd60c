"""Intensity-based statistics: IBSI digital phantom reference values and analytic checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from ibsi_reference import matches, reference_rows, reference_values
from scipy import stats as scipy_stats

from medscale.errors import InputError, MedscaleWarning
from medscale.features import statistics
from medscale.io import read_image, read_mask


@pytest.fixture(scope="module")
def dig(shared_data: Path) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    folder = shared_data / "ibsi1" / "digital_phantom"
    image = read_image(folder / "phantom.nii.gz").array.astype(np.float64)
    mask = read_mask(folder / "mask.nii.gz").array.astype(bool)
    return statistics.compute(image[mask]), reference_values(shared_data, "dig")


@pytest.mark.parametrize("name", [info.name for info in statistics.FEATURES])
def test_digital_phantom(dig, name: str) -> None:
    computed, reference = dig
    value, tolerance = reference[name]
    assert matches(computed[name], value, tolerance), (name, computed[name], value, tolerance)


def test_against_scipy_on_random_values() -> None:
    values = np.random.default_rng(3).gamma(2.0, 50.0, size=5000) - 80.0
    out = statistics.compute(values)
    assert out["stat_mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert out["stat_var"] == pytest.approx(values.var(), rel=1e-12)
    assert out["stat_skew"] == pytest.approx(scipy_stats.skew(values), rel=1e-10)
    assert out["stat_kurt"] == pytest.approx(scipy_stats.kurtosis(values), rel=1e-10)
    assert out["stat_iqr"] == pytest.approx(scipy_stats.iqr(values), rel=1e-12)
    assert out["stat_rms"] == pytest.approx(math.sqrt(np.mean(values**2)), rel=1e-12)
    assert out["stat_cov"] == pytest.approx(values.std() / values.mean(), rel=1e-12)
    p10, p90 = np.percentile(values, [10, 90])
    inner = values[(values >= p10) & (values <= p90)]
    assert out["stat_rmad"] == pytest.approx(np.mean(np.abs(inner - inner.mean())), rel=1e-12)


@pytest.mark.filterwarnings("ignore::medscale.errors.MedscaleWarning")  # cov/qcod at mean 0
@settings(max_examples=40, deadline=None)
@given(
    values=arrays(np.float64, st.integers(3, 200), elements=st.integers(-1000, 3000).map(float)),
    shift=st.integers(-500, 500),
)
def test_shift_and_permutation_invariance(values: np.ndarray, shift: int) -> None:
    base = statistics.compute(values)
    permuted = statistics.compute(np.random.default_rng(0).permutation(values))
    shifted = statistics.compute(values + shift)
    for name in ("stat_mean", "stat_median", "stat_min", "stat_p10", "stat_p90", "stat_max"):
        assert shifted[name] == pytest.approx(base[name] + shift, abs=1e-9)
    for name in ("stat_var", "stat_iqr", "stat_range", "stat_mad", "stat_rmad", "stat_medad"):
        assert shifted[name] == pytest.approx(base[name], rel=1e-9, abs=1e-7)
    for name in ("stat_skew", "stat_kurt"):
        assert shifted[name] == pytest.approx(base[name], rel=1e-6, abs=1e-6)
    for name, value in base.items():
        assert permuted[name] == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True)


def test_constant_roi_has_zero_spread() -> None:
    out = statistics.compute(np.full(50, 7.0))
    for name in (
        "stat_var",
        "stat_skew",
        "stat_kurt",
        "stat_iqr",
        "stat_range",
        "stat_mad",
        "stat_rmad",
        "stat_medad",
        "stat_cov",
        "stat_qcod",
    ):
        assert out[name] == 0.0, name
    assert out["stat_energy"] == 50 * 49.0
    assert out["stat_rms"] == 7.0


def test_single_voxel_and_zero_mean() -> None:
    assert statistics.compute(np.array([3.0]))["stat_var"] == 0.0
    with pytest.warns(MedscaleWarning) as caught:
        out = statistics.compute(np.array([-1.0, 1.0]))
    messages = " ".join(str(w.message) for w in caught)
    assert all(f"stat_{n}" in messages for n in ("cov", "qcod", "rmad"))  # none in [P10, P90]
    assert math.isnan(out["stat_cov"]) and math.isnan(out["stat_rmad"])
    assert out["stat_var"] == 1.0


def test_empty_roi_gives_nan_with_warning() -> None:
    with pytest.warns(MedscaleWarning, match="empty"):
        out = statistics.compute(np.array([]))
    assert set(out) == {info.name for info in statistics.FEATURES}
    assert all(math.isnan(v) for v in out.values())


def test_non_finite_values_are_rejected() -> None:
    with pytest.raises(InputError, match="NaN or infinite"):
        statistics.compute(np.array([1.0, np.nan]))


def test_feature_table_matches_the_reference_ids_and_codes(shared_data: Path) -> None:
    rows = [r for r in reference_rows(shared_data, "dig") if r["feature"].startswith("stat_")]
    assert {info.name: info.ibsi_code for info in statistics.FEATURES} == {
        r["feature"]: r["ibsi_tag"] for r in rows
    }
    assert all(info.family == rows[0]["feature_family"] for info in statistics.FEATURES)
