"""`train(..., site=COL)`: ComBat inside the pipeline, fitted on training folds only."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from medscale.errors import MedscaleWarning, ModelError
from medscale.models import load_model, predict, save_model, train
from medscale.models.harmonise import ComBat, SiteComBat

N_BOOT = 100


def paired_sites(seed: int = 0, n_sites: int = 40, per_site: int = 4, p: int = 100) -> pd.DataFrame:
    """Pure-noise features with a strong random site offset; every site holds two cases of
    each class. The features say nothing about the label, so an honest AUC is ~0.5; ComBat
    fitted on all cases centres each site with its test cases included, which ties a test
    case's harmonised value to its site mates' (of known labels) and leaks."""
    rng = np.random.default_rng(seed)
    n = n_sites * per_site
    offsets = rng.normal(scale=2.0, size=(n_sites, p)).repeat(per_site, axis=0)
    table = pd.DataFrame(rng.normal(size=(n, p)) + offsets, columns=[f"f{j}" for j in range(p)])
    table["site"] = np.repeat([f"s{k}" for k in range(n_sites)], per_site)
    table["label"] = np.tile([0, 1] * (per_site // 2), n_sites)
    table["case_id"] = [f"c{i}" for i in range(n)]
    return table


def test_combat_on_all_data_leaks_and_ours_does_not() -> None:
    table = paired_sites()
    features = [c for c in table.columns if c.startswith("f")]
    honest = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    leaky_table = table.copy()
    leaky_table[features] = ComBat().fit_transform(table[features].to_numpy(), table["site"])
    leaky = train(leaky_table, target="label", model="logistic", features="f*", n_boot=N_BOOT)
    honest_auc = honest.card.metrics["auc"]
    leaky_auc = leaky.card.metrics["auc"]["value"]
    # measured (seed 0): 0.438 fold-wise, 0.635 harmonised on all data (benchmarks/bench_combat.py)
    assert leaky_auc > 0.6
    assert leaky_auc - honest_auc["value"] > 0.12
    assert honest_auc["ci_low"] <= 0.5 <= honest_auc["ci_high"]


def test_test_fold_rows_never_reach_the_combat_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    table = paired_sites(n_sites=15, p=5)
    seen: list[np.ndarray] = []
    original = SiteComBat.fit

    def spy(self: SiteComBat, x: np.ndarray, y: object = None) -> SiteComBat:
        seen.append(np.asarray(x, dtype=float).copy())
        return original(self, x, y)

    monkeypatch.setattr(SiteComBat, "fit", spy)
    model = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    folds = model.cv_predictions["fold"].to_numpy()
    features = table[[c for c in table.columns if c.startswith("f")]].to_numpy()
    assert len(seen) == folds.max() + 2  # one fit per fold, then the final fit on all cases
    for k in range(folds.max() + 1):
        fitted_rows = {tuple(row) for row in np.round(seen[k][:, :-1], 12)}
        train_rows = {tuple(row) for row in np.round(features[folds != k], 12)}
        test_rows = {tuple(row) for row in np.round(features[folds == k], 12)}
        assert fitted_rows == train_rows
        assert not fitted_rows & test_rows
    assert len(seen[-1]) == len(table)


def test_saved_model_applies_its_estimates(tmp_path) -> None:
    table = paired_sites(n_sites=12, p=6)
    table["label"] = (table["f0"] - table.groupby("site")["f0"].transform("mean") > 0).astype(int)
    model = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    assert model.card.settings["harmonise"] == "combat"
    assert model.card.notes["sites"] == sorted(table["site"].unique())
    save_model(model, tmp_path / "m")
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["settings"]["site"] == "site" and card["settings"]["harmonise"] == "combat"
    loaded = load_model(tmp_path / "m")  # skops: our ComBat step is a trusted type
    step = loaded.pipeline.named_steps["combat"]
    np.testing.assert_array_equal(
        step.combat_.gamma_star_, model.pipeline.named_steps["combat"].combat_.gamma_star_
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleWarning)
        expected = predict(model, table)
        pd.testing.assert_frame_equal(predict(loaded, table), expected)
    # the site matters: the same features under another site's estimates predict differently
    moved = table.assign(site=np.roll(table["site"].to_numpy(), 4))
    assert not np.allclose(predict(loaded, moved)["probability"], expected["probability"])
    with pytest.raises(ModelError, match="harmonises by site column 'site'"):
        predict(loaded, table.drop(columns=["site"]))


def test_unseen_site_at_predict_is_warned_and_left_unharmonised() -> None:
    table = paired_sites(n_sites=10, p=6)
    model = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    new = table.head(4).assign(site="elsewhere")
    with pytest.warns(MedscaleWarning, match="elsewhere.*not seen.*ComBat leaves them unharm"):
        predict(model, new)
    step = model.pipeline.named_steps["combat"]
    features = new[model.card.features].to_numpy()
    with pytest.warns(MedscaleWarning, match="unharmonised"):
        out = step.transform(np.column_stack([features, np.full(4, -1.0)]))
    np.testing.assert_array_equal(out, features)


def test_bad_site_columns_are_refused() -> None:
    table = paired_sites(n_sites=6, p=4)
    with pytest.raises(ModelError, match="site column 'site' has 1 missing"):
        train(
            table.assign(site=[None] + list(table["site"][1:])),
            target="label",
            model="logistic",
            site="site",
            n_boot=N_BOOT,
        )
    with pytest.raises(ModelError, match="holds one site"):
        train(table.assign(site="a"), target="label", model="logistic", site="site", n_boot=N_BOOT)


def test_auto_harmonises_inside_its_inner_folds_too() -> None:
    table = paired_sites(n_sites=10, p=4)
    table["label"] = (table["f0"] - table.groupby("site")["f0"].transform("mean") > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)  # small sites: some folds lack one
        model = train(table, target="label", model="auto", site="site", n_boot=N_BOOT)
    assert "combat" in model.pipeline.named_steps
    assert model.card.notes["auto"]["winner"] in model.card.notes["auto"]["inner_cv_scores"]
    # the label is "above the site's mean": harmonised features show it far better
    # (measured: 0.929 with --site, 0.688 without)
    assert model.card.metrics["auc"]["value"] > 0.85


def test_integer_sites_read_back_as_floats_are_the_same_sites() -> None:
    table = paired_sites(n_sites=6, p=4)
    table["site"] = np.repeat(np.arange(6), 4)
    model = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    assert model.card.notes["sites"] == [str(k) for k in range(6)]
    as_floats = table.assign(site=table["site"].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleWarning)
        pd.testing.assert_frame_equal(predict(model, as_floats), predict(model, table))


def test_cli_refuses_site_for_image_networks(tmp_path) -> None:
    from medscale.cli.main import main

    path = tmp_path / "t.csv"
    paired_sites(n_sites=4, p=2).to_csv(path, index=False)
    args = ["train", str(path), "--target", "label", "--site", "site", "--out", str(tmp_path / "m")]
    assert main([*args, "--model", "cnn"]) == 2


def covariate_table(seed: int = 0, n: int = 240) -> pd.DataFrame:
    """Site s1 treats older patients; the features carry age (0.1 per year) under additive and
    multiplicative site effects; the label is age > 58, so part of it lies between sites."""
    rng = np.random.default_rng(seed)
    sites = np.array(["s0", "s1", "s2"])[rng.integers(0, 3, n)]
    age = rng.normal(50, 8, n) + np.where(sites == "s1", 15.0, 0.0)
    add = np.array([{"s0": 0.0, "s1": 3.0, "s2": -2.0}[s] for s in sites])
    mul = np.array([{"s0": 1.0, "s1": 2.0, "s2": 0.5}[s] for s in sites])
    x = 0.1 * (age[:, None] - 50) + add[:, None] + mul[:, None] * rng.normal(size=(n, 5))
    table = pd.DataFrame(x, columns=[f"f{j}" for j in range(5)])
    table["site"], table["age"] = sites, age
    table["label"] = (age > 58).astype(int)
    return table


def test_site_covariates_keep_the_biology_combat_would_remove(tmp_path) -> None:
    table = covariate_table()
    kept = train(
        table,
        target="label",
        model="logistic",
        site="site",
        site_covariates=["age"],
        n_boot=N_BOOT,
    )
    blind = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
    assert "age" not in kept.card.features and kept.card.settings["site_covariates"] == ["age"]
    # measured (seed 0): AUC 0.911 with the age covariate, 0.778 without
    assert kept.card.metrics["auc"]["value"] > 0.85
    assert kept.card.metrics["auc"]["value"] - blind.card.metrics["auc"]["value"] > 0.1
    assert kept.pipeline.named_steps["combat"].combat_.beta_covariates_.shape == (1, 5)
    save_model(kept, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    pd.testing.assert_frame_equal(predict(loaded, table), predict(kept, table))
    with pytest.raises(ModelError, match="site covariate column.*age"):
        predict(loaded, table.drop(columns=["age"]))
    with pytest.raises(ModelError, match="need a site column"):
        train(table, target="label", model="logistic", site_covariates=["age"])


def test_cli_site_covariates_round_trip(tmp_path, capsys) -> None:
    from medscale.cli.main import main

    path, model_dir = tmp_path / "t.csv", tmp_path / "m"
    covariate_table().to_csv(path, index=False)
    args = ["train", str(path), "--target", "label", "--site", "site", "--model", "logistic"]
    assert main([*args, "--site-covariates", "age", "--out", str(model_dir)]) == 0
    assert "5 features: f0, f1, f2, f3, f4" in capsys.readouterr().out
    card = json.loads((model_dir / "model.json").read_text())
    assert card["settings"]["harmonise"] == "combat"
    assert card["settings"]["site_covariates"] == ["age"]
    new = covariate_table(seed=5, n=30).assign(site="s9")
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "p.csv"
    with pytest.warns(MedscaleWarning, match="s9.*ComBat leaves them unharmonised"):
        code = main(["predict", str(model_dir), str(tmp_path / "new.csv"), "--out", str(out)])
    assert code == 0 and len(pd.read_csv(out)) == 30
