"""medscale.models: honest numbers on synthetic tables with a known answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from model_tables import cohort, regression_table

from medscale.errors import ConfigError, ModelError
from medscale.models import (
    Task,
    classification_metrics,
    evaluate,
    grouped_folds,
    load_model,
    predict,
    read_table,
    save_model,
    select_features,
    train,
)

N_BOOT = 300


def test_separable_table_gives_high_auc_inside_its_ci():
    model = train(
        cohort(separable=True),
        target="label",
        model="logistic",
        group="patient_id",
        site="site",
        n_boot=N_BOOT,
    )
    auc = model.card.metrics["auc"]
    assert auc["value"] > 0.9
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
    assert model.card.features == ["stat_mean", "cm_contrast_3D_avg", "morph_volume"]


def test_random_scores_give_chance_auc_within_ci():
    rng = np.random.default_rng(1)
    labels, scores = rng.integers(0, 2, 400), rng.uniform(size=400)
    auc = classification_metrics(labels, np.column_stack([1 - scores, scores]), [0, 1])["auc"]
    assert auc["ci_low"] <= 0.5 <= auc["ci_high"]
    assert abs(auc["value"] - 0.5) < 0.07


def test_random_target_gives_chance_auc_within_ci():
    """Cross-validated AUC of a label that features cannot predict stays near chance.

    Out-of-fold AUC under the null is known to lean below 0.5 (each held-out case is missing
    from its class's training mean); over five cohorts the mean is near 0.5 and most CIs hold it.
    """
    aucs = [
        train(
            cohort(separable=False, n_patients=100, seed=seed),
            target="label",
            model="logistic",
            group="patient_id",
            n_boot=N_BOOT,
        ).card.metrics["auc"]
        for seed in range(5)
    ]
    assert abs(np.mean([a["value"] for a in aucs]) - 0.5) < 0.1
    assert sum(a["ci_low"] <= 0.5 <= a["ci_high"] for a in aucs) >= 3
    assert all(a["ci_high"] - a["ci_low"] < 0.35 for a in aucs)


def test_cluster_bootstrap_is_wider_than_case_bootstrap():
    rng = np.random.default_rng(2)
    patients = np.repeat(np.arange(50), 4)  # four identical-label lesions per patient
    labels = np.repeat(rng.integers(0, 2, 50), 4)
    scores = np.repeat(rng.uniform(size=50), 4) + 0.3 * labels
    proba = np.column_stack([1 - scores / 1.3, scores / 1.3])
    by_case = classification_metrics(labels, proba, [0, 1])["auc"]
    by_patient = classification_metrics(labels, proba, [0, 1], groups=patients)["auc"]
    assert by_patient["value"] == by_case["value"]
    width = lambda m: m["ci_high"] - m["ci_low"]  # noqa: E731
    assert width(by_patient) > 1.5 * width(by_case)


def test_grouped_folds_never_split_a_patient():
    table = cohort(separable=True, per_patient=3)
    folds = grouped_folds(table["label"], table["patient_id"], Task.CLASSIFICATION, seed=3)
    assert len(folds) == 5
    seen_in_test = []
    for train_idx, test_idx in folds:
        train_patients = set(table["patient_id"].iloc[train_idx])
        test_patients = set(table["patient_id"].iloc[test_idx])
        assert not train_patients & test_patients
        seen_in_test += list(test_idx)
    assert sorted(seen_in_test) == list(range(len(table)))  # every case tested exactly once


def test_grouped_folds_are_reproducible_with_a_seed():
    table = cohort(separable=True)
    a = grouped_folds(table["label"], table["patient_id"], Task.CLASSIFICATION, seed=7)
    b = grouped_folds(table["label"], table["patient_id"], Task.CLASSIFICATION, seed=7)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "name", ["logistic", "svm", "tree", "random_forest", "gradient_boosting", "mlp"]
)
def test_every_classifier_round_trips(tmp_path, name):
    table = cohort(separable=True, n_patients=30)
    model = train(table, target="label", model=name, group="patient_id", n_boot=50)
    assert model.card.metrics["auc"]["value"] > 0.8, name
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    before, after = predict(model, table), predict(loaded, table)
    pd.testing.assert_frame_equal(before, after)
    assert list(after.columns) == ["case_id", "probability", "prediction", "label"]
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["features"] == model.card.features and card["classes"] == [0, 1]


@pytest.mark.parametrize("name", ["polynomial", "svr", "random_forest", "gradient_boosting", "mlp"])
def test_regressors_learn_a_nonlinear_target(tmp_path, name):
    table = regression_table()
    model = train(table, target="effect", model=name, n_boot=100)
    assert model.card.task == "regression"
    r2 = model.card.metrics["r2"]
    assert r2["value"] > 0.6, (name, r2)
    assert r2["ci_low"] <= r2["value"] <= r2["ci_high"]
    save_model(model, tmp_path / "m")
    out = predict(load_model(tmp_path / "m"), table)
    assert list(out.columns) == ["case_id", "prediction", "label"]
    np.testing.assert_array_equal(out["prediction"], predict(model, table)["prediction"])


def test_multiclass_string_labels_get_one_probability_column_per_class():
    table = cohort(separable=True, n_patients=60)
    table["grade"] = np.where(
        table["stat_mean"] > 2.5, "high", np.where(table["stat_mean"] > 0.5, "mid", "low")
    )
    model = train(table.drop(columns="label"), target="grade", model="logistic", n_boot=50)
    out = predict(model, table)
    assert {"probability_high", "probability_low", "probability_mid"} <= set(out.columns)
    np.testing.assert_allclose(out.filter(like="probability_").sum(axis=1), 1.0)
    assert evaluate(out, n_boot=50)["auc"]["value"] > 0.85


def test_features_glob_and_excluded_columns():
    table = cohort(separable=True)
    assert select_features(table, exclude=("label", "patient_id", "site"), pattern="cm_*") == [
        "cm_contrast_3D_avg"
    ]
    with pytest.raises(ModelError, match="no numeric feature"):
        select_features(table, exclude=("label",), pattern="glrlm_*")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="label"), "not in the table"),
        (lambda t: t.assign(label=1), "constant"),
        (lambda t: t.assign(label=t["label"].astype(float).where(t.index > 0)), "missing value"),
    ],
)
def test_bad_target_is_refused(change, message):
    with pytest.raises(ModelError, match=message):
        train(change(cohort(separable=True)), target="label", model="logistic")


def test_class_with_fewer_patients_than_folds_is_refused():
    table = cohort(separable=True, per_patient=1)
    table.loc[:2, "label"] = 2  # class 2 has three patients, five folds
    with pytest.raises(ModelError, match=r"fewer patients than the 5 folds \(2: 3\)"):
        train(table, target="label", model="logistic")


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="choose one of"):
        train(cohort(separable=True), target="label", model="polynomial")


def test_missing_features_at_predict_time_are_named(tmp_path):
    table = cohort(separable=True)
    model = train(table, target="label", model="logistic", n_boot=50)
    with pytest.raises(ModelError, match="lacks 1 of the model's 4 features \\(stat_mean\\)"):
        predict(model, table.drop(columns="stat_mean"))


def test_nan_features_are_imputed_and_counted():
    table = cohort(separable=True)
    table.loc[::7, "morph_volume"] = np.nan
    model = train(table, target="label", model="logistic", n_boot=50)
    assert model.card.notes["n_missing_feature_values"] == int(table["morph_volume"].isna().sum())
    assert predict(model, table)["probability"].notna().all()


def test_incompatible_model_folder_is_refused(tmp_path):
    model = train(cohort(separable=True), target="label", model="logistic", n_boot=50)
    folder = save_model(model, tmp_path / "m")
    card = json.loads((folder / "model.json").read_text())
    card["format_version"] = 99
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="format version 99"):
        load_model(folder)
    with pytest.raises(ModelError, match="not a medscale model folder"):
        load_model(tmp_path / "nothing")


def test_read_table_resolves_manifest_paths_against_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    cohort(separable=True).to_csv(tmp_path / "sub" / "cases.csv", index=False)
    table = read_table(tmp_path / "sub" / "cases.csv")
    assert table["image"].iloc[0] == str((tmp_path / "sub" / "images" / "case000.nii.gz").resolve())


def test_auto_chooses_by_nested_inner_cv_and_says_why(tmp_path):
    table = regression_table()
    model = train(table, target="effect", model="auto", n_boot=50)
    auto = model.card.notes["auto"]
    assert set(auto["inner_cv_scores"]) == {
        "polynomial",
        "svr",
        "random_forest",
        "gradient_boosting",
        "mlp",
    }
    assert auto["winner"] == max(auto["inner_cv_scores"], key=auto["inner_cv_scores"].get)
    assert len(auto["outer_fold_winners"]) == 5  # one inner choice per outer fold
    assert model.card.metrics["r2"]["value"] > 0.9
    save_model(model, tmp_path / "m")
    np.testing.assert_array_equal(
        predict(load_model(tmp_path / "m"), table)["prediction"],
        predict(model, table)["prediction"],
    )
