"""`medscale filter`: a response map on the image's grid; bad specs are usage errors."""

import numpy as np
import pytest

from medscale.cli.main import main
from medscale.features.filters.log import log_filter
from medscale.image import Image
from medscale.io import read_image, write_image


@pytest.fixture
def impulse(tmp_path):
    array = np.zeros((16, 20, 24), dtype=np.float32)
    array[8, 10, 12] = 100.0
    return write_image(Image(array, spacing=(2.0, 2.0, 2.0)), tmp_path / "impulse.nii.gz")


def test_filter_writes_the_response_map(impulse, tmp_path):
    out = tmp_path / "log.nii.gz"
    assert (
        main(
            [
                "filter",
                str(impulse),
                "--filter",
                "log:sigma_mm=3,boundary=mirror",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    response = read_image(out)
    source = read_image(impulse)
    assert response.shape == source.shape and response.spacing == source.spacing
    expected = log_filter(source.array, sigma_mm=3, spacing_mm=(2.0, 2.0, 2.0), boundary="mirror")
    np.testing.assert_allclose(response.array, expected, rtol=1e-5, atol=1e-4)
    assert response.array[8, 10, 12] < 0


@pytest.mark.parametrize(
    ("spec", "code"),
    [("lgo:sigma_mm=1", 2), ("log:sigma=1", 2), ("log:sigma_mm=0", 2), ("mean:support=41", 1)],
)
def test_bad_filter_spec(impulse, tmp_path, capsys, spec, code):
    assert (
        main(["filter", str(impulse), "--filter", spec, "--out", str(tmp_path / "r.nii.gz")])
        == code
    )
    assert not (tmp_path / "r.nii.gz").exists()


def test_a_decimated_wavelet_is_written_on_its_coarser_grid(tmp_path):
    import pywt

    rng = np.random.default_rng(3)
    source = Image(
        rng.normal(size=(12, 16, 20)).astype(np.float32),
        spacing=(2.0, 1.5, 1.0),
        origin=(10.0, -5.0, 30.0),
    )
    path = write_image(source, tmp_path / "noise.nii.gz")
    out = tmp_path / "dec.nii.gz"
    spec = "wavelet:name=db2,band=HLL,level=2,boundary=mirror,decimated=true"
    assert main(["filter", str(path), "--filter", spec, "--out", str(out)]) == 0
    response = read_image(out)
    coeffs = pywt.wavedecn(read_image(path).array.astype(np.float64), "db2", "symmetric", 2)
    np.testing.assert_allclose(response.array, coeffs[1]["aad"], rtol=1e-5, atol=1e-5)
    assert response.spacing == pytest.approx((8.0, 6.0, 4.0))
    # db2 (4 taps): coefficient 0 sits at input index 1 - 1.5 = -0.5, then -0.5 + 2 (-0.5) = -1.5
    expected_origin = source.index_to_world([-1.5, -1.5, -1.5])
    np.testing.assert_allclose(response.origin, expected_origin, atol=1e-4)


def test_extract_names_pyradiomics_renames_filtered_columns(tmp_path):
    import pandas as pd

    from medscale.image import Mask

    rng = np.random.default_rng(5)
    image = Image(rng.normal(50.0, 20.0, (16, 24, 24)).astype(np.float32))
    inside = np.zeros(image.shape, dtype=bool)
    inside[4:12, 6:18, 6:18] = True
    image_path = write_image(image, tmp_path / "ct.nii.gz")
    mask_path = write_image(Mask.like(image, inside), tmp_path / "mask.nii.gz")
    config = tmp_path / "filters.yaml"
    config.write_text(
        "families: [statistics]\n"
        "filters:\n"
        "  specs: ['log:sigma_mm=2', 'wavelet:name=coif1,band=LHL', 'laws:kernel=L5E5S5']\n"
    )
    out = {}
    for names in ("ibsi", "pyradiomics"):
        out[names] = tmp_path / f"{names}.csv"
        args = ["extract", str(image_path), str(mask_path), "--config", str(config)]
        assert main([*args, "--names", names, "--out", str(out[names])]) == 0
    ibsi, named = (pd.read_csv(out[n]).iloc[0] for n in ("ibsi", "pyradiomics"))
    assert named["log-sigma-2-0-mm-3D_firstorder_Mean"] == ibsi["log_s2_stat_mean"]
    assert named["wavelet-LHL_firstorder_Energy"] == ibsi["wavelet_coif1_lhl_stat_energy"]
    assert named["original_firstorder_Median"] == ibsi["stat_median"]
    assert named["laws_l5e5s5_stat_mean"] == ibsi["laws_l5e5s5_stat_mean"]  # no pyradiomics type
    assert not any(c.startswith("log_s2_stat_mean") for c in named.index)
