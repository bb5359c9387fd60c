"""The CNN classifier (medscale.models.cnn): learns, round-trips, resumes, refuses bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="the cnn model needs the dl extra (torch)")
pytest.importorskip("monai", reason="the cnn model needs the dl extra (MONAI)")

from cnn_cases import write_cohort  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from medscale.cli.main import main  # noqa: E402
from medscale.errors import ConfigError, InputError, ModelError  # noqa: E402
from medscale.image import Image  # noqa: E402
from medscale.io import write_image  # noqa: E402
from medscale.models import read_table  # noqa: E402
from medscale.models.cnn import CnnConfig, load_cnn, predict_cnn, train_cnn  # noqa: E402

SMALL = {
    "shape": (16, 16),
    "batch_size": 16,
    "device": "cpu",
    "threads": 1,
    "block_inplanes": (8, 16, 32, 64),
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cnn") / "train", n_cases=64, with_masks=True)


@pytest.fixture(scope="module")
def trained(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    out = tmp_path_factory.mktemp("cnn") / "model"
    model = train_cnn(
        read_table(cohort),
        target="label",
        group="patient_id",
        out=out,
        config=CnnConfig(epochs=8, **SMALL),
        n_boot=100,
    )
    return model, out


def test_learns_a_separable_2d_task(trained: tuple[object, Path], tmp_path: Path) -> None:
    model, _ = trained
    fresh = write_cohort(tmp_path / "test", n_cases=40, seed=7, with_masks=True)
    predictions = predict_cnn(model, read_table(fresh), device="cpu")  # type: ignore[arg-type]
    auc = roc_auc_score(predictions["label"], predictions["probability"])
    assert auc > 0.9, auc
    assert set(predictions.columns) == {"case_id", "probability", "prediction", "label"}


def test_model_folder_round_trip(trained: tuple[object, Path], cohort: Path) -> None:
    model, folder = trained
    assert sorted(p.name for p in folder.iterdir()) == [
        "cv_predictions.parquet",
        "model.json",
        "weights.pt",
    ]  # no checkpoint, no pickle
    torch.load(folder / "weights.pt", weights_only=True)  # a plain state dict
    card = json.loads((folder / "model.json").read_text())
    assert card["model"] == "cnn" and card["settings"]["cnn"]["shape"] == [16, 16]
    table = read_table(cohort)
    before = predict_cnn(model, table, device="cpu")  # type: ignore[arg-type]
    after = predict_cnn(load_cnn(folder), table, device="cpu")
    pd.testing.assert_frame_equal(before, after)
    validation = pd.read_parquet(folder / "cv_predictions.parquet")
    assert len(validation) == card["notes"]["n_validation"] and set(validation["fold"]) == {0}
    train_patients = set(table["patient_id"]) - set(
        table.set_index("case_id").loc[validation["case_id"], "patient_id"]
    )
    assert len(train_patients) == len(set(table["patient_id"])) - len(validation) // 2
    merged = validation.merge(after, on="case_id", suffixes=("", "_again"))
    np.testing.assert_allclose(merged["probability"], merged["probability_again"], atol=1e-6)


class _Cut(Exception):
    pass


def test_resume_continues_from_the_checkpoint(cohort: Path, tmp_path: Path) -> None:
    table = read_table(cohort)
    config = CnnConfig(epochs=4, patience=10, **SMALL)

    def cut_after_two(epoch: int, epochs: int, batch: int, batches: int, info: dict) -> None:
        if info and epoch == 1:  # epoch 2 is complete and checkpointed
            raise _Cut

    with pytest.raises(_Cut):
        train_cnn(
            table, target="label", out=tmp_path, config=config, progress=cut_after_two, n_boot=10
        )
    assert (tmp_path / "checkpoint.pt").is_file()
    epochs_seen: list[int] = []
    model = train_cnn(
        table,
        target="label",
        out=tmp_path,
        config=config,
        resume=True,
        progress=lambda e, *_: epochs_seen.append(e),
        n_boot=10,
    )
    assert min(epochs_seen) == 2
    assert [row[0] for row in model.card.notes["history"]] == [0, 1, 2, 3]
    assert not (tmp_path / "checkpoint.pt").exists()


def test_one_class_is_refused(cohort: Path, tmp_path: Path) -> None:
    table = read_table(cohort)
    table["label"] = 1
    with pytest.raises(ModelError, match="constant"):
        train_cnn(table, target="label", out=tmp_path, config=CnnConfig(**SMALL))


def test_mixed_dimensionality_is_refused(cohort: Path, tmp_path: Path) -> None:
    table = read_table(cohort).drop(columns="mask")
    volume = tmp_path / "volume.nii.gz"
    write_image(Image(np.zeros((4, 20, 20), np.float32)), volume)
    table.loc[5, "image"] = str(volume)
    with pytest.raises(InputError, match=r"case c005: a 3-D image .* among 2-D images"):
        train_cnn(table, target="label", out=tmp_path / "m", config=CnnConfig(device="cpu"))


def test_missing_image_names_the_case(cohort: Path, tmp_path: Path) -> None:
    table = read_table(cohort)
    table.loc[3, "image"] = str(tmp_path / "gone.nii.gz")
    with pytest.raises(InputError, match=r"case c003: .*gone.nii.gz: no such file"):
        train_cnn(table, target="label", out=tmp_path / "m", config=CnnConfig(device="cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train_cnn(read_table(cohort), target="label", out=tmp_path, config=CnnConfig(device="cuda"))
    args = ["train", str(cohort), "--model", "cnn", "--target", "label", "--out", str(tmp_path)]
    assert main([*args, "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err and "Traceback" not in err
    assert not (tmp_path / "model.json").exists()


def test_cli_train_and_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = write_cohort(tmp_path / "data", n_cases=16, size=12)
    model = tmp_path / "model"
    args = ["train", str(small), "--model", "cnn", "--target", "label", "--group", "patient_id"]
    code = main([*args, "--out", str(model), "--epochs", "1", "--batch-size", "8", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["cnn"]["epochs"] == 1 and summary["cnn"]["shape"] == [64, 64]
    assert "auc" in summary["metrics"]
    predictions = tmp_path / "predictions.parquet"
    assert main(["predict", str(model), str(small), "--out", str(predictions)]) == 0
    written = pd.read_parquet(predictions)
    assert list(written.columns) == ["case_id", "probability", "prediction", "label"]
    assert len(written) == 16


def test_a_data_sets_own_validation_split(cohort: Path, tmp_path: Path) -> None:
    table = read_table(cohort)
    table["held"] = table.index >= 48
    model = train_cnn(
        table,
        target="label",
        out=tmp_path,
        config=CnnConfig(epochs=1, **SMALL),
        validation_column="held",
        n_boot=10,
    )
    validation = pd.read_parquet(tmp_path / "cv_predictions.parquet")
    assert list(validation["case_id"]) == list(table["case_id"][48:])
    assert model.card.notes["n_train"] == 48


def test_a_multichannel_image_is_refused_naming_the_case(cohort: Path, tmp_path: Path) -> None:
    import SimpleITK as sitk

    table = read_table(cohort).drop(columns="mask")
    colour = tmp_path / "colour.nii.gz"
    sitk.WriteImage(
        sitk.GetImageFromArray(np.zeros((20, 20, 3), np.float32), isVector=True), str(colour)
    )
    table.loc[2, "image"] = str(colour)
    with pytest.raises(InputError, match=r"case c002: .*3 components per pixel"):
        train_cnn(table, target="label", out=tmp_path / "m", config=CnnConfig(device="cpu"))
