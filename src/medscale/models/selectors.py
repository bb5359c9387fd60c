"""Feature-selection steps of a pipeline, fitted on the training cases of each fold only.

``correlation``: of every pair of features with absolute Pearson correlation above a threshold
(default 0.9), the one with the larger mean absolute correlation to all others is dropped,
greedily, so one feature of each redundant group remains (a radiomics table has many near-copies:
the same texture at several bin settings). ``lasso``: the features with a non-zero coefficient
in an L1-penalised model (logistic for classes, linear for a regression; penalty chosen by an
inner CV for the regression, C = 0.1 on standardised features for classes); when the penalty
removes every feature, the one with the largest coefficient is kept. ``mrmr`` (``mrmr:k=10``;
default k = 20): minimum redundancy maximum relevance (Peng, Long & Ding 2005, the MID form),
greedy: relevance is the mutual information with the target (scikit-learn's k-NN estimator,
seeded), redundancy the mean absolute Pearson correlation with the features already chosen; each
step adds the feature with the largest relevance minus redundancy. A k above the number of
features is clamped to it, with a warning.

Steps run in the canonical order correlation → mrmr → lasso, whatever the order of the names.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin, mutual_info_classif, mutual_info_regression
from sklearn.linear_model import LassoCV, LogisticRegression

from medscale.errors import ConfigError, MedscaleWarning
from medscale.models.table import Task

SELECTIONS = ("correlation", "mrmr", "lasso")
MRMR_DEFAULT_K = 20


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


class MRMRSelector(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Keep `k` features by greedy minimum redundancy maximum relevance (MID form).

    Relevance is the mutual information of each feature with the target, redundancy the mean
    absolute Pearson correlation with the features chosen so far. Exact duplicate columns get
    the relevance of their first occurrence, so a tie goes to the earlier column. Fitted
    attributes: ``support_``, ``order_`` (the chosen column indices, in the order chosen) and
    ``relevance_``.
    """

    def __init__(
        self, k: int = MRMR_DEFAULT_K, task: str = "classification", seed: int = 0
    ) -> None:
        self.k = k
        self.task = task
        self.seed = seed

    def fit(self, x: NDArray[np.float64], y: Any) -> MRMRSelector:
        x = np.asarray(x, dtype=float)
        n_features = x.shape[1]
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"mrmr: k must be a positive integer, got {self.k!r}")
        k = int(self.k)
        if k > n_features:
            warnings.warn(
                f"mrmr: k={k} is more than the {n_features} feature(s) left; keeping all of them",
                MedscaleWarning,
                stacklevel=2,
            )
            k = n_features
        relevance = self._relevance(x, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.abs(np.corrcoef(x, rowvar=False)) if n_features > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        chosen = [int(np.argmax(relevance))] if n_features else []
        redundancy_sum = corr[chosen[0]].copy() if chosen else np.zeros(0)
        available = np.ones(n_features, dtype=bool)
        if chosen:
            available[chosen[0]] = False
        while len(chosen) < k:
            score = relevance - redundancy_sum / len(chosen)
            score[~available] = -np.inf
            best = int(np.argmax(score))
            chosen.append(best)
            available[best] = False
            redundancy_sum += corr[best]
        support = np.zeros(n_features, dtype=bool)
        support[chosen] = True
        self.support_ = support
        self.order_ = np.asarray(chosen, dtype=np.int64)
        self.relevance_ = relevance
        self.n_features_in_ = n_features
        return self

    def _relevance(self, x: NDArray[np.float64], y: Any) -> NDArray[np.float64]:
        """Mutual information of each distinct column with `y`; duplicates share their first's."""
        if x.shape[1] == 0:
            return np.zeros(0)
        _, first, inverse = np.unique(x, axis=1, return_index=True, return_inverse=True)
        distinct = x[:, first]
        if self.task == Task.CLASSIFICATION.value:
            mi = mutual_info_classif(distinct, y, discrete_features=False, random_state=self.seed)
        else:
            mi = mutual_info_regression(
                distinct, y, discrete_features=False, random_state=self.seed
            )
        return np.asarray(mi, dtype=float)[np.ravel(inverse)]

    def _get_support_mask(self) -> NDArray[np.bool_]:
        return self.support_


def parse_selection(name: str) -> tuple[str, dict[str, int]]:
    """``"mrmr:k=10"`` → ``("mrmr", {"k": 10})``; a bare name has no parameters.

    Raises
    ------
    ConfigError
        An unknown name, an unknown parameter or a value that is not a positive integer.
    """
    base, _, rest = name.strip().partition(":")
    if base not in SELECTIONS:
        raise ConfigError(f"unknown feature selection {base}; choose from {', '.join(SELECTIONS)}")
    params: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in rest.split(":"))):
        key, _, value = item.partition("=")
        if base != "mrmr" or key != "k":
            raise ConfigError(
                f"feature selection {base} has no parameter {key!r}"
                + (" (mrmr takes k=N)" if base == "mrmr" else "")
            )
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"feature selection {name}: k must be a positive integer")
        params[key] = int(value)
    return base, params


def selection_steps(
    names: tuple[str, ...] | list[str], task: Task, seed: int
) -> list[tuple[str, BaseEstimator]]:
    """The pipeline steps of `names`, in the canonical order correlation → mrmr → lasso.

    A name may carry parameters: ``mrmr:k=10``.

    Raises
    ------
    ConfigError
        An unknown selection name or parameter.
    """
    unknown = [name for name in names if name.partition(":")[0].strip() not in SELECTIONS]
    if unknown:
        raise ConfigError(
            f"unknown feature selection {', '.join(unknown)}; choose from {', '.join(SELECTIONS)}"
        )
    parsed = dict(parse_selection(name) for name in names)
    steps: list[tuple[str, BaseEstimator]] = []
    if "correlation" in parsed:
        steps.append(("correlation", CorrelationFilter()))
    if "mrmr" in parsed:
        k = parsed["mrmr"].get("k", MRMR_DEFAULT_K)
        steps.append(("mrmr", MRMRSelector(k=k, task=task.value, seed=seed)))
    if "lasso" in parsed:
        steps.append(("lasso", LassoSelector(task=task.value, seed=seed)))
    return steps
