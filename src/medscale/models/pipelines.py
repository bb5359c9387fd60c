"""The model zoo: a scikit-learn pipeline per model name and task.

Every pipeline is imputation (median, NaN counted by the caller) → [ComBat by site, when the
site codes are the last column: ``medscale.models.harmonise``] → scaling → a variance filter
(drops constant features) → optional selection steps (correlation filter, LASSO) → the
estimator. ``polynomial`` chooses its degree (1-3) by an inner
cross-validation on the training data only. The table of names is declared once here; a new
model is one more entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier

from medscale.errors import ConfigError
from medscale.models.harmonise import SiteComBat
from medscale.models.selectors import selection_steps
from medscale.models.table import Task

Factory = Callable[[int], BaseEstimator]


def _polynomial(seed: int) -> BaseEstimator:
    inner = Pipeline(
        [("poly", PolynomialFeatures(include_bias=False)), ("ridge", Ridge(alpha=1.0))]
    )
    return GridSearchCV(
        inner,
        {"poly__degree": [1, 2, 3]},
        cv=KFold(3, shuffle=True, random_state=seed),
        scoring="r2",
    )


ESTIMATORS: dict[Task, dict[str, Factory]] = {
    Task.CLASSIFICATION: {
        "logistic": lambda seed: LogisticRegression(max_iter=2000, random_state=seed),
        "svm": lambda seed: CalibratedClassifierCV(
            SVC(kernel="rbf", random_state=seed), ensemble=False, cv=3
        ),
        "tree": lambda seed: DecisionTreeClassifier(min_samples_leaf=3, random_state=seed),
        "random_forest": lambda seed: RandomForestClassifier(
            n_estimators=200, n_jobs=1, random_state=seed
        ),
        "gradient_boosting": lambda seed: GradientBoostingClassifier(random_state=seed),
        "mlp": lambda seed: MLPClassifier(
            hidden_layer_sizes=(64,), alpha=1e-3, max_iter=2000, random_state=seed
        ),
    },
    Task.REGRESSION: {
        "polynomial": _polynomial,
        "svr": lambda seed: SVR(kernel="rbf"),
        "random_forest": lambda seed: RandomForestRegressor(
            n_estimators=200, n_jobs=1, random_state=seed
        ),
        "gradient_boosting": lambda seed: GradientBoostingRegressor(random_state=seed),
        "mlp": lambda seed: MLPRegressor(
            hidden_layer_sizes=(64,), alpha=1e-3, max_iter=3000, random_state=seed
        ),
    },
}


def model_names(task: Task) -> list[str]:
    """The model names available for `task`."""
    return list(ESTIMATORS[task])


def build_pipeline(
    name: str,
    task: Task,
    *,
    seed: int = 0,
    selection: Sequence[str] = (),
    sites: Sequence[str] | None = None,
    n_covariates: int = 0,
) -> Pipeline:
    """An unfitted pipeline: impute → [ComBat] → scale → variance filter → [selection] →
    estimator `name`.

    `selection` names feature-selection steps of `medscale.models.selectors` (``correlation``,
    ``lasso``), applied in that order. `sites` (the training table's site names) adds ComBat
    harmonisation: the input's last column is then the site code
    (:func:`medscale.models.harmonise.site_codes`), used by ComBat and dropped, and the
    `n_covariates` columns before it are covariates whose effect ComBat keeps (dropped too).

    Raises
    ------
    ConfigError
        `name` is not a model of `task`.
    """
    if name not in ESTIMATORS[task]:
        raise ConfigError(
            f"unknown {task.value} model {name!r}; choose one of {', '.join(model_names(task))}"
        )
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            *(
                [("combat", SiteComBat(site_names=list(sites), n_covariates=n_covariates))]
                if sites is not None
                else []
            ),
            ("scale", StandardScaler()),
            ("variance", VarianceThreshold(0.0)),
            *selection_steps(tuple(selection), task, seed),
            ("model", ESTIMATORS[task][name](seed)),
        ]
    )
