"""Training with honest evaluation, prediction and evaluation of a predictions table.

:func:`train` cross-validates the pipeline by patient (out-of-fold predictions for every case,
each predicted by a model that never saw its patient), reports metrics with bootstrap CIs, then
fits the pipeline on all cases. :func:`predict` applies a saved model to a table holding its
features; :func:`evaluate` scores a predictions table (DESIGN.md columns).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.pipeline import Pipeline

from medscale.errors import ModelError
from medscale.models.metrics import Metric, classification_metrics, regression_metrics
from medscale.models.persistence import ModelCard, SavedModel
from medscale.models.pipelines import build_pipeline
from medscale.models.selection import AUTO, Choice, choose_model
from medscale.models.table import ID_COLUMN, Task, check_target, infer_task, select_features
from medscale.models.validation import grouped_folds

logger = logging.getLogger(__name__)


def train(
    table: pd.DataFrame,
    *,
    target: str,
    model: str,
    group: str | None = None,
    site: str | None = None,
    task: Task | str | None = None,
    features: str | None = None,
    n_splits: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
) -> SavedModel:
    """Cross-validate `model` on `table` by patient, then fit it on all cases.

    Parameters
    ----------
    table : DataFrame
        One row per case: features and the target (and optionally group / site columns).
    target : str
        The column to learn.
    model : str
        A name of :func:`medscale.models.pipelines.model_names`, or ``"auto"``: each outer
        fold picks its model by an inner grouped CV on its training cases (nested CV), the
        final model by an inner CV on all cases; ``card.notes["auto"]`` says which won and why.
    group : str, optional
        The patient column; cases of one patient never straddle a split.
    site : str, optional
        The site column (excluded from the features).
    task : Task or str, optional
        Inferred from the target's type when not given.
    features : str, optional
        A glob narrowing the feature columns.

    Raises
    ------
    ModelError
        Bad target, missing group column, too few cases per class or group.
    """
    for name, role in ((group, "group"), (site, "site")):
        if name is not None and name not in table.columns:
            raise ModelError(f"{role} column {name!r} is not in the table")
    resolved = (
        Task(task)
        if task is not None
        else infer_task(table[target])
        if target in table
        else Task.CLASSIFICATION
    )
    y = check_target(table, target, resolved)
    columns = select_features(table, exclude=(target, group, site), pattern=features)
    x = table[columns].to_numpy(dtype=float)
    n_missing = int(np.isnan(x).sum())
    if n_missing:
        logger.warning("%d missing feature value(s) will be imputed by the median", n_missing)
    groups = table[group] if group is not None else None
    if groups is not None and groups.isna().any():
        raise ModelError(f"group column {group!r} has missing values")
    folds = grouped_folds(y, groups, resolved, n_splits=n_splits, seed=seed)
    group_values = None if groups is None else groups.to_numpy()
    classes: list[Any] | None = None
    if resolved is Task.CLASSIFICATION:
        classes = sorted(pd.unique(y).tolist(), key=_sort_key)
        y_fit = np.array([classes.index(v) for v in y.tolist()])
    else:
        y_fit = y.to_numpy(dtype=float)
    choices: list[Choice] = []

    def fit(idx: NDArray[np.int64]) -> Pipeline:
        name = model
        if model == AUTO:  # nested: the choice sees the training cases of this fit only
            choice = choose_model(
                x[idx],
                y_fit[idx],
                None if group_values is None else group_values[idx],
                resolved,
                seed=seed,
            )
            choices.append(choice)
            name = choice.winner
        return build_pipeline(name, resolved, seed=seed).fit(x[idx], y_fit[idx])

    if model != AUTO:
        build_pipeline(model, resolved, seed=seed)  # an unknown name fails before any fit
    metrics: dict[str, Metric]
    if classes is not None:
        oof = np.zeros((len(y), len(classes)))
        for train_idx, test_idx in folds:
            fitted = fit(train_idx)
            oof[np.ix_(test_idx, fitted.classes_)] = fitted.predict_proba(x[test_idx])
        metrics = classification_metrics(
            y.to_numpy(), oof, classes, groups=groups, n_boot=n_boot, seed=seed
        )
    else:
        oof_values = np.zeros(len(y))
        for train_idx, test_idx in folds:
            oof_values[test_idx] = fit(train_idx).predict(x[test_idx])
        metrics = regression_metrics(y_fit, oof_values, groups=groups, n_boot=n_boot, seed=seed)
    final = fit(np.arange(len(y)))
    notes: dict[str, Any] = {"n_missing_feature_values": n_missing}
    if model == AUTO:
        notes["auto"] = {
            "winner": choices[-1].winner,
            "metric": choices[-1].metric,
            "inner_cv_scores": choices[-1].scores,
            "outer_fold_winners": [c.winner for c in choices[:-1]],
        }
        logger.info(
            "auto chose %s (%s by inner CV: %s)",
            choices[-1].winner,
            choices[-1].metric,
            choices[-1].scores,
        )
    card = ModelCard(
        model=model,
        task=resolved.value,
        target=target,
        features=columns,
        classes=[_plain_value(c) for c in classes] if classes is not None else None,
        settings={
            "group": group,
            "site": site,
            "n_splits": n_splits,
            "seed": seed,
            "features_glob": features,
            "n_boot": n_boot,
        },
        metrics=metrics,
        n_cases=len(y),
        notes=notes,
    )
    return SavedModel(pipeline=final, card=card)


def _sort_key(value: object) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | np.number) else (1, str(value))


def _plain_value(value: object) -> Any:
    """A NumPy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value


def predict(model: SavedModel, table: pd.DataFrame) -> pd.DataFrame:
    """Predictions for each row of `table`: DESIGN.md columns.

    ``case_id``; ``probability`` (binary: of the positive, second class) or one
    ``probability_<class>`` per class; ``prediction``; ``label`` when the table has the target.

    Raises
    ------
    ModelError
        The table lacks features the model was trained on.
    """
    card = model.card
    missing = [name for name in card.features if name not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ModelError(
            f"the table lacks {len(missing)} of the model's {len(card.features)} features "
            f"({shown}); extract them with the settings the model was trained with"
        )
    x = table[card.features].to_numpy(dtype=float)
    out = pd.DataFrame(
        {ID_COLUMN: table[ID_COLUMN].to_numpy() if ID_COLUMN in table else np.arange(len(table))}
    )
    if card.task == Task.CLASSIFICATION.value:
        classes = card.classes or []
        proba = np.zeros((len(table), len(classes)))
        proba[:, model.pipeline.classes_] = model.pipeline.predict_proba(x)
        if len(classes) == 2:
            out["probability"] = proba[:, 1]
        else:
            for k, cls in enumerate(classes):
                out[f"probability_{cls}"] = proba[:, k]
        out["prediction"] = [classes[k] for k in proba.argmax(axis=1)]
    else:
        out["prediction"] = model.pipeline.predict(x)
    if card.target in table.columns:
        out["label"] = table[card.target].to_numpy()
    return out


def evaluate(predictions: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Metric]:
    """Metrics with CIs of a predictions table that has a ``label`` column.

    A ``probability`` column means a binary classification (positive class: the larger of the
    two, as :func:`predict` writes it), ``probability_<class>`` columns a multi-class one, and
    neither a regression.

    Raises
    ------
    ModelError
        No ``label`` or ``prediction`` column.
    """
    for column in ("label", "prediction"):
        if column not in predictions.columns:
            raise ModelError(f"the predictions table has no {column!r} column; nothing to evaluate")
    labels = predictions["label"]
    if labels.isna().any():
        raise ModelError(f"{int(labels.isna().sum())} prediction(s) without a label")
    per_class = [c for c in predictions.columns if str(c).startswith("probability_")]
    if "probability" in predictions.columns:
        classes = sorted(
            set(labels.tolist()) | set(predictions["prediction"].tolist()), key=_sort_key
        )
        if len(classes) != 2:
            raise ModelError(f"a 'probability' column means two classes, found {classes}")
        p = predictions["probability"].to_numpy(dtype=float)
        return classification_metrics(
            labels, np.column_stack([1 - p, p]), classes, n_boot=n_boot, seed=seed
        )
    if per_class:
        names = [str(c)[len("probability_") :] for c in per_class]
        label_text = labels.astype(str)
        return classification_metrics(
            label_text,
            predictions[per_class].to_numpy(dtype=float),
            names,
            n_boot=n_boot,
            seed=seed,
        )
    return regression_metrics(labels, predictions["prediction"], n_boot=n_boot, seed=seed)
