"""mRMR feature selection: the greedy choice, inside the folds, saved and loaded, bad k."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from medscale.cli.main import main
from medscale.errors import ConfigError, MedscaleWarning
from medscale.models import build_pipeline, grouped_folds, load_model, predict, save_model, train
from medscale.models.selectors import MRMRSelector, parse_selection
from medscale.models.table import Task

N_BOOT = 50


def redundant_table(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Columns 0-2 informative, 3-5 exact copies of them, 6-25 noise; binary target."""
    rng = np.random.default_rng(seed)
    informative = rng.normal(size=(n, 3))
    y = (informative @ np.array([1.0, 0.8, 0.6]) + 0.3 * rng.normal(size=n) > 0).astype(int)
    x = np.column_stack([informative, informative.copy(), rng.normal(size=(n, 20))])
    return x, y


def as_frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(x.shape[1])])
    table.insert(0, "case_id", [f"c{i:03d}" for i in range(len(y))])
    table["label"] = y
    return table


def test_mrmr_picks_the_informative_features_not_their_copies():
    x, y = redundant_table()
    selector = MRMRSelector(k=3).fit(x, y)
    assert sorted(selector.order_.tolist()) == [0, 1, 2]
    assert np.flatnonzero(selector.get_support()).tolist() == [0, 1, 2]
    # relevance alone would take a feature and its copy: the redundancy term is what avoids it
    by_relevance = set(np.argsort(-selector.relevance_, kind="stable")[:3].tolist())
    assert any({i, i + 3} <= by_relevance for i in range(3))
    # exact copies share the relevance of the original
    np.testing.assert_array_equal(selector.relevance_[:3], selector.relevance_[3:6])
    # with k=6 the copies come last among the informative (after every noise feature would be
    # better than a perfect copy, so they are not chosen at all)
    six = MRMRSelector(k=6).fit(x, y).order_.tolist()
    assert six[:3] == selector.order_.tolist()
    assert not set(six) & {3, 4, 5}


def test_mrmr_regression_and_seeded():
    x, y = redundant_table()
    target = x[:, 0] ** 2 + np.sin(2 * x[:, 1]) + 0.5 * x[:, 2]
    first = MRMRSelector(k=3, task="regression", seed=1).fit(x, target)
    assert sorted(first.order_.tolist()) == [0, 1, 2]
    again = MRMRSelector(k=3, task="regression", seed=1).fit(x, target)
    np.testing.assert_array_equal(first.relevance_, again.relevance_)


def test_mrmr_is_fitted_inside_each_fold_only(monkeypatch):
    x, y = redundant_table(n=120)
    table = as_frame(x, y)
    seen: list[np.ndarray] = []
    original = MRMRSelector.fit

    def recording_fit(self, xs, ys):
        seen.append(np.asarray(xs, dtype=float).copy())
        return original(self, xs, ys)

    monkeypatch.setattr(MRMRSelector, "fit", recording_fit)
    model = train(table, target="label", model="logistic", selection=["mrmr:k=3"], n_boot=N_BOOT)
    folds = grouped_folds(table["label"], None, Task.CLASSIFICATION, n_splits=5, seed=0)
    assert len(seen) == len(folds) + 1  # one per fold, then the final model on all cases
    for (train_idx, test_idx), fitted_on in zip(folds, seen[:-1], strict=True):
        # the selector saw exactly the scaled training rows of its fold, none of its test rows
        assert len(fitted_on) == len(train_idx) == len(table) - len(test_idx)
        np.testing.assert_allclose(fitted_on, StandardScaler().fit_transform(x[train_idx]))
    np.testing.assert_allclose(seen[-1], StandardScaler().fit_transform(x))
    assert [name for name, _ in model.pipeline.steps][3] == "mrmr"
    assert model.card.settings["selection"] == ["mrmr:k=3"]
    chosen = model.pipeline.named_steps["mrmr"].get_support()
    assert np.flatnonzero(chosen).tolist() == [0, 1, 2]
    assert model.card.metrics["auc"]["value"] > 0.85


def test_mrmr_model_round_trips_with_identical_predictions(tmp_path):
    x, y = redundant_table(n=120)
    table = as_frame(x, y)
    model = train(
        table, target="label", model="svm", selection=["correlation", "mrmr:k=4"], n_boot=N_BOOT
    )
    assert [name for name, _ in model.pipeline.steps][3:5] == ["correlation", "mrmr"]
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    pd.testing.assert_frame_equal(predict(loaded, table), predict(model, table))
    np.testing.assert_array_equal(
        loaded.pipeline.named_steps["mrmr"].order_, model.pipeline.named_steps["mrmr"].order_
    )


def test_k_above_the_feature_count_is_clamped_with_a_warning():
    x, y = redundant_table(n=80)
    with pytest.warns(MedscaleWarning, match="k=40 is more than the 26 feature"):
        selector = MRMRSelector(k=40).fit(x, y)
    assert selector.get_support().all()
    assert sorted(selector.order_.tolist()) == list(range(26))
    with pytest.raises(ConfigError, match="k must be a positive integer"):
        MRMRSelector(k=0).fit(x, y)


def test_selection_names_and_parameters_are_parsed():
    assert parse_selection("mrmr") == ("mrmr", {})
    assert parse_selection("mrmr:k=10") == ("mrmr", {"k": 10})
    steps = build_pipeline("logistic", Task.CLASSIFICATION, selection=["mrmr"]).named_steps
    assert steps["mrmr"].k == 20  # the documented default
    for bad, message in (
        ("mrmr:k=0", "k must be a positive integer"),
        ("mrmr:k=ten", "k must be a positive integer"),
        ("mrmr:n=3", "has no parameter 'n'"),
        ("lasso:k=3", "has no parameter 'k'"),
        ("mrmx:k=3", "unknown feature selection mrmx:k=3"),
    ):
        with pytest.raises(ConfigError, match=message):
            build_pipeline("logistic", Task.CLASSIFICATION, selection=[bad])


def test_cli_select_mrmr_with_k(tmp_path, capsys):
    x, y = redundant_table(n=100)
    path = tmp_path / "features.csv"
    as_frame(x, y).to_csv(path, index=False)
    args = ["train", str(path), "--target", "label", "--model", "logistic"]
    code = main([*args, "--out", str(tmp_path / "m"), "--select", "mrmr:k=3", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["metrics"]["auc"]["value"] > 0.85
    assert load_model(tmp_path / "m").card.settings["selection"] == ["mrmr:k=3"]
    code = main([*args, "--out", str(tmp_path / "m2"), "--select", "mrmr:k=0"])
    assert code == 1
    assert "k must be a positive integer" in capsys.readouterr().err
