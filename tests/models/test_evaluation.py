"""Honest evaluation: out-of-fold predictions, held-out test sets, leakage warnings,
calibration, feature selection inside the folds."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from model_tables import cohort, regression_table

from medscale.cli.main import main
from medscale.errors import ConfigError, MedscaleWarning, ModelError
from medscale.models import (
    build_pipeline,
    classification_metrics,
    evaluate,
    load_model,
    predict,
    save_model,
    split_test,
    train,
)
from medscale.models.metrics import calibration_fit, expected_calibration_error
from medscale.models.selectors import CorrelationFilter, LassoSelector
from medscale.models.table import Task

N_BOOT = 200


def test_cv_predictions_are_out_of_fold_and_saved(tmp_path):
    table = cohort(separable=True)
    model = train(table, target="label", model="logistic", group="patient_id", n_boot=N_BOOT)
    cv = model.cv_predictions
    assert list(cv.columns) == [
        "case_id",
        "probability",
        "prediction",
        "label",
        "fold",
        "patient_id",
    ]
    assert sorted(cv["case_id"]) == sorted(table["case_id"])
    assert set(cv["fold"]) == set(range(5))
    # a patient's cases are predicted in one fold, by a model that never saw them
    assert (cv.groupby("patient_id")["fold"].nunique() == 1).all()
    # the CV metrics of the card are the metrics of these predictions
    assert evaluate(cv, n_boot=N_BOOT)["auc"]["value"] == pytest.approx(
        model.card.metrics["auc"]["value"]
    )
    # out-of-fold, not in-sample: the in-sample predictions of the final model differ
    assert not np.allclose(cv["probability"], predict(model, table)["probability"])
    save_model(model, tmp_path / "model")
    written = pd.read_parquet(tmp_path / "model" / "cv_predictions.parquet")
    pd.testing.assert_frame_equal(written, cv)


def test_cv_predictions_of_multiclass_and_regression():
    table = cohort(separable=True, n_patients=90)
    table["label"] = np.where(table["stat_mean"] > 2, "high", table["label"].map({0: "a", 1: "b"}))
    model = train(table, target="label", model="logistic", n_boot=N_BOOT)
    columns = list(model.cv_predictions.columns)
    assert columns[:4] == ["case_id", "probability_a", "probability_b", "probability_high"]
    probs = model.cv_predictions[columns[1:4]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1)
    regression = train(regression_table(), target="effect", model="svr", n_boot=N_BOOT)
    assert list(regression.cv_predictions.columns) == ["case_id", "prediction", "label", "fold"]


def test_held_out_test_set_is_scored_once_and_saved(tmp_path):
    table = cohort(separable=True, n_patients=80)
    table["split"] = np.where(
        table["patient_id"].isin(table["patient_id"].unique()[:20]), "test", "train"
    )
    fit_part, test_part = split_test(table, "split")
    assert len(test_part) == 40 and "split" not in fit_part.columns
    model = train(
        fit_part,
        target="label",
        model="logistic",
        group="patient_id",
        test=test_part,
        n_boot=N_BOOT,
    )
    assert model.card.notes["n_test_cases"] == 40
    assert model.card.notes["test_metrics"]["auc"]["value"] > 0.85
    assert list(model.test_predictions["case_id"]) == list(test_part["case_id"])
    save_model(model, tmp_path / "m")
    assert (tmp_path / "m" / "test_predictions.parquet").is_file()


def test_a_patient_in_both_train_and_test_is_refused():
    table = cohort(separable=True)
    fit_part = table.iloc[:100]
    test_part = table.iloc[99:]  # case 99 and 100 belong to patient p49 (and 99 is a repeat)
    with pytest.raises(
        ModelError, match=r"patient\(s\) in both the training and the test data \(p49\)"
    ):
        train(fit_part, target="label", model="logistic", group="patient_id", test=test_part)
    with pytest.raises(ModelError, match=r"case id\(s\) in both"):
        train(fit_part, target="label", model="logistic", test=test_part)


@pytest.mark.parametrize("values", [["train", "train"], ["test", "test"]])
def test_a_split_column_with_an_empty_part_is_refused(values):
    table = pd.DataFrame({"case_id": ["a", "b"], "split": values, "f": [1.0, 2.0]})
    with pytest.raises(ModelError, match="test-split column 'split' puts"):
        split_test(table, "split")
    with pytest.raises(ModelError, match="not in the table"):
        split_test(table, "fold")


def test_a_label_column_used_as_feature_for_another_target_warns():
    table = cohort(separable=True)
    table["outcome"] = table["label"]
    with pytest.warns(MedscaleWarning, match="'label' column is used as a feature"):
        train(table, target="outcome", model="logistic", n_boot=N_BOOT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleWarning)
        train(table, target="outcome", model="logistic", features="stat_*", n_boot=N_BOOT)


def test_predict_warns_on_a_site_never_seen_in_training():
    table = cohort(separable=True)
    model = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    assert model.card.notes["sites"] == ["0", "1", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleWarning)
        predict(model, table)
    new = table.assign(site=np.where(table.index < 5, 7, table["site"]))
    with pytest.warns(MedscaleWarning, match=r"site\(s\) 7 in column 'site' were not seen"):
        predict(model, new)


def test_calibration_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 4000)
    y = (rng.random(4000) < p).astype(int)
    intercept, slope = calibration_fit(p, y)
    assert slope == pytest.approx(1.0, abs=0.12) and intercept == pytest.approx(0.0, abs=0.12)
    assert expected_calibration_error(np.maximum(p, 1 - p), (np.round(p) == y)) < 0.03
    logit = np.log(p / (1 - p))
    confident = 1 / (1 + np.exp(-3 * logit))  # same ranking, three times too sure
    intercept, slope = calibration_fit(confident, y)
    assert slope == pytest.approx(1 / 3, abs=0.06)
    metrics = classification_metrics(
        y, np.column_stack([1 - confident, confident]), [0, 1], n_boot=N_BOOT
    )
    assert metrics["calibration_slope"]["ci_high"] < 0.5
    assert metrics["ece"]["value"] > 0.08
    # a perfectly separated outcome has no calibration slope: NaN, not an error
    separated = classification_metrics(
        [0, 0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]], [0, 1], n_boot=50
    )
    assert np.isnan(separated["calibration_slope"]["value"])


def test_calibration_is_in_the_trained_model_metrics():
    model = train(cohort(separable=True), target="label", model="logistic", n_boot=N_BOOT)
    for name in ("brier", "ece", "calibration_slope", "calibration_intercept"):
        assert np.isfinite(model.card.metrics[name]["value"])


def test_correlation_filter_keeps_one_of_each_redundant_group():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    x = np.column_stack([a, a * 2 + 0.01 * rng.normal(size=200), b, -b, rng.normal(size=200)])
    kept = CorrelationFilter(0.9).fit(x).get_support()
    assert kept.sum() == 3
    assert kept[:2].sum() == 1 and kept[2:4].sum() == 1 and kept[4]


def test_lasso_keeps_the_informative_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20))
    y = (x[:, 3] - x[:, 7] > 0).astype(int)
    assert set(np.flatnonzero(LassoSelector("classification").fit(x, y).get_support())) >= {3, 7}
    assert LassoSelector("classification").fit(x, y).get_support().sum() < 12
    target = 2 * x[:, 0] + 0.1 * rng.normal(size=300)
    kept = LassoSelector("regression").fit(x, target).get_support()
    assert kept[0]
    # everything penalised away: the strongest one stays
    assert LassoSelector("classification").fit(x * 1e-6, y).get_support().sum() == 1


def test_selection_steps_run_inside_the_folds_and_round_trip(tmp_path):
    table = cohort(separable=True)
    table["copy_of_mean"] = table["stat_mean"] * 1.5
    model = train(
        table, target="label", model="svm", selection=["correlation", "lasso"], n_boot=N_BOOT
    )
    assert [name for name, _ in model.pipeline.steps][3:5] == ["correlation", "lasso"]
    assert model.card.settings["selection"] == ["correlation", "lasso"]
    assert model.card.metrics["auc"]["value"] > 0.9
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    pd.testing.assert_frame_equal(predict(loaded, table), predict(model, table))
    with pytest.raises(ConfigError, match="unknown feature selection boruta"):
        build_pipeline("logistic", Task.CLASSIFICATION, selection=["boruta"])


def test_cli_test_split_select_and_cv_predictions(tmp_path, capsys):
    table = cohort(separable=True, n_patients=80)
    table["split"] = np.where(
        table["patient_id"].isin(table["patient_id"].unique()[:20]), "test", "train"
    )
    path = tmp_path / "features.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "model"
    args = ["train", str(path), "--target", "label", "--group", "patient_id", "--model", "logistic"]
    code = main(
        [*args, "--out", str(out), "--test-split", "split", "--select", "correlation", "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_metrics"]["auc"]["value"] > 0.85
    assert len(pd.read_parquet(out / "cv_predictions.parquet")) == 120
    assert len(pd.read_parquet(out / "test_predictions.parquet")) == 40
    # the same patients in a --test table: refused, exit 1, one line naming them
    code = main([*args, "--out", str(tmp_path / "m2"), "--test", str(path)])
    assert code == 1
    assert "in both the training and the test data" in capsys.readouterr().err
    assert main([*args, "--out", str(out), "--test", str(path), "--test-split", "split"]) == 2
