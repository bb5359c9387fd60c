"""pyradiomics-style names: every mapped id is a real id, names are unique, values unchanged."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, MedscaleWarning
from medscale.features import extract
from medscale.features.pyradiomics_names import (
    PYRADIOMICS_NAMES,
    PYRADIOMICS_NAMES_2D,
    rename,
    to_pyradiomics,
)


def _case(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> tuple[Image, Mask]:
    rng = np.random.default_rng(7)
    image = Image(rng.normal(40.0, 30.0, shape).round(), spacing=spacing)
    z, y, x = np.indices(shape)
    centre = (np.array(shape) - 1) / 2.0
    inside = ((z - centre[0]) * spacing[0]) ** 2 + ((y - centre[1]) * spacing[1]) ** 2 + (
        (x - centre[2]) * spacing[2]
    ) ** 2 <= 9.0**2
    return image, Mask.like(image, inside)


@pytest.fixture(scope="module")
def three_d() -> tuple[dict, dict]:
    image, mask = _case((14, 22, 22), (1.5, 1.0, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        return extract(image, mask), extract(image, mask, names="pyradiomics")


@pytest.fixture(scope="module")
def two_d() -> tuple[dict, dict]:
    image, mask = _case((1, 40, 44), (1.0, 0.5, 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        return extract(image, mask), extract(image, mask, names="pyradiomics")


@pytest.mark.parametrize(
    ("table", "fixture"), [(PYRADIOMICS_NAMES, "three_d"), (PYRADIOMICS_NAMES_2D, "two_d")]
)
def test_every_mapped_name(table, fixture, request):
    ibsi, renamed = request.getfixturevalue(fixture)
    assert len(set(table.values())) == len(table)  # unique
    assert all(name.startswith("original_") for name in table.values())
    missing = [key for key in table if key not in ibsi]
    assert not missing, f"mapped ids that extract does not return: {missing}"
    for key, name in table.items():
        assert name in renamed and key not in renamed
        assert renamed[name] == ibsi[key] or (np.isnan(renamed[name]) and np.isnan(ibsi[key]))
    assert len(renamed) == len(ibsi)  # nothing dropped, no two ids on one name
    unmapped = [key for key in ibsi if key not in table]
    assert all(renamed[key] == ibsi[key] or np.isnan(ibsi[key]) for key in unmapped)
    assert list(renamed.values()) == pytest.approx(list(ibsi.values()), nan_ok=True)


def test_unmapped_by_design(three_d):
    ibsi, renamed = three_d
    for key in (
        "stat_kurt",
        "morph_pca_maj_axis",
        "cm_sum_var_3D_avg",
        "cm_contrast_3D_comb",
        "dzm_sde_3D",
        "ngl_dc_energy_3D",
        "loc_peak_loc",
    ):
        assert key in renamed and renamed[key] == ibsi[key]
    assert "original_firstorder_Kurtosis" not in renamed


def test_both_dimensions_keep_names_unique():
    features = {
        "cm_contrast_3D_avg": 1.0,
        "cm_contrast_2D_avg": 2.0,
        "morph_2d_diam": 3.0,
        "morph_diam": 4.0,
    }
    out = to_pyradiomics(features)
    assert out == {
        "original_glcm_Contrast": 1.0,
        "cm_contrast_2D_avg": 2.0,
        "original_shape2D_MaximumDiameter": 3.0,
        "original_shape_Maximum3DDiameter": 4.0,
    }


def test_bad_style():
    assert rename({"stat_mean": 1.0}, "ibsi") == {"stat_mean": 1.0}
    with pytest.raises(ConfigError, match="names must be one of"):
        rename({}, "mirp")
    image, mask = _case((3, 8, 8), (1.0, 1.0, 1.0))
    with pytest.raises(ConfigError, match="names must be one of"):
        extract(image, mask, names="radiomics")


def test_cli_names(tmp_path, capsys):
    from medscale.cli.main import main
    from medscale.io import write_image

    image, mask = _case((8, 16, 16), (1.0, 1.0, 1.0))
    image_path, mask_path = tmp_path / "c1.nii.gz", tmp_path / "c1_mask.nii.gz"
    write_image(image, image_path)
    write_image(mask.with_array(mask.array.astype(np.uint8)), mask_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        assert main(["extract", str(image_path), str(mask_path), "--names", "pyradiomics"]) == 0
        row = json.loads(capsys.readouterr().out)
        assert main(["extract", str(image_path), str(mask_path)]) == 0
        plain = json.loads(capsys.readouterr().out)
    assert row["original_firstorder_Mean"] == plain["stat_mean"]
    assert row["original_glcm_Contrast"] == plain["cm_contrast_3D_avg"]
    assert "stat_mean" not in row and "stat_kurt" in row
    manifest = tmp_path / "cases.csv"
    manifest.write_text(f"case_id,image,mask\nc1,{image_path},{mask_path}\n")
    assert (
        main(
            [
                "extract",
                "--manifest",
                str(manifest),
                "--out",
                str(tmp_path / "run"),
                "--names",
                "pyradiomics",
            ]
        )
        == 2
    )
    assert "--names pyradiomics is for one case" in capsys.readouterr().err


def test_filter_prefixes_take_pyradiomics_image_types():
    features = {
        "log_s2_stat_mean": 1.0,
        "log_s1p5_cm_contrast_3D_avg": 2.0,
        "wavelet_coif1_lhl_stat_mean": 3.0,
        "wavelet_coif1_hhh_l2_szm_sze_3D": 4.0,
        "log_s2_stat_kurt": 5.0,  # unmapped feature: its id stays
        "log_s2_t3_stat_mean": 6.0,  # truncate is not pyradiomics's
        "log_s2_2d_stat_mean": 7.0,
        "wavelet_coif1_lhl_ri_stat_mean": 8.0,
        "wavelet_haar_lll_dec_stat_mean": 9.0,
        "laws_l5e5e5_stat_mean": 10.0,
    }
    assert to_pyradiomics(features) == {
        "log-sigma-2-0-mm-3D_firstorder_Mean": 1.0,
        "log-sigma-1-5-mm-3D_glcm_Contrast": 2.0,
        "wavelet-LHL_firstorder_Mean": 3.0,
        "wavelet2-HHH_glszm_SmallAreaEmphasis": 4.0,
        "log_s2_stat_kurt": 5.0,
        "log_s2_t3_stat_mean": 6.0,
        "log_s2_2d_stat_mean": 7.0,
        "wavelet_coif1_lhl_ri_stat_mean": 8.0,
        "wavelet_haar_lll_dec_stat_mean": 9.0,
        "laws_l5e5e5_stat_mean": 10.0,
    }


def test_two_wavelets_on_one_pyradiomics_name_keep_their_ids():
    features = {"wavelet_coif1_lhl_stat_mean": 1.0, "wavelet_db2_lhl_stat_mean": 2.0}
    assert to_pyradiomics(features) == features


def test_filtered_extract_under_pyradiomics_names():
    image, mask = _case((14, 22, 22), (1.0, 1.0, 1.0))
    settings = {
        "families": ["statistics"],
        "filters": {"specs": ["log:sigma_mm=2", "wavelet:name=coif1,band=LHL"]},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        ibsi = extract(image, mask, settings)
        named = extract(image, mask, settings, names="pyradiomics")
    assert named["log-sigma-2-0-mm-3D_firstorder_Mean"] == ibsi["log_s2_stat_mean"]
    assert named["wavelet-LHL_firstorder_90Percentile"] == ibsi["wavelet_coif1_lhl_stat_p90"]
    assert named["original_firstorder_Mean"] == ibsi["stat_mean"]
    assert named["wavelet_coif1_lhl_stat_kurt"] == ibsi["wavelet_coif1_lhl_stat_kurt"]
    assert len(named) == len(ibsi)
