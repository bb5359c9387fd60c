"""`extract`, its input checks, `RadiomicsTransformer` and the extract / features commands."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, GeometryError, InputError, MaskError, MedscaleWarning
from medscale.features import extract
from medscale.features.transformer import RadiomicsTransformer, feature_names

FIRST_ORDER = {"families": ["statistics", "intensity_histogram", "intensity_volume_histogram"]}


def _quiet_extract(image, mask, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        return extract(image, mask, settings)


def test_statistics_are_those_of_the_roi(sphere_case):
    image, mask = sphere_case
    found = extract(image, mask, FIRST_ORDER)
    values = image.array[mask.array].astype(np.float64)
    assert found["stat_mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert found["stat_max"] == pytest.approx(values.max())
    assert all(key.startswith(("stat_", "ih_", "ivh_")) for key in found)


def test_default_returns_every_listed_feature(sphere_case):
    image, mask = sphere_case
    found = _quiet_extract(image, mask, "default")
    assert set(found) == set(feature_names("default"))
    assert len(found) > 100


def test_result_does_not_depend_on_the_field_of_view(sphere_case):
    """Cropping to the ROI must make a wider image give the same features.

    (Only without resampling: the IBSI grid is centred on the whole image, so a wider image
    moves the new voxel positions; `test_cropped_chain_equals_whole_grid_chain` covers that.)
    """
    image, mask = sphere_case
    pad = ((3, 5), (7, 2), (4, 6))
    wide = Image(
        np.pad(image.array, pad, constant_values=-800.0),
        spacing=image.spacing,
        origin=image.index_to_world([-3, -7, -4]),
        meta=image.meta,
    )
    wide_mask = Mask.like(wide, np.pad(mask.array, pad))
    narrow_found = _quiet_extract(image, mask, "default")
    wide_found = _quiet_extract(wide, wide_mask, "default")
    for key, value in narrow_found.items():
        assert wide_found[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key


@pytest.mark.parametrize("interpolator", ["linear", "cubic"])
def test_cropped_chain_equals_whole_grid_chain(sphere_case, interpolator):
    """diagnostics=True works on the whole resampled grid; features must not change."""
    image, mask = sphere_case
    base = {
        "interpolation": {
            "spacing_mm": [1.5, 1.2, 1.2],
            "image_interpolator": interpolator,
            "round_intensities": True,
        },
        "resegmentation": {"range": [-900, 200], "outlier_sigma": 3},
    }
    cropped = _quiet_extract(image, mask, base)
    whole = _quiet_extract(image, mask, {**base, "diagnostics": True})
    assert whole["img_dim_z_interp_img"] == np.ceil(32 * 1.0 / 1.5)
    assert whole["morph_mask_vox_count_interp_roi"] > 0
    for key, value in cropped.items():
        assert whole[key] == pytest.approx(value, rel=1e-6, abs=1e-6, nan_ok=True), key


def test_bad_inputs_are_clear_errors(sphere_case):
    image, mask = sphere_case
    with pytest.raises(MaskError, match="empty"):
        extract(image, Mask.like(image, np.zeros(image.shape, bool)), FIRST_ORDER)
    shifted = Mask(mask.array, mask.spacing, origin=(500.0, 500.0, 500.0))
    with pytest.raises(MaskError, match="outside the image"):
        extract(image, shifted, FIRST_ORDER)
    moved = Mask(mask.array, mask.spacing, origin=np.add(image.origin, 2.0))
    with pytest.raises(GeometryError, match="not on the image grid"):
        extract(image, moved, FIRST_ORDER)
    coarse = Mask(mask.array[::2], (2.0, 0.8, 0.8), image.origin)
    with pytest.raises(GeometryError, match="shape"):
        extract(image, coarse, FIRST_ORDER)
    broken = image.array.copy()
    broken[16, 16, 16] = np.nan
    with pytest.raises(InputError, match="1 NaN or infinite"):
        extract(image.with_array(broken), mask, FIRST_ORDER)
    with pytest.raises(MaskError, match="re-segmentation"):
        extract(image, mask, {**FIRST_ORDER, "resegmentation": {"range": [5000, 6000]}})
    with pytest.raises(ConfigError, match="grey levels"):
        extract(image, mask, {"discretisation": {"bin_width": 0.001}})
    with pytest.raises(ConfigError, match="unknown preset"):
        extract(image, mask, "no-such-preset")
    with pytest.raises(MaskError, match="vanishes"):
        tiny = np.zeros(image.shape, bool)
        tiny[10, 10, 10] = True
        extract(image, Mask.like(image, tiny), {"interpolation": {"spacing_mm": 5.0}})


def test_nan_outside_the_roi_region_is_harmless(sphere_case):
    image, mask = sphere_case
    wide = np.pad(image.array, 12, constant_values=-800.0)
    wide[0, 0, 0] = np.inf  # beyond the ROI box plus the local-intensity margin
    wide_image = Image(wide, spacing=image.spacing)
    found = extract(wide_image, Mask.like(wide_image, np.pad(mask.array, 12)), FIRST_ORDER)
    assert found["stat_mean"] == pytest.approx(image.array[mask.array].mean(dtype=np.float64))


# -- transformer and CLI ---------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path, sphere_case):
    from medscale.io import write_image

    image, mask = sphere_case
    rows = []
    for number, shift in enumerate((0, 3)):
        case_image = image.with_array(np.roll(image.array, shift, axis=2))
        case_mask = Mask.like(image, np.roll(mask.array, shift, axis=2))
        rows.append(
            {
                "case_id": f"c{number}",
                "image": str(write_image(case_image, tmp_path / f"c{number}.nrrd")),
                "mask": str(write_image(case_mask, tmp_path / f"c{number}_mask.nrrd")),
            }
        )
    return pd.DataFrame(rows)


def test_transformer_over_a_manifest(manifest):
    from sklearn.base import clone

    transformer = RadiomicsTransformer(config=FIRST_ORDER)
    assert transformer.fit(manifest) is transformer
    table = transformer.transform(manifest)
    assert list(table.columns) == list(transformer.get_feature_names_out())
    assert table.shape[0] == 2 and table.index.equals(manifest.index)
    # the second case is the first one shifted: same features
    np.testing.assert_allclose(table.iloc[0], table.iloc[1], rtol=1e-9)
    assert clone(transformer).get_params()["config"] == FIRST_ORDER
    with pytest.raises(InputError, match="lacks column"):
        transformer.transform(manifest.drop(columns="mask"))


def test_cli_extract_and_features(manifest, tmp_path, capsys):
    from medscale.cli.main import main

    image, mask = manifest.loc[0, "image"], manifest.loc[0, "mask"]
    assert main(["extract", image, mask, "--config", "ibsi1-c"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["case_id"] == "c0" and "stat_mean" in row and "int_mask_vox_count_reseg_roi" in row
    out = tmp_path / "one.csv"
    assert main(["extract", image, mask, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 1 and table.loc[0, "stat_mean"] == pytest.approx(
        _quiet_extract(
            __import__("medscale.io", fromlist=["read_image"]).read_image(image),
            __import__("medscale.io", fromlist=["read_mask"]).read_mask(mask),
            "default",
        )["stat_mean"]
    )
    assert main(["extract", image, mask, "--config", "ibsi1-x"]) == 1
    assert "unknown preset" in capsys.readouterr().err
    assert main(["extract"]) == 2
    assert main(["features", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["features"]
    assert {"name": "stat_mean", "family": "statistics"}.items() <= next(
        f for f in listed if f["name"] == "stat_mean"
    ).items()
    assert all(len(f["ibsi_code"]) == 4 for f in listed if f["family"] != "morphology_2d")
    not_ibsi = [f for f in listed if f["family"] == "morphology_2d"]
    assert len(not_ibsi) == 11 and all(
        f["ibsi_code"] == "" and not f["ibsi_standardised"] for f in not_ibsi
    )


def test_cli_extract_manifest_runs_through_the_engine(manifest, tmp_path, capsys):
    from medscale.cli.main import main

    cases = tmp_path / "cases.csv"
    manifest.to_csv(cases, index=False)
    run_dir = tmp_path / "run"
    assert (
        main(
            [
                "extract",
                "--manifest",
                str(cases),
                "--out",
                str(run_dir),
                "--config",
                "ibsi1-c",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    table = pd.read_parquet(run_dir / "features.parquet")
    assert sorted(table["case_id"]) == ["c0", "c1"]
    assert {"stat_mean", "morph_volume", "int_mask_vox_count_reseg_roi"} <= set(table.columns)
    assert (run_dir / "settings.yaml").is_file() and (run_dir / "summary.json").is_file()
    assert main(["extract", "--manifest", str(cases)]) == 2


def test_transformer_in_a_pipeline(manifest):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from medscale.io import read_image, read_mask, write_image

    # a second case with every intensity doubled: its mean is twice the first case's
    doubled = read_image(manifest.loc[0, "image"])
    doubled = doubled.with_array(doubled.array.astype(np.float64) * 2)
    cases = manifest.copy()
    cases.loc[1, "image"] = str(
        write_image(doubled, Path(manifest.loc[0, "image"]).with_name("x2.nrrd"))
    )
    cases.loc[1, "mask"] = manifest.loc[0, "mask"]

    pipeline = make_pipeline(RadiomicsTransformer(config=FIRST_ORDER), StandardScaler())
    scaled = pipeline.fit_transform(cases)
    names = list(pipeline.get_feature_names_out())
    assert scaled.shape == (2, len(feature_names(FIRST_ORDER))) and "stat_mean" in names
    raw = RadiomicsTransformer(config=FIRST_ORDER).fit_transform(cases)
    assert raw["stat_mean"].iloc[1] == pytest.approx(2 * raw["stat_mean"].iloc[0], rel=1e-9)
    # each named column holds that feature of that case, as `extract` computes it
    for number, row in cases.iterrows():
        direct = extract(read_image(row["image"]), read_mask(row["mask"]), FIRST_ORDER)
        for name in names:
            assert raw.loc[number, name] == pytest.approx(direct[name], rel=1e-9, nan_ok=True)
    # the scaler standardised the transformer's own table, column by column
    spread = raw.std(ddof=0).replace(0, 1)
    expected = (raw - raw.mean()) / spread
    np.testing.assert_allclose(np.asarray(scaled), expected.to_numpy(), atol=1e-9)
    assert list(np.asarray(scaled)[:, names.index("stat_mean")]) == pytest.approx([-1, 1])
