"""`medscale segment` and `medscale preprocess` on small files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.cli.main import main
from medscale.io import read_image, read_mask, write_image


@pytest.fixture
def files(tmp_path, sphere_case):
    image, truth = sphere_case
    image_path = write_image(image, tmp_path / "image.nii.gz")
    truth_path = write_image(truth, tmp_path / "truth.nii.gz")
    return tmp_path, image_path, truth_path


def test_segment_region_growing_json(files, capsys) -> None:
    folder, image_path, truth_path = files
    out = folder / "mask.nii.gz"
    code = main(
        [
            "segment",
            str(image_path),
            "--method",
            "region_growing",
            "--param",
            "seed=16,16,16",
            "--out",
            str(out),
            "--truth",
            str(truth_path),
            "--json",
        ]
    )
    assert code == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) == {"dice", "jaccard", "hd95_mm", "assd_mm", "volume_difference_ml"}
    assert scores["dice"] > 0.97 and scores["hd95_mm"] <= 1.0
    mask = read_mask(out)
    assert mask.geometry_equal(read_image(image_path))


def test_segment_otsu_plain_text_and_box(files, capsys) -> None:
    folder, image_path, truth_path = files
    out = folder / "otsu.nrrd"
    assert (
        main(
            [
                "segment",
                str(image_path),
                "--method",
                "otsu",
                "--param",
                "box=0,0,0,32,32,16",
                "--out",
                str(out),
                "--truth",
                str(truth_path),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "dice" in text and "hd95_mm" in text and " mm" in text
    assert not read_mask(out).array[:, :, 16:].any()


def test_segment_usage_and_failures(files, capsys) -> None:
    folder, image_path, _ = files
    out = str(folder / "x.nii.gz")
    assert main(["segment", str(image_path), "--method", "otzu", "--out", out]) == 2
    assert "did you mean 'otsu'" in capsys.readouterr().err
    assert (
        main(
            [
                "segment",
                str(image_path),
                "--method",
                "kmeans",
                "--param",
                "n_clusters=1",
                "--out",
                out,
            ]
        )
        == 1
    )
    assert "kmeans: parameter 'n_clusters'" in capsys.readouterr().err
    assert main(["segment", str(image_path), "--method", "region_growing", "--out", out]) == 1
    message = capsys.readouterr().err
    assert "parameter 'seed' is required" in message
    assert "give --param seed=" in message  # the CLI says how, in its own syntax
    assert main(["segment", "--list"]) == 0
    assert "region_growing" in capsys.readouterr().out


def test_preprocess_chain_on_the_command_line(files, capsys, tmp_path) -> None:
    _, image_path, _ = files
    out = tmp_path / "smoothed.nii.gz"
    code = main(
        [
            "preprocess",
            str(image_path),
            "--step",
            "gaussian:sigma_mm=1",
            "--step",
            "window:preset=lung",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result, source = read_image(out), read_image(image_path)
    assert result.geometry_equal(source)
    assert result.array.min() >= -1350 and result.array.max() <= 150
    from medscale.preprocess import gaussian, window

    expected = window(gaussian(source, sigma_mm=1.0), preset="lung").array
    np.testing.assert_allclose(result.array, expected, atol=1e-3)


def test_preprocess_yaml_and_errors(files, tmp_path, capsys) -> None:
    _, image_path, _ = files
    config = tmp_path / "steps.yaml"
    config.write_text("- median: {size: 3}\n- resample: {spacing_mm: [2, 2, 2]}\n")
    out = tmp_path / "out.nii.gz"
    assert (
        main(["preprocess", str(image_path), "--steps-file", str(config), "--out", str(out)]) == 0
    )
    assert read_image(out).spacing == (2.0, 2.0, 2.0)
    assert main(["preprocess", str(image_path), "--step", "median:size=4", "--out", str(out)]) == 1
    assert "median: parameter 'size' must be an odd" in capsys.readouterr().err
    assert main(["preprocess", str(image_path), "--step", "gausian", "--out", str(out)]) == 2
    assert main(["preprocess", "--list"]) == 0
    assert "gaussian" in capsys.readouterr().out


def test_nan_image_is_a_one_line_failure(tmp_path, capsys) -> None:
    array = np.zeros((4, 8, 8), dtype=np.float32)
    array[1, 2, 3] = np.nan
    path = write_image(Image(array), tmp_path / "nan.nrrd")  # NIfTI writing drops NaN
    assert (
        main(["preprocess", str(path), "--step", "gaussian", "--out", str(tmp_path / "o.nii.gz")])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: gaussian:") and "NaN" in err
    assert Mask  # keeps the import used for readers of this file
