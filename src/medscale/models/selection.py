"""`auto`: choose a model by an inner, patient-grouped cross-validation on training data only.

Called inside each outer fold (nested cross-validation), so the outer score of `auto` is not
tuned on its own test cases; the final model repeats the choice on all cases.
Classification candidates are ranked by ROC AUC (one-vs-rest macro beyond two classes),
regression candidates by R²; ties go to the earlier, simpler model of the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import r2_score, roc_auc_score

from medscale.models.pipelines import build_pipeline, model_names
from medscale.models.table import Task
from medscale.models.validation import grouped_folds, out_of_fold

AUTO = "auto"


@dataclass(frozen=True)
class Choice:
    """The winner of an inner cross-validation and every candidate's score."""

    winner: str
    metric: str
    scores: dict[str, float]


def choose_model(
    x: NDArray[np.float64],
    y: NDArray[np.generic],
    groups: NDArray[np.generic] | None,
    task: Task,
    *,
    n_splits: int = 3,
    seed: int = 0,
    selection: tuple[str, ...] = (),
    sites: list[str] | None = None,
    n_covariates: int = 0,
) -> Choice:
    """Score every candidate of `task` by inner grouped CV on (`x`, `y`); the best wins.

    `y` holds class codes 0..k-1 for a classification, numbers for a regression. With
    `sites`, the last column of `x` is the site code and each pipeline harmonises by it (ComBat
    fitted on each inner training fold), with `n_covariates` covariate columns before it.

    Raises
    ------
    ModelError
        Too few patients or class members for `n_splits` inner folds.
    """
    folds = grouped_folds(
        pd.Series(y),
        None if groups is None else pd.Series(groups),
        task,
        n_splits=n_splits,
        seed=seed,
    )
    n_classes = int(np.max(y)) + 1 if task is Task.CLASSIFICATION else None
    scores: dict[str, float] = {}
    for name in model_names(task):

        def fit(idx: NDArray[np.int64], name: str = name) -> Any:
            pipeline = build_pipeline(
                name, task, seed=seed, selection=selection, sites=sites, n_covariates=n_covariates
            )
            return pipeline.fit(x[idx], y[idx])

        outputs = out_of_fold(fit, x, folds, n_classes)
        if n_classes is None:
            scores[name] = float(r2_score(y, outputs))
        elif n_classes == 2:
            scores[name] = float(roc_auc_score(y, outputs[:, 1]))
        else:
            scores[name] = float(
                roc_auc_score(y, outputs, multi_class="ovr", labels=range(n_classes))
            )
    winner = max(scores, key=lambda name: scores[name])  # first of equals: the simpler model
    return Choice(
        winner=winner, metric="auc" if task is Task.CLASSIFICATION else "r2", scores=scores
    )
