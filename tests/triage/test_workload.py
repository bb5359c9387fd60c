import math

import numpy as np
import pytest

from medscale.errors import ConfigError, InputError
from medscale.triage import saved_share, threshold_at, workload_curve, workload_reduction

# six cases by hand: read when probability >= threshold
SIX_P = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
SIX_Y = np.array([1, 0, 1, 0, 1, 0])


@pytest.mark.parametrize(
    ("sensitivity", "threshold", "saved", "achieved"),
    [
        (1.0, 0.3, 1 / 6, 1.0),  # keep all 3 positives: only f (0.1) below 0.3
        (0.9, 0.3, 1 / 6, 1.0),  # ceil(2.7) = 3 positives
        (2 / 3, 0.7, 3 / 6, 2 / 3),  # 2 positives: d, e, f below 0.7
        (0.5, 0.7, 3 / 6, 2 / 3),  # ceil(1.5) = 2
        (0.3, 0.9, 5 / 6, 1 / 3),  # 1 positive: everything but a
    ],
)
def test_six_case_example_exact(sensitivity, threshold, saved, achieved):
    point = workload_reduction(SIX_P, SIX_Y, sensitivity=sensitivity, n_bootstrap=0)
    assert point.threshold == threshold
    assert point.saved == pytest.approx(saved, abs=1e-12)
    assert point.achieved_sensitivity == pytest.approx(achieved, abs=1e-12)
    assert point.ci_low == point.ci_high == point.saved
    assert (point.n_studies, point.n_positives) == (6, 3)


@pytest.mark.parametrize("sensitivity", [0.5, 0.8, 0.9, 0.95, 0.99, 1.0])
def test_perfect_binary_scores_save_every_negative(sensitivity):
    label = np.r_[np.ones(30, int), np.zeros(70, int)]
    probability = label.astype(float)  # positives 1.0, negatives 0.0
    assert saved_share(probability, label, sensitivity) == pytest.approx(0.7)


@pytest.mark.parametrize("sensitivity", [0.5, 0.8, 0.95, 1.0])
def test_perfect_distinct_scores(sensitivity):
    # positives 0.51 .. 0.99 above all negatives: saved = negatives + positives below the k-th
    rng = np.random.default_rng(0)
    positives, negatives = np.linspace(0.51, 0.99, 20), rng.uniform(0, 0.5, 80)
    probability = np.r_[positives, negatives]
    label = np.r_[np.ones(20, int), np.zeros(80, int)]
    k = math.ceil(sensitivity * 20)
    expected = (80 + 20 - k) / 100
    assert saved_share(probability, label, sensitivity) == pytest.approx(expected)


@pytest.mark.parametrize("sensitivity", [0.8, 0.9, 0.95])
def test_random_scores_save_one_minus_sensitivity(sensitivity):
    rng = np.random.default_rng(1)
    n = 20_000
    label = (rng.random(n) < 0.2).astype(int)
    probability = rng.random(n)
    point = workload_reduction(probability, label, sensitivity=sensitivity, n_bootstrap=200)
    assert point.saved == pytest.approx(1 - sensitivity, abs=0.02)
    assert point.ci_low <= point.saved <= point.ci_high
    assert point.ci_low <= 1 - sensitivity + 0.02 and point.ci_high >= 1 - sensitivity - 0.02


def test_bootstrap_is_seeded_and_brackets_estimate():
    rng = np.random.default_rng(3)
    label = (rng.random(400) < 0.3).astype(int)
    probability = np.clip(0.3 * label + 0.7 * rng.random(400), 0, 1)
    one = workload_reduction(probability, label, sensitivity=0.9, seed=7)
    two = workload_reduction(probability, label, sensitivity=0.9, seed=7)
    other = workload_reduction(probability, label, sensitivity=0.9, seed=8)
    assert one == two
    assert (one.ci_low, one.ci_high) != (other.ci_low, other.ci_high)
    assert 0 <= one.ci_low <= one.saved <= one.ci_high <= 1
    assert one.achieved_sensitivity >= 0.9


def test_curve_is_monotone_in_sensitivity():
    rng = np.random.default_rng(4)
    label = (rng.random(1000) < 0.2).astype(int)
    probability = np.clip(0.4 * label + 0.6 * rng.random(1000), 0, 1)
    curve = workload_curve(probability, label, n_bootstrap=0)
    saved = [point.saved for point in curve]
    assert len(curve) == 21 and curve[-1].sensitivity == 1.0
    assert all(a >= b for a, b in zip(saved, saved[1:], strict=False))


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, float("nan")])
def test_sensitivity_outside_unit_interval(bad):
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        threshold_at(SIX_P, SIX_Y, bad)


def test_no_positive_label():
    with pytest.raises(InputError, match="positive"):
        workload_reduction(SIX_P, np.zeros(6), sensitivity=0.9)
