"""Filtered-image features: the ``filters:`` settings block, column prefixes, the engine's
IBSI-2 order, the cropped working region, and the ``ibsi2-*`` / ``filters-default`` presets.

Every value is checked against an independent computation (scipy / PyWavelets / numpy on the
whole image), never against the IBSI-2 phase-2 reference values (kept back on purpose).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import pywt
from scipy import ndimage

from medscale import Image, Mask
from medscale.errors import ConfigError, MedscaleWarning
from medscale.features import extract
from medscale.features.chain import prepare
from medscale.features.extract import filter_margin, filtered_features
from medscale.features.filters.bank import column_prefix, filter_responses, support
from medscale.features.filters.spec import apply_filter
from medscale.features.filters.wavelet import decimated_mask
from medscale.features.settings import load_settings, preset_names

STATS = ("mean", "var", "skew", "kurt", "median", "min", "p10", "p90", "max", "iqr", "range")
STAT_IDS = [
    "stat_mean",
    "stat_var",
    "stat_skew",
    "stat_kurt",
    "stat_median",
    "stat_min",
    "stat_p10",
    "stat_p90",
    "stat_max",
    "stat_iqr",
    "stat_range",
    "stat_mad",
    "stat_rmad",
    "stat_medad",
    "stat_cov",
    "stat_qcod",
    "stat_energy",
    "stat_rms",
]


def numpy_stats(x: np.ndarray) -> dict[str, float]:
    """The 18 IBSI intensity statistics, written out with numpy (phase2_configs.md sec. 5)."""
    x = np.asarray(x, dtype=np.float64)
    mean, sd = x.mean(), x.std()
    p10, p25, p50, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    inner = x[(x >= p10) & (x <= p90)]
    return {
        "stat_mean": mean,
        "stat_var": x.var(),
        "stat_skew": np.mean((x - mean) ** 3) / sd**3,
        "stat_kurt": np.mean((x - mean) ** 4) / sd**4 - 3.0,
        "stat_median": p50,
        "stat_min": x.min(),
        "stat_p10": p10,
        "stat_p90": p90,
        "stat_max": x.max(),
        "stat_iqr": p75 - p25,
        "stat_range": x.max() - x.min(),
        "stat_mad": np.mean(np.abs(x - mean)),
        "stat_rmad": np.mean(np.abs(inner - inner.mean())),
        "stat_medad": np.mean(np.abs(x - p50)),
        "stat_cov": sd / mean,
        "stat_qcod": (p75 - p25) / (p75 + p25),
        "stat_energy": np.sum(x**2),
        "stat_rms": np.sqrt(np.mean(x**2)),
    }


def _quiet(image, mask, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        return extract(image, mask, settings)


@pytest.fixture
def blob_case() -> tuple[Image, Mask]:
    """A smooth random volume on 1 mm voxels with an off-centre ellipsoid ROI near one edge."""
    rng = np.random.default_rng(7)
    volume = ndimage.gaussian_filter(rng.normal(0.0, 200.0, (28, 40, 44)), 1.0) + 40.0
    z, y, x = np.ogrid[:28, :40, :44]
    roi = ((z - 10) / 6.0) ** 2 + ((y - 6) / 5.0) ** 2 + ((x - 30) / 9.0) ** 2 <= 1.0
    image = Image(volume, spacing=(1.0, 1.0, 1.0))
    return image, Mask.like(image, roi)


# -- settings ---------------------------------------------------------------------------------


def test_filters_block_is_parsed_and_round_trips():
    settings = load_settings(
        {
            "families": ["statistics"],
            "filters": {
                "original": False,
                "specs": ["log:sigma_mm=2,boundary=mirror", "log:sigma_mm=3"],
            },
        }
    )
    assert settings.filters.specs == ("log:sigma_mm=2,boundary=mirror", "log:sigma_mm=3")
    assert settings.filters.original is False
    assert load_settings(settings.to_dict()) == settings
    assert load_settings({}).filters.specs == ()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"spec": ["log:sigma_mm=1"]}, r"filters: unknown key 'spec'; did you mean 'specs'"),
        ({"specs": ["lgo:sigma_mm=1"]}, r"specs\[0\]: unknown filter 'lgo'"),
        ({"specs": ["log:sigma=1"]}, r"specs\[0\]: filter log: unknown parameter 'sigma'"),
        (
            {"specs": ["log:sigma_mm=-1"]},
            r"specs\[0\]: filter log: bad value for sigma_mm: must be > 0",
        ),
        ({"specs": ["wavelet:name=nowavelet,band=LLL"]}, r"unknown wavelet 'nowavelet'"),
        ({"specs": ["log:sigma_mm=1", "log:sigma_mm=1,boundary=mirror"]}, r"both name .* log_s1_"),
        ({"specs": "log:sigma_mm=1"}, r"filters.specs must be a list"),
        ({"original": False}, r"filters.original is false and no filter is listed"),
        ({"original": "yes"}, r"filters.original must be true or false"),
        (
            {"specs": ["mean"], "response_dtype": "f16"},
            r"response_dtype must be float32 or float64",
        ),
    ],
)
def test_bad_filters_block_is_an_error_naming_the_problem(blob_case, block, message):
    image, mask = blob_case
    with pytest.raises(ConfigError, match=message):
        extract(image, mask, {"families": ["statistics"], "filters": block})


def test_column_prefixes_follow_design_and_are_unique():
    assert column_prefix("log:sigma_mm=2") == "log_s2"
    assert column_prefix("log:sigma_mm=1.5,dims=2") == "log_s1p5_2d"
    assert column_prefix("wavelet:name=coif1,band=LHL") == "wavelet_coif1_lhl"
    assert (
        column_prefix("wavelet:name=db3,band=HHH,level=2,rot_inv=true") == "wavelet_db3_hhh_l2_ri"
    )
    assert column_prefix("laws:kernel=L5E5E5,rot_inv=true,energy_delta=7") == "laws_l5e5e5_ri_e7"
    assert column_prefix("mean:support=5,dims=2") == "mean_m5_2d"
    assert column_prefix("simoncelli:level=2") == "simoncelli_l2"
    assert column_prefix(
        "gabor:sigma_mm=5,wavelength_mm=2,gamma=1.5,rot_inv=true,theta_step_deg=22.5,"
        "planes=orthogonal"
    ) == ("gabor_s5_w2_g1p5_ri22p5_3p")
    prefixes = {
        column_prefix(spec) for name in preset_names() for spec in load_settings(name).filters.specs
    }
    assert len(prefixes) == 3 + 8 + 16  # filters-default, ibsi2-2a ... ibsi2-9b


# -- the engine ----------------------------------------------------------------------------------


def _independent_log(volume: np.ndarray, sigma_vox: float) -> np.ndarray:
    return ndimage.gaussian_laplace(volume, sigma_vox, mode="reflect", truncate=4.0)


def _log_per_slice(volume: np.ndarray, sigma_vox: float) -> np.ndarray:
    return np.stack(
        [ndimage.gaussian_laplace(s, sigma_vox, mode="reflect", truncate=4.0) for s in volume]
    )


def _independent_wavelet(volume: np.ndarray, name: str, band: str) -> np.ndarray:
    wavelet = pywt.Wavelet(name)
    out = volume
    for letter, axis in zip(band, (2, 1, 0), strict=True):  # letters read x, y, z
        taps = wavelet.dec_lo if letter == "L" else wavelet.dec_hi
        # phase2_configs.md 4.5: append one zero (odd length), centred true convolution
        odd = np.append(np.asarray(taps), 0.0)
        out = ndimage.convolve1d(out, odd, axis=axis, mode="reflect")
    return out


def test_filtered_columns_equal_an_independent_computation(blob_case):
    image, mask = blob_case
    specs = [
        "log:sigma_mm=2,boundary=mirror",
        "wavelet:name=coif1,band=LHL,boundary=mirror",
        "wavelet:name=coif1,band=HHH,boundary=mirror",
    ]
    block = {"specs": specs, "response_dtype": "float64"}
    found = _quiet(image, mask, {"families": ["statistics"], "filters": block})
    roi = mask.array.astype(bool)
    expected = {"": numpy_stats(image.array[roi])}
    expected["log_s2_"] = numpy_stats(_independent_log(image.array, 2.0)[roi])
    for band in ("lhl", "hhh"):
        response = _independent_wavelet(image.array, "coif1", band.upper())
        expected[f"wavelet_coif1_{band}_"] = numpy_stats(response[roi])
    columns = {f"{prefix}{key}" for prefix, values in expected.items() for key in values}
    assert columns == set(found)
    for prefix, values in expected.items():
        for key, value in values.items():
            assert found[prefix + key] == pytest.approx(value, rel=1e-9, abs=1e-9), prefix + key
    # float32 responses (the default): the same up to float32 rounding of the response
    single = _quiet(image, mask, {"families": ["statistics"], "filters": {"specs": specs}})
    for key in ("log_s2_stat_mean", "wavelet_coif1_hhh_stat_var", "wavelet_coif1_lhl_stat_p90"):
        assert single[key] == pytest.approx(found[key], rel=1e-4, abs=1e-4), key


def test_resegmentation_uses_the_original_intensities_and_original_can_be_dropped(blob_case):
    image, mask = blob_case
    settings = {
        "families": ["statistics"],
        "resegmentation": {"range": [0, 1e9]},
        "filters": {"original": False, "specs": ["mean:support=3,boundary=nearest"]},
    }
    found = _quiet(image, mask, settings)
    assert set(found) == {f"mean_m3_{key}" for key in STAT_IDS}
    kept = mask.array.astype(bool) & (image.array >= 0)
    response = ndimage.uniform_filter(image.array, 3, mode="nearest")
    assert found["mean_m3_stat_min"] == pytest.approx(response[kept].min(), rel=1e-5)
    assert found["mean_m3_stat_mean"] == pytest.approx(response[kept].mean(), rel=1e-5)


SPECS_FOR_CROP = [
    "log:sigma_mm=1.5,boundary=mirror",
    "log:sigma_mm=2,boundary=zero,dims=2",
    "mean:support=5,boundary=nearest",
    "laws:kernel=L5E5E5,rot_inv=true,energy_delta=3,boundary=mirror",
    "gabor:sigma_mm=2,wavelength_mm=3,gamma=1.5,rot_inv=true,theta_step_deg=45,"
    "planes=orthogonal,boundary=mirror",
    "wavelet:name=db3,band=HHL,level=2,rot_inv=true,boundary=mirror",
    "wavelet:name=coif1,band=LLL,boundary=mirror",
    "wavelet:name=coif1,band=HLH,boundary=mirror",
]


@pytest.mark.parametrize("interpolate", [False, True])
def test_cropping_to_roi_plus_support_gives_the_whole_image_result(blob_case, interpolate):
    image, mask = blob_case
    data = {"families": ["statistics", "glcm"], "filters": {"original": False, "specs": []}}
    if interpolate:
        data["interpolation"] = {"spacing_mm": 1.25, "image_interpolator": "cubic"}
    data["filters"]["specs"] = SPECS_FOR_CROP
    settings = load_settings(data)
    margin = filter_margin(settings, (1.25,) * 3 if interpolate else (1.0,) * 3)
    assert margin is not None
    cropped_roi = prepare(image, mask, settings, margin=margin)
    whole_roi = prepare(image, mask, settings, margin=None)
    assert cropped_roi.intensity.size < whole_roi.intensity.size  # it really is cropped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        cropped = filtered_features(cropped_roi, settings)
        whole = filtered_features(whole_roi, settings)
    assert set(cropped) == set(whole) and len(whole) > 8 * 18
    for key, value in whole.items():
        assert cropped[key] == pytest.approx(value, rel=1e-5, abs=1e-5, nan_ok=True), key


def test_periodic_and_fourier_filters_take_the_whole_grid():
    assert support("simoncelli:level=1", (1.0, 1.0, 1.0)) is None
    assert support("log:sigma_mm=1,boundary=periodic", (1.0, 1.0, 1.0)) is None
    assert support("log:sigma_mm=1,riesz=1-0-0", (1.0, 1.0, 1.0)) is None
    assert support("mean:support=5,dims=2", (3.0, 1.0, 1.0)) == (0, 2, 2)


def test_wavelet_bands_of_one_spec_family_share_passes_and_stay_float32(blob_case):
    image, _ = blob_case
    volume = image.array.astype(np.float32)
    bands = ["LLL", "HLH", "HHH"]
    specs = [f"wavelet:name=db2,band={b},boundary=mirror" for b in bands]
    got = dict(filter_responses(volume, (1.0, 1.0, 1.0), specs))
    assert set(got) == {f"wavelet_db2_{b.lower()}" for b in bands}
    for band in bands:
        response = got[f"wavelet_db2_{band.lower()}"]
        assert response.dtype == np.float32
        alone = apply_filter(image.array, (1.0, 1.0, 1.0), specs[bands.index(band)])
        np.testing.assert_allclose(response, alone, rtol=1e-4, atol=1e-3)


def test_anisotropic_log_is_opt_in_and_equals_ibsi_log_on_isotropic_voxels(blob_case):
    image, _ = blob_case
    iso = apply_filter(image.array, (1.0, 1.0, 1.0), "log:sigma_mm=2")
    same = apply_filter(image.array, (1.0, 1.0, 1.0), "log:sigma_mm=2,anisotropic=true")
    np.testing.assert_allclose(same, iso, rtol=1e-12, atol=1e-9)
    with pytest.raises(ConfigError, match="isotropic"):
        apply_filter(image.array, (3.0, 1.0, 1.0), "log:sigma_mm=2")
    thick = apply_filter(image.array, (3.0, 1.0, 1.0), "log:sigma_mm=2,anisotropic=true")
    # physical Laplacian of the Gaussian with 2 mm in every axis, times (1 mm)^2
    terms = [
        ndimage.gaussian_filter(
            image.array,
            (2 / 3, 2.0, 2.0),
            order=[2 if a == k else 0 for a in range(3)],
            mode="constant",
        )
        / (3.0 if k == 0 else 1.0) ** 2
        for k in range(3)
    ]
    np.testing.assert_allclose(thick, sum(terms), rtol=1e-10, atol=1e-9)


def test_filters_default_columns(blob_case):
    image, mask = blob_case
    found = _quiet(image, mask, "filters-default")
    prefixes = ["log_s1", "log_s2", "log_s3"] + [
        f"wavelet_coif1_{a}{b}{c}" for a in "lh" for b in "lh" for c in "lh"
    ]
    original = {k for k in found if not k.startswith(("log_", "wavelet_"))}
    assert "stat_mean" in original and "cm_joint_max_3D_avg" in original
    assert not any(k.startswith("morph_") for k in found)
    for prefix in prefixes:
        assert {f"{prefix}_{k}" for k in original} <= set(found), prefix
    assert len(found) == len(original) * (1 + len(prefixes))


# -- IBSI-2 phase-2 presets on the CT phantom, through the CLI -------------------------------


def _phantom(shared_data):
    from medscale.io import read_image

    folder = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    image = read_image(folder / "phantom.nii.gz")
    mask = read_image(folder / "mask.nii.gz")
    return folder, image, mask


def _simoncelli_2d(volume: np.ndarray, level: int) -> np.ndarray:
    """phase2_configs.md 4.6, per axial slice, written from the text."""
    _, ny, nx = volume.shape
    cy = (np.arange(ny) - (ny - 1) / 2) / ((ny - 1) / 2)
    cx = (np.arange(nx) - (nx - 1) / 2) / ((nx - 1) / 2)
    rho = np.sqrt(cy[:, None] ** 2 + cx[None, :] ** 2)
    rho_j = 2.0 ** -(level - 1)
    transfer = np.zeros_like(rho)
    inside = (rho >= rho_j / 4) & (rho <= rho_j) & (rho > 0)
    transfer[inside] = np.cos(np.pi / 2 * np.log2(2 * rho[inside] / rho_j))
    transfer = np.fft.ifftshift(transfer)
    return np.real(np.fft.ifft2(np.fft.fft2(volume, axes=(1, 2)) * transfer, axes=(1, 2)))


@pytest.mark.parametrize(
    ("preset", "prefix", "response"),
    [
        ("ibsi2-1a", "", lambda v: v),
        (
            "ibsi2-2a",
            "mean_m5_2d_",
            lambda v: ndimage.uniform_filter(v, (1, 5, 5), mode="reflect"),
        ),
        (
            "ibsi2-3a",
            "log_s1p5_2d_",
            lambda v: _log_per_slice(v, 1.5 / 0.977),
        ),
        ("ibsi2-8a", "simoncelli_l1_2d_", lambda v: _simoncelli_2d(v, 1)),
        ("ibsi2-9a", "simoncelli_l2_2d_", lambda v: _simoncelli_2d(v, 2)),
    ],
)
def test_cli_phase2_preset_writes_the_18_statistics(
    shared_data, tmp_path, preset, prefix, response
):
    from medscale.cli.main import main

    folder, image, mask = _phantom(shared_data)
    out = tmp_path / "f.csv"
    assert (
        main(
            [
                "extract",
                str(folder / "phantom.nii.gz"),
                str(folder / "mask.nii.gz"),
                "--config",
                preset,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    row = pd.read_csv(out).iloc[0]
    features = [c for c in row.index if c.endswith(tuple(STAT_IDS))]
    assert sorted(features) == sorted(prefix + key for key in STAT_IDS)
    assert image.spacing[1] == pytest.approx(0.977, abs=1e-6)
    volume = np.round(np.asarray(image.array, dtype=np.float64))
    roi = (np.asarray(mask.array) >= 0.5) & (volume >= -1000) & (volume <= 400)
    expected = numpy_stats(response(volume)[roi])
    for key, value in expected.items():
        assert row[prefix + key] == pytest.approx(value, rel=1e-4, abs=1e-3), key


@pytest.mark.parametrize("preset", [f"ibsi2-{n}{v}" for n in range(1, 10) for v in "ab"])
def test_every_phase2_preset_loads_with_the_phase2_chain(preset):
    settings = load_settings(preset)
    assert settings.families == ("statistics",)
    assert settings.resegmentation.range == (-1000.0, 400.0)
    assert settings.round_input
    if preset.endswith("b"):
        assert settings.interpolation.spacing_mm == (1.0, 1.0, 1.0)
        assert settings.interpolation.image_interpolator.value == "cubic"
        assert settings.interpolation.round_intensities
    else:
        assert settings.interpolation.spacing_mm is None
    assert len(settings.filters.specs) == (0 if preset.startswith("ibsi2-1") else 1)
    assert settings.filters.original == preset.startswith("ibsi2-1")


@pytest.mark.parametrize(
    ("preset", "prefix", "response"),
    [
        (
            "ibsi2-2b",
            "mean_m5_",
            lambda v: ndimage.uniform_filter(v, 5, mode="reflect"),
        ),
        (
            "ibsi2-3b",
            "log_s1p5_",
            lambda v: ndimage.gaussian_laplace(v, 1.5, mode="reflect", truncate=4.0),
        ),
    ],
)
def test_phase2_b_presets_filter_the_whole_interpolated_grid_equivalently(
    shared_data, preset, prefix, response
):
    """B: the 1 mm grid of the (IBSI-1-validated) chain, whole, filtered by scipy."""
    _, image, mask = _phantom(shared_data)
    settings = load_settings(preset)
    whole = prepare(image, mask, settings, margin=None)
    assert whole.intensity.shape == (180, 197, 200)  # phase2_configs.md: 200 x 197 x 180
    expected = numpy_stats(response(whole.intensity)[whole.intensity_mask])
    found = extract(image, mask, preset)
    assert sorted(found) == sorted(prefix + key for key in STAT_IDS)
    for key, value in expected.items():
        # rmad keeps the voxels with p10 <= x <= p90: the mean of integers has many values tied
        # with p10, and the running sums of scipy's uniform filter round them (1e-13) a little
        # differently on the cropped and the whole grid, which moves a few tied voxels
        rel = 1e-5 if key == "stat_rmad" else 1e-6
        assert found[prefix + key] == pytest.approx(value, rel=rel, abs=1e-6), key


def test_cli_bad_filter_in_settings_names_it(shared_data, tmp_path, capsys):
    from medscale.cli.main import main

    folder, _, _ = _phantom(shared_data)
    bad = tmp_path / "bad.yaml"
    bad.write_text("families: [statistics]\nfilters:\n  specs: ['log:sigma_mm=1,boundry=mirror']\n")
    args = ["extract", str(folder / "phantom.nii.gz"), str(folder / "mask.nii.gz")]
    assert main([*args, "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown parameter 'boundry'" in err and "Traceback" not in err


def test_decimated_wavelet_features_are_on_the_decimated_grid(blob_case):
    image, mask = blob_case
    spec = "wavelet:name=haar,band=HLH,level=2,boundary=mirror,decimated=true"
    block = {"specs": [spec], "original": False, "response_dtype": "float64"}
    found = _quiet(image, mask, {"families": ["statistics"], "filters": block})
    coeffs = pywt.wavedecn(image.array, "haar", mode="symmetric", level=2)
    response = coeffs[1]["".join("a" if c == "L" else "d" for c in "HLH"[::-1])]
    roi = decimated_mask(mask.array.astype(bool), name="haar", level=2)
    assert roi.shape == response.shape and 0 < roi.sum() < mask.array.sum()
    expected = numpy_stats(response[roi])
    assert set(found) == {f"wavelet_haar_hlh_l2_dec_{key}" for key in expected}
    for key, value in expected.items():
        got = found[f"wavelet_haar_hlh_l2_dec_{key}"]
        assert got == pytest.approx(value, rel=1e-9, abs=1e-9), key
