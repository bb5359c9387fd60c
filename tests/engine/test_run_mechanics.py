"""Run-folder mechanics that hold for any stage chain: outputs, failures, resume, refusals."""

import json

import pandas as pd
import pytest
import yaml

from medscale import ConfigError
from medscale.engine import RunSpec, read_failures, read_features, run
from medscale.engine.stages import StageSettings

READ_ONLY = StageSettings(stages=("read",))


def _spec(manifest, out, **kwargs):
    return RunSpec(str(manifest), str(out), stage_settings=READ_ONLY, in_process=True, **kwargs)


def test_run_writes_every_output(small_cohort, tmp_path):
    out = tmp_path / "run"
    summary = run(_spec(small_cohort, out, flush_every=2))
    assert summary.cases_done == 6 and summary.cases_failed == 0
    for name in ("features.parquet", "settings.yaml", "summary.json", "run.log"):
        assert (out / name).exists(), name
    assert len(list((out / "features.parquet").glob("part-*.parquet"))) == 3
    table = read_features(out)
    assert table["case_id"].tolist() == [f"case{i:03d}" for i in range(6)]
    assert {"label", "patient_id", "site", "image_out"} <= set(table.columns)  # carried through
    saved = json.loads((out / "summary.json").read_text())
    assert saved["cases_done"] == 6 and saved["cases_per_second"] > 0


def test_bad_cases_are_recorded_and_the_run_goes_on(small_cohort, tmp_path):
    (small_cohort.parent / "case002_image.nii.gz").write_bytes(b"not an image at all")
    manifest = pd.read_csv(small_cohort)
    manifest.loc[4, "image"] = "does_not_exist.nii.gz"
    manifest.to_csv(small_cohort, index=False)
    out = tmp_path / "run"
    summary = run(_spec(small_cohort, out))
    assert summary.cases_done == 4 and summary.cases_failed == 2
    failures = read_failures(out).sort_values("case_id")
    assert failures["case_id"].tolist() == ["case002", "case004"]
    assert set(failures["stage"]) == {"read"}
    assert "does_not_exist" in failures["message"].iloc[1]
    assert failures["message"].str.startswith("case ").all()


def test_resume_skips_finished_cases_and_never_duplicates(small_cohort, tmp_path):
    out = tmp_path / "run"
    run(_spec(small_cohort, out, flush_every=1))
    parts = sorted((out / "features.parquet").glob("part-*.parquet"))
    parts[-1].unlink()  # as if the driver had died before its last flush
    parts[-2].unlink()
    summary = run(_spec(small_cohort, out, resume=True))
    assert summary.cases_skipped == 4 and summary.cases_done == 6
    table = read_features(out)
    assert table["case_id"].is_unique and len(table) == 6


def test_a_folder_whose_settings_say_features_still_resumes(small_cohort, tmp_path):
    # settings.yaml of runs made before StageSettings.features was renamed config
    out = tmp_path / "run"
    run(_spec(small_cohort, out, flush_every=1))
    document = yaml.safe_load((out / "settings.yaml").read_text())
    document["settings"]["features"] = document["settings"].pop("config")
    (out / "settings.yaml").write_text(yaml.safe_dump(document))
    sorted((out / "features.parquet").glob("part-*.parquet"))[-1].unlink()
    summary = run(_spec(small_cohort, out, resume=True))
    assert summary.cases_skipped == 5 and summary.cases_done == 6


def test_same_folder_without_resume_or_force_is_refused(small_cohort, tmp_path):
    out = tmp_path / "run"
    run(_spec(small_cohort, out))
    with pytest.raises(ConfigError, match="--resume"):
        run(_spec(small_cohort, out))


def test_other_settings_are_refused_unless_forced(small_cohort, tmp_path):
    out = tmp_path / "run"
    run(_spec(small_cohort, out))
    other = RunSpec(
        str(small_cohort),
        str(out),
        in_process=True,
        stage_settings=StageSettings(stages=("read",), mask_label=1),
    )
    with pytest.raises(ConfigError, match="other settings"):
        run(other)
    with pytest.raises(ConfigError, match="other settings"):
        run(RunSpec(**{**other.__dict__, "resume": True}))
    summary = run(RunSpec(**{**other.__dict__, "force": True}))
    assert summary.cases_done == 6 and len(read_features(out)) == 6


def test_unknown_stage_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown stage"):
        StageSettings(stages=("read", "paint"))


def test_corrupt_file_and_empty_mask_are_two_failures_in_an_extract_run(small_cohort, tmp_path):
    import numpy as np

    from medscale.io import read_image, write_image

    folder = small_cohort.parent
    (folder / "case001_image.nii.gz").write_bytes(b"\x1f\x8b truncated gzip")
    mask = read_image(folder / "case003_mask.nii.gz")
    write_image(mask.with_array(np.zeros(mask.shape, np.uint8)), folder / "case003_mask.nii.gz")
    out = tmp_path / "run"
    spec = RunSpec(
        str(small_cohort), str(out), StageSettings(stages=("read", "extract")), in_process=True
    )
    summary = run(spec)
    assert summary.cases_done == 4 and summary.cases_failed == 2
    failures = read_failures(out).set_index("case_id")
    assert sorted(failures.index) == ["case001", "case003"]
    assert failures.loc["case001", "stage"] == "read"
    assert failures.loc["case003", "stage"] == "extract"
    assert "empty" in failures.loc["case003", "message"].lower()
    assert len(read_features(out)) == 4


def test_preprocess_segment_extract_chain(small_cohort, tmp_path):
    stages = StageSettings(
        stages=("read", "preprocess", "segment", "extract"),
        preprocess_steps=("gaussian:sigma_mm=0.5",),
        segment_method="otsu",
    )
    out = tmp_path / "run"
    summary = run(RunSpec(str(small_cohort), str(out), stages, in_process=True))
    assert summary.cases_done == 6, read_failures(out)
    table = read_features(out)
    # Otsu finds the bright sphere: its volume grows with the radius written by the cohort
    volumes = table.set_index("case_id")["morph_vol_approx"]
    assert volumes["case004"] > volumes["case003"] > volumes["case000"] > 0


def test_segment_only_run_writes_masks(small_cohort, tmp_path):
    from medscale.io import read_image

    stages = StageSettings(stages=("read", "segment"), segment_method="otsu")
    out = tmp_path / "run"
    run(RunSpec(str(small_cohort), str(out), stages, in_process=True))
    table = read_features(out)
    assert len(table) == 6 and (table["mask_volume_ml"] > 0).all()
    first = read_image(table["mask_out"].iloc[0])
    assert set(first.array.ravel().tolist()) == {0, 1}


def test_case_warnings_go_to_the_run_log(tmp_path):
    import numpy as np

    from medscale import Image
    from medscale.io import write_image

    folder = tmp_path / "cohort"
    image = Image(np.full((4, 6, 6), 40, np.int16), spacing=(2.0, 1.0, 1.0))
    mask = np.zeros((4, 6, 6), np.uint8)
    mask[2, 3, 3] = 1  # one voxel: many features are undefined (NaN, with a warning)
    write_image(image, folder / "image.nii.gz")
    write_image(image.with_array(mask), folder / "mask.nii.gz")
    (folder / "cases.csv").write_text("case_id,image,mask\none,image.nii.gz,mask.nii.gz\n")
    out = tmp_path / "run"
    spec = RunSpec(str(folder / "cases.csv"), str(out), StageSettings(), in_process=True)
    assert run(spec).cases_done == 1
    log_text = (out / "run.log").read_text()
    assert "case one:" in log_text and "NaN" in log_text


def test_seed_column_gives_each_case_its_seed(small_cohort, tmp_path):
    import numpy as np

    from medscale.io import read_image, read_mask
    from medscale.segment import segment

    cases = pd.read_csv(small_cohort)
    cases["seed"] = ["8,12,12"] * 5 + [""]  # the spheres' centre; the last case has none
    manifest = small_cohort.parent / "seeded.csv"
    cases.to_csv(manifest, index=False)
    stages = StageSettings(stages=("read", "segment"), segment_method="region_growing")
    out = tmp_path / "run"
    summary = run(RunSpec(str(manifest), str(out), stages, in_process=True))
    assert summary.cases_done == 5 and summary.cases_failed == 1
    failure = read_failures(out).iloc[0]
    assert failure["case_id"] == "case005" and "'seed' is required" in failure["message"]
    for row in read_features(out).itertuples():  # the same mask as a direct call with it
        image = read_image(small_cohort.parent / f"{row.case_id}_image.nii.gz")
        direct = segment(image, "region_growing", seed=(8, 12, 12))
        assert direct.voxel_count > 20
        np.testing.assert_array_equal(read_mask(row.mask_out).array, direct.array)
