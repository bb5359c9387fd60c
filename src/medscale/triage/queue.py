"""A seeded discrete-event simulation of a reading worklist.

Studies arrive as a Poisson process (``arrivals_per_hour``), or at given times
(``arrival_min``, e.g. from the predictions' ``arrival_time``), and are read, without pre-emption,
by ``readers`` radiologists, each study taking ``minutes_per_study`` (fixed, or exponential
with that mean). Three reading orders are compared on the same arrivals and reading times:

- ``fifo``: first in, first out;
- ``risk``: highest predicted probability first (ties: earliest arrival);
- ``risk_cap``: risk order, except that a study that has waited ``max_wait_min`` or more is
  read first (the oldest of them first): ageing, so low-risk studies are not starved.

Notes
-----
With FIFO, exponential reading times and Poisson arrivals this is the M/M/c queue, whose mean
wait is Erlang C: ``Wq = C(c, a) / (c mu - lambda)`` with ``a = lambda / mu`` (`erlang_c_wait`).

References
----------
Baltruschat et al., Eur Radiol 2021 (risk-ordered worklists and the waits of low-risk studies).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from medscale.errors import ConfigError


class Policy(StrEnum):
    FIFO = "fifo"
    RISK = "risk"
    RISK_CAP = "risk_cap"


class Service(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True)
class QueueResult:
    """Outcome of one reading order; times in minutes.

    ``time_to_report`` is arrival to end of reading; ``wait`` is arrival to start of reading.
    """

    policy: str
    n_studies: int
    mean_report_positive_min: float
    p95_report_positive_min: float
    max_wait_negative_min: float
    max_report_negative_min: float
    mean_wait_all_min: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def erlang_c_wait(*, arrivals_per_hour: float, readers: int, minutes_per_study: float) -> float:
    """Mean wait in queue (minutes) of the M/M/c queue (Erlang C formula).

    Examples
    --------
    >>> round(erlang_c_wait(arrivals_per_hour=6, readers=1, minutes_per_study=5), 6)
    5.0
    """
    lam = arrivals_per_hour / 60.0
    mu = 1.0 / minutes_per_study
    a = lam / mu
    if a >= readers:
        raise ConfigError(f"unstable queue: load {a:g} >= {readers} readers")
    top = a**readers / math.factorial(readers) * readers / (readers - a)
    bottom = sum(a**k / math.factorial(k) for k in range(readers)) + top
    return (top / bottom) / (readers * mu - lam)


def _read_order(
    arrival: np.ndarray,
    probability: np.ndarray,
    reading: np.ndarray,
    *,
    readers: int,
    policy: Policy,
    max_wait_min: float | None,
) -> np.ndarray:
    """Start time of each study's reading (arrival must be sorted)."""
    n = arrival.size
    start = np.empty(n)
    free = [0.0] * readers  # heap of the times the readers become free
    by_risk: list[tuple[float, float, int]] = []
    by_arrival: deque[int] = deque()
    taken = np.zeros(n, dtype=bool)
    nxt = 0
    cap = math.inf if max_wait_min is None or policy is not Policy.RISK_CAP else max_wait_min
    for _ in range(n):
        t = heapq.heappop(free)
        if nxt < n and not by_arrival and arrival[nxt] > t:
            t = arrival[nxt]  # nobody waits: the reader idles until the next arrival
        while nxt < n and arrival[nxt] <= t:
            heapq.heappush(by_risk, (-probability[nxt], arrival[nxt], nxt))
            by_arrival.append(nxt)
            nxt += 1
        while taken[by_arrival[0]]:
            by_arrival.popleft()
        oldest = by_arrival[0]
        if policy is Policy.FIFO or t - arrival[oldest] >= cap:
            chosen = by_arrival.popleft()
        else:
            while taken[by_risk[0][2]]:
                heapq.heappop(by_risk)
            chosen = heapq.heappop(by_risk)[2]
        taken[chosen] = True
        start[chosen] = t
        heapq.heappush(free, t + reading[chosen])
        while by_arrival and taken[by_arrival[0]]:
            by_arrival.popleft()
    return start


def simulate_queue(
    probability: np.ndarray,
    label: np.ndarray,
    *,
    arrivals_per_hour: float | None = None,
    arrival_min: np.ndarray | None = None,
    readers: int = 2,
    minutes_per_study: float = 6.0,
    service: Service | str = Service.EXPONENTIAL,
    max_wait_min: float | None = 240.0,
    n_studies: int | None = None,
    seed: int = 0,
) -> dict[str, QueueResult]:
    """Simulate FIFO, risk-ordered and capped risk-ordered reading on the same arrivals.

    Parameters
    ----------
    probability, label : arrays of shape (n,)
        The predictions whose studies are read; with `n_studies`, studies are drawn from them
        with replacement, else each is read once in a random order.
    arrivals_per_hour : float, optional
        Poisson arrival rate; needed unless `arrival_min` is given.
    arrival_min : array of shape (n,), optional
        The arrival time of each study (minutes from any origin). Then every study is read
        once, in the order of these times, `arrivals_per_hour` and `n_studies` are not used,
        and only the reading times are drawn.
    readers : int
        Number of radiologists reading in parallel.
    minutes_per_study : float
        Reading time (the mean when `service` is exponential).
    max_wait_min : float, optional
        The cap of ``risk_cap``; without it that policy is not simulated.
    seed : int
        Seeds arrivals, drawing and reading times; the same seed gives the same result.

    Returns
    -------
    dict
        Policy name -> `QueueResult`.
    """
    probability = np.asarray(probability, dtype=float)
    label = np.asarray(label).astype(bool)
    if arrival_min is None and arrivals_per_hour is None:
        raise ConfigError("give arrivals_per_hour (Poisson arrivals) or arrival_min (times)")
    if arrival_min is None and arrivals_per_hour is not None and arrivals_per_hour <= 0:
        raise ConfigError(f"arrivals_per_hour must be positive, got {arrivals_per_hour}")
    if minutes_per_study <= 0 or readers < 1:
        raise ConfigError("minutes_per_study and readers must be positive")
    if max_wait_min is not None and max_wait_min <= 0:
        raise ConfigError(f"max_wait_min must be positive, got {max_wait_min}")
    service = Service(service)
    rng = np.random.default_rng(seed)
    if arrival_min is not None:
        given = np.asarray(arrival_min, dtype=float)
        if given.shape != probability.shape:
            raise ConfigError(f"arrival_min has {given.size} times for {probability.size} studies")
        if not np.isfinite(given).all():
            raise ConfigError("arrival_min has missing or infinite times")
        index = np.argsort(given, kind="stable")
        arrival = given[index]
    else:
        if n_studies is None:
            index = rng.permutation(probability.size)
        else:
            index = rng.integers(0, probability.size, n_studies)
        assert arrivals_per_hour is not None
        arrival = np.cumsum(rng.exponential(60.0 / arrivals_per_hour, index.size))
    n = index.size
    if service is Service.EXPONENTIAL:
        reading = rng.exponential(minutes_per_study, n)
    else:
        reading = np.full(n, float(minutes_per_study))
    prob, positive = probability[index], label[index]
    policies = [Policy.FIFO, Policy.RISK] + ([Policy.RISK_CAP] if max_wait_min else [])
    results = {}
    for policy in policies:
        start = _read_order(
            arrival, prob, reading, readers=readers, policy=policy, max_wait_min=max_wait_min
        )
        wait = start - arrival
        report = wait + reading
        pos_report = report[positive]
        neg_wait, neg_report = wait[~positive], report[~positive]
        results[policy.value] = QueueResult(
            policy=policy.value,
            n_studies=n,
            mean_report_positive_min=float(pos_report.mean()) if pos_report.size else math.nan,
            p95_report_positive_min=(
                float(np.quantile(pos_report, 0.95)) if pos_report.size else math.nan
            ),
            max_wait_negative_min=float(neg_wait.max()) if neg_wait.size else math.nan,
            max_report_negative_min=float(neg_report.max()) if neg_report.size else math.nan,
            mean_wait_all_min=float(wait.mean()),
        )
    return results


__all__ = ["Policy", "QueueResult", "Service", "erlang_c_wait", "simulate_queue"]
