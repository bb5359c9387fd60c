"""Feature robustness: ICC(3,1) and the perturbations of `medscale.models.robustness`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, InputError, ModelError
from medscale.models.robustness import (
    PERTURBATIONS,
    RobustFeatures,
    case_versions,
    dilate,
    erode,
    icc31,
    icc_table,
    rotate,
)

# Shrout & Fleiss (1979), table 2: 6 targets rated by 4 judges; their ICC(3,1) is 0.71.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]

STAT_MORPH = {"families": ["statistics", "morphology"]}


def test_icc_on_the_shrout_fleiss_table():
    icc, low, high = icc31(SHROUT_FLEISS)
    assert icc == pytest.approx(0.7148, abs=1e-4)  # 0.71 in the paper
    # the F-based 95 % interval (McGraw & Wong case 3; pingouin gives [0.34, 0.95])
    assert low == pytest.approx(0.3425, abs=1e-3)
    assert high == pytest.approx(0.9459, abs=1e-3)


def test_icc_matches_pingouin_on_random_tables():
    pingouin = pytest.importorskip("pingouin")
    rng = np.random.default_rng(3)
    for n, k in [(10, 3), (25, 6), (7, 2)]:
        subject = rng.normal(0, 2, size=(n, 1))
        data = subject + rng.normal(0, 1, size=(n, k)) + rng.normal(0, 0.5, size=(1, k))
        long = pd.DataFrame(
            [(i, j, data[i, j]) for i in range(n) for j in range(k)], columns=["s", "r", "v"]
        )
        reference = pingouin.intraclass_corr(long, "s", "r", "v").set_index("Type")
        row = reference.loc["ICC(C,1)"] if "ICC(C,1)" in reference.index else reference.loc["ICC3"]
        icc, low, high = icc31(data)
        assert icc == pytest.approx(float(row["ICC"]), abs=1e-9)
        assert (low, high) == pytest.approx(tuple(row["CI95"]), abs=0.006)  # pingouin rounds


def test_reproducible_feature_has_icc_one_and_noise_near_zero():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(40, 1))
    icc, low, high = icc31(np.repeat(truth, 6, axis=1) + np.arange(6))  # offsets: consistency
    assert (icc, low, high) == (1.0, 1.0, 1.0)
    noise = [icc31(rng.normal(size=(40, 6)))[0] for _ in range(200)]
    assert abs(float(np.mean(noise))) < 0.02
    assert float(np.std(noise)) < 0.1


def test_icc_undefined_inputs():
    assert np.isnan(icc31(np.ones((5, 3)))[0])  # constant
    assert np.isnan(icc31([[1.0, 2.0]])[0])  # one subject
    with pytest.raises(ValueError, match="2-D"):
        icc31([1.0, 2.0, 3.0])


def test_icc_table_counts_complete_cases_and_flags_robust():
    rng = np.random.default_rng(1)
    per_case = {}
    for i in range(12):
        truth = rng.normal()
        per_case[f"c{i}"] = {
            version: {
                "stable": truth + 0.01 * rng.normal(),
                "noisy": rng.normal(),
                "gappy": np.nan if i == 0 else truth,
            }
            for version in ("original", *PERTURBATIONS)
        }
    table = icc_table(per_case, threshold=0.75).set_index("feature")
    assert list(table.columns) == ["icc", "ci_low", "ci_high", "n_cases", "robust"]
    assert table.loc["stable", "icc"] > 0.99 and table.loc["stable", "robust"]
    assert table.loc["noisy", "icc"] < 0.5 and not table.loc["noisy", "robust"]
    assert table.loc["gappy", "n_cases"] == 11
    with pytest.raises(ConfigError, match="threshold"):
        icc_table(per_case, threshold=2.0)


def _blob(index: int) -> tuple[Image, Mask]:
    """A smooth synthetic lesion: a Gaussian bump on a plain background, sphere mask."""
    z, y, x = np.mgrid[:20, :32, :32]
    radius = 5.0 + index
    distance2 = (z - 10) ** 2 + (y - 16) ** 2 + (x - 16) ** 2
    rng = np.random.default_rng(index)
    values = 100 + 60 * (1 + 0.3 * index) * np.exp(-distance2 / (2 * radius**2))
    image = Image(values + rng.normal(0, 1, values.shape), spacing=(1.0, 1.0, 1.0))
    return image, Mask.like(image, distance2 <= radius**2)


def test_perturbations_change_the_mask_by_one_voxel():
    image, mask = _blob(0)
    eroded, dilated = erode(mask), dilate(mask)
    assert eroded.voxel_count < mask.voxel_count < dilated.voxel_count
    assert not (eroded.array & ~mask.array).any() and not (mask.array & ~dilated.array).any()
    turned_image, turned_mask = rotate(image, mask, 3.0)
    assert turned_image.shape == image.shape
    assert abs(turned_mask.voxel_count - mask.voxel_count) < 0.05 * mask.voxel_count
    one_slice = Mask(np.pad(np.ones((1, 5, 5), bool), ((0, 0), (1, 1), (1, 1))))
    assert erode(one_slice).voxel_count == 9  # in-plane: the slice itself survives


def test_volume_is_less_robust_than_mean_on_smooth_cases():
    per_case = {}
    for i in range(5):
        image, mask = _blob(i)
        per_case[str(i)] = case_versions(image, mask, STAT_MORPH, case_id=str(i))
    assert set(per_case["0"]) == {"original", *PERTURBATIONS}
    table = icc_table(per_case).set_index("feature")
    assert table.loc["stat_mean", "icc"] > 0.99
    assert table.loc["morph_volume", "icc"] < table.loc["stat_mean", "icc"]
    # one voxel of erosion / dilation moves a radius-5..9 sphere's volume by tens of percent
    volumes = [per_case["0"][v]["morph_volume"] for v in ("erode", "original", "dilate")]
    assert volumes[0] < 0.8 * volumes[1] and volumes[2] > 1.2 * volumes[1]
    assert table.loc["morph_volume", "ci_low"] < table.loc["stat_mean", "ci_low"]


def test_noise_is_seeded_per_case():
    image, mask = _blob(1)
    first = case_versions(image, mask, STAT_MORPH, case_id="a", perturbations=("noise",))
    again = case_versions(image, mask, STAT_MORPH, case_id="a", perturbations=("noise",))
    other = case_versions(image, mask, STAT_MORPH, case_id="b", perturbations=("noise",))
    assert first["noise"]["stat_mean"] == again["noise"]["stat_mean"]
    assert first["noise"]["stat_mean"] != other["noise"]["stat_mean"]
    assert first["noise"]["stat_mean"] != first["original"]["stat_mean"]


def test_a_mask_that_erosion_empties_names_the_perturbation():
    image = Image(np.random.default_rng(0).normal(size=(5, 5, 5)))
    tiny = np.zeros((5, 5, 5), bool)
    tiny[2, 2, 2] = True
    with pytest.raises(InputError, match="erode"):
        case_versions(image, Mask.like(image, tiny), STAT_MORPH, perturbations=("erode",))
    with pytest.raises(ConfigError, match="unknown perturbation"):
        case_versions(image, Mask.like(image, tiny), STAT_MORPH, perturbations=("blur",))


def test_robust_features_step_keeps_features_above_threshold():
    frame = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["a", "b", "c", "d"])
    table = pd.DataFrame({"feature": ["a", "b", "c"], "icc": [0.9, 0.74, 0.75]})
    step = RobustFeatures(table, threshold=0.75).fit(frame)
    assert list(step.get_feature_names_out()) == ["a", "c"]  # d: not in the table
    assert step.transform(frame).shape == (3, 2)
    named = RobustFeatures({"a": 0.9, "d": 0.8}, feature_names=["a", "b", "c", "d"])
    assert named.fit(frame.to_numpy()).get_support().tolist() == [True, False, False, True]
    with pytest.raises(ModelError, match="no feature"):
        RobustFeatures({"a": 0.1}).fit(frame)
    with pytest.raises(ModelError, match="feature names"):
        RobustFeatures({"a": 0.9}).fit(frame.to_numpy())


def test_cli_writes_the_table_and_skips_bad_cases(tmp_path, capsys):
    from medscale.cli.main import main
    from medscale.io import write_image

    rows = []
    for i in range(4):
        image, mask = _blob(i)
        write_image(image, tmp_path / f"c{i}.nii.gz")
        write_image(Image(mask.array.astype(np.uint8)), tmp_path / f"c{i}_mask.nii.gz")
        rows.append({"case_id": f"c{i}", "image": f"c{i}.nii.gz", "mask": f"c{i}_mask.nii.gz"})
    rows.append({"case_id": "gone", "image": "missing.nii.gz", "mask": "c0_mask.nii.gz"})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    config = tmp_path / "stat_morph.yaml"
    config.write_text("families: [statistics, morphology]\n")
    out = tmp_path / "icc.csv"
    code = main(
        ["robustness", str(tmp_path / "manifest.csv"), "--out", str(out)]
        + ["--config", str(config), "--workers", "1"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "skipped: case gone" in captured.err and "missing.nii.gz" in captured.err
    table = pd.read_csv(out)
    assert list(table.columns) == ["feature", "icc", "ci_low", "ci_high", "n_cases", "robust"]
    assert (table["n_cases"] == 4).all()
    robust = int(table["robust"].sum())
    assert f"{robust} of {len(table)} features robust (ICC >= 0.75) over 4 cases" in captured.out
    assert bool(table.set_index("feature").loc["stat_mean", "robust"])
    assert (
        main(["robustness", str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "x.txt")]) == 1
    )
    assert "--out must end in .csv or .parquet" in capsys.readouterr().err


def test_robust_features_in_a_pipeline_survives_skops(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from medscale.models.persistence import TRUSTED_PREFIXES

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).astype(int)
    pipeline = make_pipeline(
        RobustFeatures({"a": 0.95, "b": 0.2, "c": 0.8}), LogisticRegression()
    ).fit(frame, y)
    assert pipeline[0].get_support().tolist() == [True, False, True]
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(name.startswith(TRUSTED_PREFIXES) for name in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    assert np.array_equal(loaded.predict_proba(frame), pipeline.predict_proba(frame))


def test_too_few_cases_is_one_clear_error(tmp_path):
    from medscale.models.robustness import assess_manifest

    cases = [{"case_id": "a", "image": str(tmp_path / "none.nii.gz"), "mask": "m.nii.gz"}]
    with pytest.raises(InputError, match=r"at least 2 cases .* 0 of 1 did .*case a: .*none\.nii"):
        assess_manifest(cases, STAT_MORPH)
    with pytest.raises(ConfigError, match="unknown perturbation"):
        assess_manifest(cases, STAT_MORPH, perturbations=("blur",))


def test_train_robust_leaves_out_features_not_robust(tmp_path, capsys):
    from model_tables import cohort

    from medscale.cli.main import main

    table_path, icc_path = tmp_path / "features.csv", tmp_path / "icc.csv"
    cohort(separable=True).drop(columns="site").to_csv(table_path, index=False)
    pd.DataFrame(
        {
            "feature": ["stat_mean", "cm_contrast_3D_avg", "morph_volume"],
            "icc": [0.95, 0.4, 0.8],
            "robust": [True, False, True],
        }
    ).to_csv(icc_path, index=False)
    code = main(
        ["train", str(table_path), "--target", "label", "--group", "patient_id"]
        + ["--model", "logistic", "--robust", str(icc_path), "--out", str(tmp_path / "model")]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "--robust: left out 1 features not robust" in captured.err
    assert "2 features: stat_mean, morph_volume" in captured.out
