"""Workload reduction: the share of studies that can be deprioritised at a sensitivity.

Studies are read in order of predicted probability; those below a threshold ``t`` are
deprioritised. At a target sensitivity ``s`` with ``P`` positives, at least ``k = ceil(s P)``
positives must stay at or above ``t``, so the highest admissible threshold is the ``k``-th
highest probability among the positives, and the workload saved is the share of all studies
with a probability strictly below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from medscale.errors import ConfigError, InputError


@dataclass(frozen=True)
class WorkloadPoint:
    """The workload saved at one target sensitivity.

    ``saved`` and its bootstrap CI (``ci_low``, ``ci_high``) are shares in [0, 1];
    ``achieved_sensitivity`` is the sensitivity actually reached at ``threshold`` (>= target).
    """

    sensitivity: float
    threshold: float
    saved: float
    ci_low: float
    ci_high: float
    achieved_sensitivity: float
    n_studies: int
    n_positives: int

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def check_sensitivity(sensitivity: float) -> float:
    """Return `sensitivity` as a float; raise `ConfigError` unless it lies in (0, 1]."""
    value = float(sensitivity)
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"sensitivity must lie in (0, 1], got {sensitivity}")
    return value


def _arrays(probability: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probability = np.asarray(probability, dtype=float)
    label = np.asarray(label).astype(bool)
    if probability.shape != label.shape or probability.ndim != 1:
        raise InputError("probability and label must be 1-D arrays of the same length")
    if not label.any():
        raise InputError("workload reduction needs at least one positive label")
    return probability, label


def _kept(sensitivity: float, n_positives: int) -> int:
    """``k = ceil(s P)`` (at least 1): the positives that stay at or above the threshold."""
    return max(1, math.ceil(sensitivity * n_positives - 1e-9))


def threshold_at(probability: np.ndarray, label: np.ndarray, sensitivity: float) -> float:
    """The highest threshold keeping sensitivity >= `sensitivity` (read: ``p >= threshold``)."""
    probability, label = _arrays(probability, label)
    positives = np.sort(probability[label])[::-1]
    k = _kept(check_sensitivity(sensitivity), positives.size)
    return float(positives[k - 1])


def saved_share(probability: np.ndarray, label: np.ndarray, sensitivity: float) -> float:
    """The share of studies with probability below `threshold_at` (deprioritised)."""
    probability, label = _arrays(probability, label)
    threshold = threshold_at(probability, label, sensitivity)
    return float(np.mean(probability < threshold))


def workload_reduction(
    probability: np.ndarray,
    label: np.ndarray,
    *,
    sensitivity: float,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> WorkloadPoint:
    """The workload saved at `sensitivity`, with a stratified percentile bootstrap 95 % CI.

    Parameters
    ----------
    probability : array of float, shape (n,)
        Predicted probability of the positive class.
    label : array of 0/1, shape (n,)
        1 = positive (must be read).
    sensitivity : float in (0, 1]
        The sensitivity to keep.
    n_bootstrap : int
        Bootstrap resamples (positives and negatives resampled separately, so every resample
        has as many positives as the data); 0 gives a CI equal to the point estimate.
    seed : int
        Seed of the resampling.

    Examples
    --------
    >>> point = workload_reduction([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0], sensitivity=1.0,
    ...                            n_bootstrap=0)
    >>> point.saved, point.threshold
    (0.5, 0.8)
    """
    probability, label = _arrays(probability, label)
    sensitivity = check_sensitivity(sensitivity)
    threshold = threshold_at(probability, label, sensitivity)
    saved = float(np.mean(probability < threshold))
    ci_low = ci_high = saved
    if n_bootstrap > 0:
        ci_low, ci_high = _bootstrap_ci(probability, label, sensitivity, n_bootstrap, seed)
    return WorkloadPoint(
        sensitivity=sensitivity,
        threshold=threshold,
        saved=saved,
        ci_low=ci_low,
        ci_high=ci_high,
        achieved_sensitivity=float(np.mean(probability[label] >= threshold)),
        n_studies=int(probability.size),
        n_positives=int(label.sum()),
    )


def _bootstrap_ci(
    probability: np.ndarray, label: np.ndarray, sensitivity: float, n_bootstrap: int, seed: int
) -> tuple[float, float]:
    """The 2.5 and 97.5 percentiles of the workload saved over `n_bootstrap` resamples, the
    positives and the negatives resampled separately (`workload_reduction`)."""
    rng = np.random.default_rng(seed)
    positives, negatives = probability[label], probability[~label]
    estimates = np.empty(n_bootstrap)
    k = _kept(sensitivity, positives.size)
    for b in range(n_bootstrap):
        pos = rng.choice(positives, positives.size)
        neg = rng.choice(negatives, negatives.size) if negatives.size else negatives
        cut = np.partition(pos, positives.size - k)[positives.size - k]  # k-th highest
        estimates[b] = (np.sum(pos < cut) + np.sum(neg < cut)) / probability.size
    low, high = np.quantile(estimates, [0.025, 0.975])
    return float(low), float(high)


def workload_curve(
    probability: np.ndarray,
    label: np.ndarray,
    *,
    sensitivities: np.ndarray | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> list[WorkloadPoint]:
    """`workload_reduction` over a grid of sensitivities (default 0.80, 0.81, ..., 1.00)."""
    grid = np.round(np.linspace(0.8, 1.0, 21), 6) if sensitivities is None else sensitivities
    return [
        workload_reduction(
            probability, label, sensitivity=float(s), n_bootstrap=n_bootstrap, seed=seed
        )
        for s in grid
    ]


__all__ = [
    "WorkloadPoint",
    "check_sensitivity",
    "saved_share",
    "threshold_at",
    "workload_curve",
    "workload_reduction",
]
