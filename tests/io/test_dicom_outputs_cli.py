"""`medscale segment --out MASK.dcm` writes a DICOM SEG, `medscale extract --out F.dcm` an SR."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medscale.cli.main import main
from medscale.image import Image
from medscale.io import read_image, read_mask, write_image
from medscale.io.dicom import read_dicom
from medscale.io.dicom_write import write_dicom_series
from medscale.io.seg import is_seg
from medscale.io.sr import read_feature_report

pytest.importorskip("highdicom")


@pytest.fixture
def series(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.normal(0, 5, size=(6, 20, 20))
    values[1:5, 5:15, 4:14] += 100
    folder = tmp_path / "ct"
    write_dicom_series(Image(np.rint(values).astype(np.int16), spacing=(2.0, 1.0, 1.0)), folder)
    return folder


def test_segment_writes_seg_and_extract_writes_sr(series, tmp_path, capsys):
    seg = tmp_path / "mask.dcm"
    args = ["segment", str(series), "--method", "threshold", "--param", "lower=50"]
    assert main([*args, "--out", str(seg)]) == 0
    assert is_seg(seg)
    image = read_dicom(series)
    mask = read_mask(seg, reference=image)
    np.testing.assert_array_equal(mask.array, image.array >= 50)
    capsys.readouterr()
    # a SEG as the truth mask too
    assert (
        main([*args, "--out", str(tmp_path / "again.nii.gz"), "--truth", str(seg), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["dice"] == 1.0
    assert main(["extract", str(series), str(seg), "--config", "ibsi1-a"]) == 0
    expected = json.loads(capsys.readouterr().out)
    report = tmp_path / "features.dcm"
    assert (
        main(["extract", str(series), str(seg), "--config", "ibsi1-a", "--out", str(report)]) == 0
    )
    back = read_feature_report(report)
    expected.pop("case_id")
    assert set(back) == set(expected)
    for name, value in expected.items():
        assert back[name] == value or (value is None and np.isnan(back[name])), name


def test_dcm_out_needs_a_dicom_image(series, tmp_path, capsys):
    nifti = tmp_path / "ct.nii.gz"
    write_image(read_image(series), nifti)
    out = tmp_path / "m.dcm"
    code = main(
        ["segment", str(nifti), "--method", "threshold", "--param", "lower=50", "--out", str(out)]
    )
    assert code == 1 and not out.exists()
    assert "needs a DICOM IMAGE" in capsys.readouterr().err
