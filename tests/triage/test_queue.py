import time

import numpy as np
import pytest

from medscale.errors import ConfigError
from medscale.triage import erlang_c_wait, simulate_queue


def _cohort(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.2
    probability = np.clip(0.4 * label + 0.6 * rng.random(n), 0, 1)
    return probability, label


def test_erlang_c_known_values():
    # M/M/1: Wq = rho / (mu - lambda) = 0.5 / (0.2 - 0.1) = 5 min
    assert erlang_c_wait(arrivals_per_hour=6, readers=1, minutes_per_study=5) == pytest.approx(5)
    # M/M/2, a = 1: C = 1/3, Wq = (1/3) / (2 - 1) * 6 min = 2 min
    assert erlang_c_wait(arrivals_per_hour=10, readers=2, minutes_per_study=6) == pytest.approx(2)
    with pytest.raises(ConfigError, match="unstable"):
        erlang_c_wait(arrivals_per_hour=30, readers=2, minutes_per_study=6)


@pytest.mark.parametrize(("readers", "arrivals_per_hour"), [(2, 14.0), (3, 24.0)])
def test_fifo_mean_wait_matches_erlang_c(readers, arrivals_per_hour):
    probability, label = _cohort()
    start = time.perf_counter()
    result = simulate_queue(
        probability,
        label,
        arrivals_per_hour=arrivals_per_hour,
        readers=readers,
        minutes_per_study=6.0,
        service="exponential",
        max_wait_min=None,
        n_studies=150_000,
        seed=11,
    )
    assert time.perf_counter() - start < 5
    expected = erlang_c_wait(
        arrivals_per_hour=arrivals_per_hour, readers=readers, minutes_per_study=6.0
    )
    assert result["fifo"].mean_wait_all_min == pytest.approx(expected, rel=0.05)
    # reading order does not change the mean wait of a work-conserving queue much
    assert result["risk"].mean_wait_all_min == pytest.approx(expected, rel=0.08)


def test_risk_order_helps_positives_and_starves_negatives_unless_capped():
    probability, label = _cohort()
    cap = 120.0
    result = simulate_queue(
        probability,
        label,
        arrivals_per_hour=16,
        readers=2,
        minutes_per_study=6,
        service="fixed",
        max_wait_min=cap,
        n_studies=30_000,
        seed=5,
    )
    fifo, risk, capped = result["fifo"], result["risk"], result["risk_cap"]
    assert risk.mean_report_positive_min < 0.8 * fifo.mean_report_positive_min
    assert risk.p95_report_positive_min < fifo.p95_report_positive_min
    assert risk.max_wait_negative_min > 2 * cap  # the trap: low-risk studies wait for hours
    assert capped.max_wait_negative_min <= cap + 2 * 6  # ageing bounds it
    assert capped.mean_report_positive_min < fifo.mean_report_positive_min


def test_simulation_is_seeded():
    probability, label = _cohort(500)
    kwargs = dict(arrivals_per_hour=16, readers=2, minutes_per_study=6, n_studies=2000)
    assert simulate_queue(probability, label, seed=1, **kwargs) == simulate_queue(
        probability, label, seed=1, **kwargs
    )
    assert simulate_queue(probability, label, seed=1, **kwargs) != simulate_queue(
        probability, label, seed=2, **kwargs
    )


def test_bad_queue_parameters():
    probability, label = _cohort(100)
    with pytest.raises(ConfigError):
        simulate_queue(probability, label, arrivals_per_hour=0, readers=2)
    with pytest.raises(ConfigError, match="max_wait_min"):
        simulate_queue(probability, label, arrivals_per_hour=10, max_wait_min=-1)


def _given(order=(0, 1, 2), cap=None):
    """1 reader, 10 min per study; arrivals at 0, 1, 2 min; only the last study is positive."""
    arrival = np.array([0.0, 1.0, 2.0])[list(order)]
    probability = np.array([0.1, 0.2, 0.9])[list(order)]
    label = np.array([0, 0, 1])[list(order)]
    return simulate_queue(
        probability,
        label,
        arrival_min=arrival,
        readers=1,
        minutes_per_study=10,
        service="fixed",
        max_wait_min=cap,
    )


def test_given_arrival_times_hand_computed():
    result = _given(cap=15)
    # FIFO: reads start at 0, 10, 20: the positive (arrived at 2) reported at 30, i.e. 28 min
    fifo = result["fifo"]
    assert fifo.n_studies == 3
    assert fifo.mean_report_positive_min == pytest.approx(28)
    assert fifo.max_wait_negative_min == pytest.approx(9)
    # risk: at t=10 the positive (p 0.9) goes before the study waiting since t=1
    risk = result["risk"]
    assert risk.mean_report_positive_min == pytest.approx(18)
    assert risk.max_wait_negative_min == pytest.approx(19)
    # a 15-min cap is not reached at t=10 (waited 9): the same as risk order
    assert result["risk_cap"].mean_report_positive_min == pytest.approx(18)
    # a 5-min cap is: the old study first, as in FIFO
    capped = _given(cap=5)["risk_cap"]
    assert capped.mean_report_positive_min == pytest.approx(28)
    assert capped.max_wait_negative_min == pytest.approx(9)
    assert capped.mean_wait_all_min == pytest.approx((0 + 9 + 18) / 3)


def test_given_arrival_times_in_any_order():
    assert _given((2, 0, 1), cap=15) == _given(cap=15)


def test_given_arrival_times_checked():
    with pytest.raises(ConfigError, match="3 times for 2 studies"):
        simulate_queue([0.1, 0.2], [0, 1], arrival_min=[0, 1, 2])
    with pytest.raises(ConfigError, match="missing"):
        simulate_queue([0.1, 0.2], [0, 1], arrival_min=[0, np.nan])
    with pytest.raises(ConfigError, match="arrivals_per_hour"):
        simulate_queue([0.1, 0.2], [0, 1])
