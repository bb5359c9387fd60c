"""Training with honest evaluation, prediction and evaluation of a predictions table.

:func:`train` cross-validates the pipeline by patient (out-of-fold predictions for every case,
each predicted by a model that never saw its patient), reports metrics with bootstrap CIs, then
fits the pipeline on all cases. :func:`predict` applies a saved model to a table holding its
features; :func:`evaluate` scores a predictions table (DESIGN.md columns).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.pipeline import Pipeline

from medscale.errors import MedscaleWarning, ModelError
from medscale.models.harmonise import site_codes, site_text
from medscale.models.metrics import Metric, classification_metrics, regression_metrics
from medscale.models.persistence import ModelCard, SavedModel
from medscale.models.pipelines import build_pipeline
from medscale.models.selection import AUTO, Choice, choose_model
from medscale.models.table import (
    ID_COLUMN,
    LABEL_COLUMN,
    Task,
    check_target,
    infer_task,
    prediction_frame,
    select_features,
)
from medscale.models.validation import grouped_folds, out_of_fold

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
    test: pd.DataFrame | None = None,
    selection: Sequence[str] = (),
    site_covariates: Sequence[str] = (),
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
        The site column (excluded from the features): the features are harmonised by it with
        ComBat (:mod:`medscale.models.harmonise`) inside the pipeline, so each CV fold's ComBat
        is fitted on that fold's training cases only and the final one on all cases; a saved
        model applies its estimates to new cases (a site it never saw is left unharmonised,
        with a warning). ``card.settings["harmonise"]`` is ``"combat"`` then.
    task : Task or str, optional
        Inferred from the target's type when not given.
    features : str, optional
        A glob narrowing the feature columns.
    test : DataFrame, optional
        A held-out test set (same columns): scored once by the final model, never used for
        fitting or choosing; its metrics go to ``card.notes["test_metrics"]`` and its
        predictions to ``SavedModel.test_predictions``. A patient (`group`) or case id in both
        `table` and `test` is refused.
    selection : sequence of str
        Feature-selection steps inside the pipeline (``correlation``, ``lasso``), fitted on the
        training cases of each fold only.
    site_covariates : sequence of str
        Numeric columns (age, sex coded 0/1) whose effect ComBat estimates with the site's
        and keeps (needs `site`); they are not features (missing values: imputed by the
        median of the training cases).

    Returns
    -------
    SavedModel
        With ``cv_predictions``: the out-of-fold prediction of every case (``fold`` = the
        outer fold that held it out) and the group column when there is one.

    Raises
    ------
    ModelError
        Bad target, missing group column, too few cases per class or group, a patient in both
        the training and the test table, missing site values, fewer than 2 sites.

    Warns
    -----
    MedscaleWarning
        A numeric ``label`` column would be used as a feature while `target` is another column
        (it is usually the outcome, so the model would learn from the answer).
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
    site_covariates = list(site_covariates)
    if site_covariates and site is None:
        raise ModelError("site covariates need a site column (--site)")
    for name in site_covariates:
        if name not in table.columns or not pd.api.types.is_numeric_dtype(table[name]):
            raise ModelError(f"site covariate {name!r} is not a numeric column of the table")
    columns = select_features(
        table, exclude=(target, group, site, *site_covariates), pattern=features
    )
    if target != LABEL_COLUMN and LABEL_COLUMN in columns:
        warnings.warn(
            f"the {LABEL_COLUMN!r} column is used as a feature while the target is {target!r}: "
            "if it is an outcome, the model learns from the answer; drop it or narrow the "
            "features with --features",
            MedscaleWarning,
            stacklevel=2,
        )
    selection = tuple(selection)
    if test is not None:
        check_test_split(table, test, group)
    x = table[columns].to_numpy(dtype=float)
    n_missing = int(np.isnan(x).sum())
    if n_missing:
        logger.warning("%d missing feature value(s) will be imputed by the median", n_missing)
    site_names: list[str] | None = None
    if site is not None:
        site_names = _site_names(table, site)
        x = np.column_stack(  # ComBat reads the covariates and the code, and drops them
            [x, table[site_covariates].to_numpy(dtype=float), site_codes(table[site], site_names)]
        )
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
                selection=selection,
                sites=site_names,
                n_covariates=len(site_covariates),
            )
            choices.append(choice)
            name = choice.winner
        pipeline = build_pipeline(
            name,
            resolved,
            seed=seed,
            selection=selection,
            sites=site_names,
            n_covariates=len(site_covariates),
        )
        return pipeline.fit(x[idx], y_fit[idx])

    if model != AUTO:  # an unknown model or selection name fails before any fit
        build_pipeline(model, resolved, seed=seed, selection=selection)
    metrics: dict[str, Metric]
    fold_of = np.zeros(len(y), dtype=np.int64)
    for k, (_, test_idx) in enumerate(folds):
        fold_of[test_idx] = k
    outputs = out_of_fold(fit, x, folds, None if classes is None else len(classes))
    if classes is not None:
        metrics = classification_metrics(
            y.to_numpy(), outputs, classes, groups=groups, n_boot=n_boot, seed=seed
        )
    else:
        metrics = regression_metrics(y_fit, outputs, groups=groups, n_boot=n_boot, seed=seed)
    cv_predictions = prediction_frame(table, outputs, classes, target)
    cv_predictions["fold"] = fold_of
    if group is not None:
        cv_predictions[group] = table[group].to_numpy()
    final = fit(np.arange(len(y)))
    notes: dict[str, Any] = {"n_missing_feature_values": n_missing}
    if site_names is not None:
        notes["sites"] = site_names
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
            "harmonise": "combat" if site is not None else None,
            "site_covariates": site_covariates,
            "n_splits": n_splits,
            "seed": seed,
            "features_glob": features,
            "n_boot": n_boot,
            "selection": list(selection),
        },
        metrics=metrics,
        n_cases=len(y),
        notes=notes,
    )
    saved = SavedModel(pipeline=final, card=card, cv_predictions=cv_predictions)
    if test is None:
        return saved
    test_predictions = predict(saved, test)
    if LABEL_COLUMN not in test_predictions:
        raise ModelError(f"the test table has no target column {target!r}; cannot score it")
    test_groups = test[group].to_numpy() if group is not None else None
    notes["test_metrics"] = _score(test_predictions, classes, test_groups, n_boot, seed)
    notes["n_test_cases"] = len(test)
    return SavedModel(
        pipeline=final,
        card=card,
        cv_predictions=cv_predictions,
        test_predictions=test_predictions,
    )


def _site_names(table: pd.DataFrame, site: str) -> list[str]:
    """The sorted site names of the training table (as text).

    Raises
    ------
    ModelError
        Missing site values, or fewer than 2 sites.
    """
    values = table[site]
    if values.isna().any():
        raise ModelError(
            f"site column {site!r} has {int(values.isna().sum())} missing value(s); "
            "ComBat needs every training case's site"
        )
    names = sorted({str(site_text(value)) for value in values})
    if len(names) < 2:
        raise ModelError(
            f"site column {site!r} holds one site ({names[0]!r}): nothing to harmonise; drop --site"
        )
    return names


def check_test_split(table: pd.DataFrame, test: pd.DataFrame, group: str | None) -> None:
    """Refuse a held-out test set that shares a patient (`group`) or a case id with `table`.

    Raises
    ------
    ModelError
        Naming up to five shared patients or cases, or a test table without the group column.
    """
    checks = [(ID_COLUMN, "case id")]
    if group is not None:
        if group not in test.columns:
            raise ModelError(f"the test table has no group column {group!r}")
        checks.insert(0, (group, "patient"))
    for column, what in checks:
        if column not in table.columns or column not in test.columns:
            continue
        shared = set(map(str, table[column].dropna())) & set(map(str, test[column].dropna()))
        if shared:
            names = ", ".join(sorted(shared)[:5])
            raise ModelError(
                f"{len(shared)} {what}(s) in both the training and the test data ({names}): "
                "the test score would leak; split by patient"
            )


def split_test(table: pd.DataFrame, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, test rows) of `table` by `column`: test rows hold ``test`` (any case) or
    a true boolean / 1; every other value is training.

    Raises
    ------
    ModelError
        The column is missing, or one of the parts is empty.
    """
    if column not in table.columns:
        raise ModelError(f"test-split column {column!r} is not in the table")
    values = table[column]
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        is_test = values.fillna(0).astype(float).to_numpy() == 1
    else:
        is_test = values.astype(str).str.strip().str.lower().to_numpy() == "test"
    if is_test.all() or not is_test.any():
        raise ModelError(
            f"test-split column {column!r} puts {int(is_test.sum())} of {len(table)} cases in "
            "the test set; mark the held-out cases 'test' (or 1 / true) and the others anything "
            "else"
        )
    keep = table.drop(columns=[column])
    return keep[~is_test].reset_index(drop=True), keep[is_test].reset_index(drop=True)


def _score(
    predictions: pd.DataFrame,
    classes: list[Any] | None,
    groups: NDArray[np.generic] | None,
    n_boot: int,
    seed: int,
) -> dict[str, Metric]:
    """Metrics with CIs of predictions made by this model (its own classes)."""
    labels = predictions[LABEL_COLUMN].to_numpy()
    if classes is None:
        return regression_metrics(
            labels, predictions["prediction"], groups=groups, n_boot=n_boot, seed=seed
        )
    if "probability" in predictions:
        p = predictions["probability"].to_numpy(dtype=float)
        proba = np.column_stack([1 - p, p])
    else:
        proba = predictions[[f"probability_{c}" for c in classes]].to_numpy(dtype=float)
    return classification_metrics(labels, proba, classes, groups=groups, n_boot=n_boot, seed=seed)


def _sort_key(value: object) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | np.number) else (1, str(value))


def _plain_value(value: object) -> Any:
    """A NumPy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value


def predict(model: SavedModel, table: pd.DataFrame) -> pd.DataFrame:
    """Predictions for each row of `table`: DESIGN.md columns.

    ``case_id``; ``probability`` (binary: of the positive, second class) or one
    ``probability_<class>`` per class; ``prediction``; ``label`` when the table has the target.

    A model trained with ``--site`` harmonises the features by the table's site column with
    its saved ComBat estimates; the cases of a site it never saw are left unharmonised.

    Raises
    ------
    ModelError
        The table lacks features the model was trained on, or the site column of a model
        trained with ComBat.

    Warns
    -----
    MedscaleWarning
        The table's site column holds sites the model never saw in training (its features may
        be shifted: scanner, protocol), naming them.
    """
    card = model.card
    site = card.settings.get("site")
    seen = card.notes.get("sites")
    harmonised = card.settings.get("harmonise") == "combat"
    if harmonised and site not in table.columns:
        raise ModelError(
            f"the model harmonises by site column {site!r} (ComBat), which the table lacks"
        )
    covariates = list(card.settings.get("site_covariates") or []) if harmonised else []
    lacking = [name for name in covariates if name not in table.columns]
    if lacking:
        raise ModelError(
            f"the table lacks the site covariate column(s) {', '.join(lacking)} the model's "
            "ComBat needs"
        )
    if site and seen is not None and site in table.columns:
        values = {site_text(value) for value in pd.unique(table[site].dropna())}
        unseen = sorted({str(value) for value in values} - set(seen))
        if unseen:
            warnings.warn(
                f"site(s) {', '.join(unseen[:5])} in column {site!r} were not seen in training "
                f"(trained on {', '.join(seen[:5])}): "
                + ("ComBat leaves them unharmonised, so " if harmonised else "")
                + "predictions there may be shifted",
                MedscaleWarning,
                stacklevel=2,
            )
    missing = [name for name in card.features if name not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ModelError(
            f"the table lacks {len(missing)} of the model's {len(card.features)} features "
            f"({shown}); extract them with the settings the model was trained with"
        )
    x = table[card.features].to_numpy(dtype=float)
    if harmonised:
        x = np.column_stack(
            [
                x,
                table[covariates].to_numpy(dtype=float),
                site_codes(table[site], list(seen or [])),
            ]
        )
    outputs: NDArray[np.float64]
    with warnings.catch_warnings():
        # unseen sites were named above; the step itself only knows their code
        warnings.filterwarnings("ignore", message="ComBat: ", category=MedscaleWarning)
        if card.task == Task.CLASSIFICATION.value:
            outputs = np.zeros((len(table), len(card.classes or [])))
            outputs[:, model.pipeline.classes_] = model.pipeline.predict_proba(x)
        else:
            outputs = np.asarray(model.pipeline.predict(x), dtype=float)
    return prediction_frame(table, outputs, card.classes, card.target)


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
