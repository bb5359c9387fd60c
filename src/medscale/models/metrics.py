"""Headline metrics with 95 % bootstrap confidence intervals.

Classification: ROC AUC (one-vs-rest macro for more than two classes), balanced accuracy,
sensitivity and specificity at a threshold (binary), Brier score (binary: mean of
(p - y)²; multi-class: mean over cases of the sum over classes), and calibration: the
expected calibration error ``ece`` (10 equal-width bins of the predicted probability of the
called class; the case-weighted mean of |accuracy - mean probability| per bin) and, for two
classes, the calibration slope and intercept (Cox: the logistic regression of the outcome on
logit(p); a calibrated model has slope 1, intercept 0; slope < 1 means over-confident
predictions). Regression: MAE, RMSE, R².
Each metric is ``{"value": v, "ci_low": a, "ci_high": b}``: the percentile interval of the
metric over `n_boot` resamples of the cases with replacement (a fixed seed reproduces it);
resamples where the metric is undefined (one class only) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit
from sklearn.metrics import (
    balanced_accuracy_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from medscale.errors import ModelError

Metric = dict[str, float]
Score = Callable[[NDArray[np.int64]], float]


def bootstrap(
    score: Score,
    n_cases: int,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Metric:
    """`score` on all cases and its 95 % percentile bootstrap interval.

    `score` takes an index array into the cases and returns the metric on those cases. With
    `groups` (one patient id per case) whole patients are resampled (a cluster bootstrap): a
    patient's cases are correlated, and resampling them one by one makes the interval too narrow.
    A metric undefined on all cases (`score` raises ValueError) is NaN, and so is its interval.
    """
    try:
        value = float(score(np.arange(n_cases)))
    except ValueError:  # undefined on these cases (e.g. a calibration fit under separation)
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(n_cases)]
    else:
        _, codes = np.unique(np.asarray(groups), return_inverse=True)
        members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    draws = []
    for _ in range(n_boot):
        picked = rng.integers(0, len(members), len(members))
        try:
            draw = float(score(np.concatenate([members[k] for k in picked])))
        except ValueError:  # one class only in this resample: the metric is undefined
            continue
        if np.isfinite(draw):
            draws.append(draw)
    if len(draws) < n_boot // 2:
        return {"value": value, "ci_low": float("nan"), "ci_high": float("nan")}
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"value": value, "ci_low": float(low), "ci_high": float(high)}


def classification_metrics(
    labels: ArrayLike,
    probabilities: ArrayLike,
    classes: Sequence[object],
    *,
    threshold: float = 0.5,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Metric]:
    """AUC, balanced accuracy, Brier and (binary) sensitivity / specificity, each with a CI.

    Parameters
    ----------
    labels : array of shape (n_cases,)
        The true classes.
    probabilities : array of shape (n_cases, n_classes)
        Predicted class probabilities, columns in the order of `classes`.
    classes : sequence
        The classes; for two classes the second is the positive one.
    threshold : float
        Probability of the positive class at or above which a case is called positive (binary).
    groups : array of shape (n_cases,), optional
        Patient ids: the bootstrap resamples patients (see :func:`bootstrap`).
    """
    labels = np.asarray(labels)
    proba = np.asarray(probabilities, dtype=float)
    class_list = list(classes)
    unknown = set(labels.tolist()) - set(class_list)
    if unknown:
        raise ModelError(
            f"labels {sorted(map(str, unknown))} are not classes of the model {class_list}"
        )
    y = np.array([class_list.index(value) for value in labels])
    onehot = np.eye(len(class_list))[y]
    binary = len(class_list) == 2
    if binary:
        called = (proba[:, 1] >= threshold).astype(int)
    else:
        called = proba.argmax(axis=1)

    def auc(idx: NDArray[np.int64]) -> float:
        if binary:
            return float(roc_auc_score(y[idx], proba[idx, 1]))
        return float(
            roc_auc_score(y[idx], proba[idx], multi_class="ovr", labels=range(len(class_list)))
        )

    def balanced(idx: NDArray[np.int64]) -> float:
        if len(np.unique(y[idx])) < 2:
            raise ValueError("one class")
        return float(balanced_accuracy_score(y[idx], called[idx]))

    def brier(idx: NDArray[np.int64]) -> float:
        if binary:  # the usual binary form: mean squared error of the positive probability
            return float(np.mean((proba[idx, 1] - y[idx]) ** 2))
        return float(np.mean(np.sum((proba[idx] - onehot[idx]) ** 2, axis=1)))

    top = proba.max(axis=1)
    hit = (proba.argmax(axis=1) == y).astype(float)
    scores: dict[str, Score] = {
        "auc": auc,
        "balanced_accuracy": balanced,
        "brier": brier,
        "ece": lambda idx: expected_calibration_error(top[idx], hit[idx]),
    }
    if binary:
        scores["sensitivity"] = lambda idx: _rate(called[idx], y[idx], 1)
        scores["specificity"] = lambda idx: _rate(called[idx], y[idx], 0)
        scores["calibration_slope"] = lambda idx: calibration_fit(proba[idx, 1], y[idx])[1]
        scores["calibration_intercept"] = lambda idx: calibration_fit(proba[idx, 1], y[idx])[0]
    return {
        name: bootstrap(score, len(y), groups=groups, n_boot=n_boot, seed=seed)
        for name, score in scores.items()
    }


def expected_calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.float64], n_bins: int = 10
) -> float:
    """Binned ECE: sum over equal-width bins of (cases in bin / n) · |accuracy - confidence|."""
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for k in np.unique(bins):
        members = bins == k
        total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def calibration_fit(
    probability: NDArray[np.float64], outcome: NDArray[np.int64]
) -> tuple[float, float]:
    """(intercept, slope) of the logistic regression of `outcome` on logit(`probability`).

    Damped Newton-Raphson on two parameters; probabilities are clipped to [1e-6, 1 - 1e-6]. Raises
    ValueError when the outcome has one class or the fit does not converge (separation).
    """
    if len(np.unique(outcome)) < 2:
        raise ValueError("one class")
    p = np.clip(probability, 1e-6, 1 - 1e-6)
    design = np.column_stack([np.ones(len(p)), np.log(p / (1 - p))])
    beta = np.array([0.0, 1.0])

    def loglik(coef: NDArray[np.float64]) -> float:
        eta = design @ coef
        return float(np.sum(outcome * eta - np.logaddexp(0.0, eta)))

    current = loglik(beta)
    for _ in range(100):
        fitted = expit(design @ beta)
        weight = fitted * (1 - fitted)
        hessian = design.T @ (design * weight[:, None])
        try:
            step = np.linalg.solve(hessian, design.T @ (outcome - fitted))
        except np.linalg.LinAlgError as err:
            raise ValueError("singular calibration fit") from err
        for _ in range(40):  # damped Newton: halve the step until the likelihood improves
            candidate = beta + step
            value = loglik(candidate)
            if np.isfinite(value) and value >= current - 1e-12:
                break
            step = step / 2
        beta, current = candidate, value
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 1e3:
            raise ValueError("calibration fit does not converge")
        if np.abs(step).max() < 1e-8:
            return float(beta[0]), float(beta[1])
    raise ValueError("calibration fit does not converge")


def _rate(called: NDArray[np.int64], truth: NDArray[np.int64], positive: int) -> float:
    """The fraction of cases of class `positive` that were called `positive`."""
    members = truth == positive
    if not members.any():
        raise ValueError("no case of this class")
    return float(np.mean(called[members] == positive))


def regression_metrics(
    truth: ArrayLike,
    predicted: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Metric]:
    """MAE, RMSE and R² of `predicted` against `truth`, each with a 95 % bootstrap CI."""
    y = np.asarray(truth, dtype=float)
    p = np.asarray(predicted, dtype=float)

    def r2(idx: NDArray[np.int64]) -> float:
        if np.ptp(y[idx]) == 0:
            raise ValueError("constant truth")
        return float(r2_score(y[idx], p[idx]))

    scores: dict[str, Score] = {
        "mae": lambda idx: float(mean_absolute_error(y[idx], p[idx])),
        "rmse": lambda idx: float(np.sqrt(np.mean((y[idx] - p[idx]) ** 2))),
        "r2": r2,
    }
    return {
        name: bootstrap(score, len(y), groups=groups, n_boot=n_boot, seed=seed)
        for name, score in scores.items()
    }


def format_metrics(metrics: dict[str, Metric]) -> str:
    """One line per metric: ``auc  0.931 (95 % CI 0.902-0.957)``."""
    return "\n".join(
        f"{name:<18} {m['value']:.3f} (95 % CI {m['ci_low']:.3f}-{m['ci_high']:.3f})"
        for name, m in metrics.items()
    )
