"""The engine's segment stage with a trained U-Net model folder (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medscale.engine import RunSpec, read_failures, read_features, run
from medscale.engine.stages import StageSettings
from medscale.io import read_image, read_mask
from medscale.segment import dice, segment

torch = pytest.importorskip("torch", reason="the U-Net needs PyTorch (the 'dl' extra)")
pytest.importorskip("monai", reason="the U-Net needs MONAI (the 'dl' extra)")

from medscale.segment.unet import UNetSettings, train_unet  # noqa: E402


@pytest.fixture(scope="module")
def cohort_and_model(tmp_path_factory, cohort_writer) -> tuple[Path, Path]:
    """The engine's sphere cohort, and a tiny U-Net trained on it, saved as a model folder."""
    folder = tmp_path_factory.mktemp("unet_stage")
    manifest = cohort_writer(folder / "cohort", 4)
    cases = pd.read_csv(manifest)
    images = [read_image(manifest.parent / name) for name in cases["image"]]
    masks = [read_mask(manifest.parent / name) for name in cases["mask"]]
    torch.set_num_threads(1)
    settings = UNetSettings(base_channels=4, depth=2, pixel_spacing_mm=1.0)
    model = train_unet(
        images, masks, settings=settings, epochs=12, batch_size=8, seed=0, learning_rate=1e-2
    )
    model.save(folder / "model")
    return manifest, folder / "model"


def test_segment_stage_runs_the_unet_model(cohort_and_model, tmp_path) -> None:
    manifest, model = cohort_and_model
    stages = StageSettings(
        stages=("read", "segment"), segment_method="unet", segment_params={"model": str(model)}
    )
    out = tmp_path / "run"
    summary = run(RunSpec(str(manifest), str(out), stages, in_process=True))
    assert summary.cases_done == 4 and summary.cases_failed == 0, read_failures(out)
    for row in read_features(out).itertuples():
        image = read_image(manifest.parent / f"{row.case_id}_image.nii.gz")
        written = read_mask(row.mask_out)
        assert written.array.shape == image.array.shape
        np.testing.assert_allclose(written.spacing, image.spacing)
        np.testing.assert_allclose(written.origin, image.origin)
        direct = segment(image, "unet", model=str(model))
        np.testing.assert_array_equal(written.array, direct.array)  # the same as a direct call
        truth = read_mask(manifest.parent / f"{row.case_id}_mask.nii.gz")
        assert dice(written, truth) > 0.8  # and the net has learnt the spheres


def test_unet_masks_feed_the_extract_stage(cohort_and_model, tmp_path) -> None:
    manifest, model = cohort_and_model
    stages = StageSettings(
        stages=("read", "segment", "extract"),
        segment_method="unet",
        segment_params={"model": str(model)},
    )
    out = tmp_path / "run"
    summary = run(RunSpec(str(manifest), str(out), stages, in_process=True))
    assert summary.cases_done == 4, read_failures(out)
    volumes = read_features(out).set_index("case_id")["morph_vol_approx"]
    # The cohort's sphere radius grows with the case index (3, 4, 5, 6 voxels at 2 x 1 x 1 mm).
    assert volumes.is_monotonic_increasing and volumes.iloc[0] > 0


def test_a_wrong_model_folder_fails_each_case_clearly(cohort_and_model, tmp_path) -> None:
    manifest, _ = cohort_and_model
    cases = pd.read_csv(manifest)
    cases.loc[1, "image"] = "missing_image.nii.gz"
    broken = manifest.parent / "broken.csv"
    cases.to_csv(broken, index=False)
    missing = tmp_path / "no_such_model"
    stages = StageSettings(
        stages=("read", "segment"), segment_method="unet", segment_params={"model": str(missing)}
    )
    out = tmp_path / "run"
    summary = run(RunSpec(str(broken), str(out), stages, in_process=True))
    assert summary.cases_done == 0 and summary.cases_failed == 4
    failures = read_failures(out).set_index("case_id")
    assert failures.loc["case001", "stage"] == "read"  # its own problem, found first
    for case_id in ("case000", "case002", "case003"):
        assert failures.loc[case_id, "stage"] == "segment"
        message = failures.loc[case_id, "message"]
        assert message.startswith(f"case {case_id}:") and "no_such_model" in message
