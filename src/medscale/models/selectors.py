"""Feature-selection steps of a pipeline, fitted on the training cases of each fold only.

``correlation``: of every pair of features with absolute Pearson correlation above a threshold
(default 0.9), the one with the larger mean absolute correlation to all others is dropped,
greedily, so one feature of each redundant group remains (a radiomics table has many near-copies:
the same texture at several bin settings). ``lasso``: the features with a non-zero coefficient
in an L1-penalised model (logistic for classes, linear for a regression; penalty chosen by an
inner CV for the regression, C = 0.1 on standardised features for classes); when the penalty
removes every feature, the one with the largest coefficient is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import LassoCV, LogisticRegression

from medscale.errors import ConfigError
from medscale.models.table import Task

SELECTIONS = ("correlation", "lasso")


class CorrelationFilter(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Drop one feature of each pair correlated above `threshold` (absolute Pearson r)."""

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold

    def fit(self, x: NDArray[np.float64], y: Any = None) -> CorrelationFilter:
        x = np.asarray(x, dtype=float)
        n_features = x.shape[1]
        keep = np.ones(n_features, dtype=bool)
        if n_features > 1 and len(x) > 2:
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.abs(np.corrcoef(x, rowvar=False))
            corr = np.nan_to_num(corr, nan=0.0)
            np.fill_diagonal(corr, 0.0)
            while True:
                sub = corr[np.ix_(keep, keep)]
                if sub.size == 0 or sub.max() <= self.threshold:
                    break
                i, j = np.unravel_index(np.argmax(sub), sub.shape)
                index = np.flatnonzero(keep)
                mean_i, mean_j = sub[i].mean(), sub[j].mean()
                keep[index[i] if mean_i >= mean_j else index[j]] = False
        self.support_ = keep
        self.n_features_in_ = n_features
        return self

    def _get_support_mask(self) -> NDArray[np.bool_]:
        return self.support_


class LassoSelector(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Keep the features with a non-zero L1-penalised coefficient (at least one)."""

    def __init__(self, task: str = "classification", seed: int = 0) -> None:
        self.task = task
        self.seed = seed

    def fit(self, x: NDArray[np.float64], y: Any) -> LassoSelector:
        estimator: LogisticRegression | LassoCV
        if self.task == Task.CLASSIFICATION.value:
            estimator = LogisticRegression(
                l1_ratio=1.0, C=0.1, solver="liblinear", random_state=self.seed, max_iter=2000
            )
        else:
            estimator = LassoCV(cv=3, random_state=self.seed, max_iter=5000, n_jobs=1)
        estimator.fit(x, y)
        weight = np.abs(np.atleast_2d(estimator.coef_)).max(axis=0)
        keep = weight > 1e-8
        if not keep.any():  # the penalty removed everything: keep the strongest one
            keep[int(np.argmax(weight))] = True
        self.support_ = keep
        self.n_features_in_ = x.shape[1]
        return self

    def _get_support_mask(self) -> NDArray[np.bool_]:
        return self.support_


def selection_steps(
    names: tuple[str, ...] | list[str], task: Task, seed: int
) -> list[tuple[str, BaseEstimator]]:
    """The pipeline steps of `names`, in the canonical order (correlation before lasso).

    Raises
    ------
    ConfigError
        An unknown selection name.
    """
    unknown = [name for name in names if name not in SELECTIONS]
    if unknown:
        raise ConfigError(
            f"unknown feature selection {', '.join(unknown)}; choose from {', '.join(SELECTIONS)}"
        )
    steps: list[tuple[str, BaseEstimator]] = []
    if "correlation" in names:
        steps.append(("correlation", CorrelationFilter()))
    if "lasso" in names:
        steps.append(("lasso", LassoSelector(task=task.value, seed=seed)))
    return steps
