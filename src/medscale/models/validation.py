"""Patient-grouped, stratified K-fold cross-validation with a fixed seed.

The folds never put one patient (group) in both the training and the test part: several lesions
or images of a patient are correlated, and splitting them leaks. Classification uses
:class:`~sklearn.model_selection.StratifiedGroupKFold` (class balance kept per fold), regression
:class:`~sklearn.model_selection.GroupKFold`. Without a group column every case is its own group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from medscale.errors import ModelError
from medscale.models.table import Task

Split = tuple[NDArray[np.int64], NDArray[np.int64]]


def grouped_folds(
    target: pd.Series,
    groups: pd.Series | None,
    task: Task,
    *,
    n_splits: int = 5,
    seed: int = 0,
) -> list[Split]:
    """The (train, test) index arrays of each fold.

    Raises
    ------
    ModelError
        Fewer groups than folds, or (classification) a class with fewer cases or patients
        than folds.
    """
    n_cases = len(target)
    group_values = np.arange(n_cases) if groups is None else groups.to_numpy()
    n_groups = len(pd.unique(group_values))
    if n_groups < n_splits:
        raise ModelError(
            f"{n_groups} patients/groups for {n_splits}-fold cross-validation; "
            f"need at least {n_splits}"
        )
    if task is Task.CLASSIFICATION:
        frame = pd.DataFrame({"y": target.to_numpy(), "g": group_values})
        counts = frame.groupby("y")["g"].nunique()
        small = counts[counts < n_splits]
        if len(small):
            detail = ", ".join(f"{cls!r}: {n}" for cls, n in small.items())
            raise ModelError(
                f"class(es) with fewer patients than the {n_splits} folds ({detail}); "
                "collect more cases, merge classes or use fewer folds"
            )
        splitter: StratifiedGroupKFold | GroupKFold = StratifiedGroupKFold(
            n_splits, shuffle=True, random_state=seed
        )
        splits = splitter.split(np.zeros(n_cases), target.to_numpy(), group_values)
    else:
        splitter = GroupKFold(n_splits, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(n_cases), target.to_numpy(), group_values)
    folds = [(np.asarray(train), np.asarray(test)) for train, test in splits]
    for train, test in folds:
        check_disjoint(group_values, train, test)
    return folds


def check_disjoint(
    groups: NDArray[np.generic], train: NDArray[np.int64], test: NDArray[np.int64]
) -> None:
    """Raise if a patient (group) has cases on both sides of a split.

    Raises
    ------
    ModelError
        Naming up to five shared groups.
    """
    shared = set(groups[train].tolist()) & set(groups[test].tolist())
    if shared:
        names = ", ".join(map(str, sorted(map(str, shared))[:5]))
        raise ModelError(
            f"{len(shared)} patient(s) in both training and test data ({names}): "
            "their cases are correlated, so the test score would leak"
        )


def out_of_fold(
    fit: Callable[[NDArray[np.int64]], Any],
    x: NDArray[np.float64],
    folds: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]],
    n_classes: int | None,
) -> NDArray[np.float64]:
    """Each case predicted by the model fitted on the folds that leave it out.

    `fit(train_idx)` returns a fitted estimator. With `n_classes`, the result holds class
    probabilities, shape (n, n_classes), in the columns of the classes the fold saw (zero for a
    class absent from its training cases); without, predictions, shape (n,).
    """
    if n_classes is None:
        predicted = np.zeros(len(x))
        for train_idx, test_idx in folds:
            predicted[test_idx] = fit(train_idx).predict(x[test_idx])
        return predicted
    proba = np.zeros((len(x), n_classes))
    for train_idx, test_idx in folds:
        fitted = fit(train_idx)
        proba[np.ix_(test_idx, fitted.classes_)] = fitted.predict_proba(x[test_idx])
    return proba
