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
