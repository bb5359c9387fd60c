"""`RadiomicsTransformer` picks ``default-2d`` for one-slice images, as `extract` does."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from medscale import Image, Mask
from medscale.errors import InputError, MedscaleWarning
from medscale.features import extract
from medscale.features.transformer import RadiomicsTransformer, feature_names
from medscale.io import write_image


def _case(n_slices: int, seed: int) -> tuple[Image, Mask]:
    """A noisy disc (one slice) or short cylinder of radius 6 px in a 20 x 20 grid, 1 mm."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:20, :20]
    disc = (y - 10) ** 2 + (x - 9.5) ** 2 <= 36
    inside = np.broadcast_to(disc, (n_slices, 20, 20))
    array = np.where(inside, 60.0, -100.0) + rng.normal(0, 20, inside.shape)
    image = Image(array.astype(np.float32), spacing=(1.0, 1.0, 1.0))
    return image, Mask.like(image, inside)


def _manifest(tmp_path, slices: list[int]) -> tuple[pd.DataFrame, list[tuple[Image, Mask]]]:
    rows, cases = [], []
    for number, n_slices in enumerate(slices):
        image, mask = _case(n_slices, seed=number)
        cases.append((image, mask))
        rows.append(
            {
                "case_id": f"c{number}",
                "image": str(write_image(image, tmp_path / f"c{number}.nii.gz")),
                "mask": str(write_image(mask, tmp_path / f"c{number}_mask.nii.gz")),
            }
        )
    return pd.DataFrame(rows), cases


def _quiet(function, *args):
    """Run `function` with undefined-feature warnings ignored, but fail on dropped features."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        warnings.filterwarnings("error", message=".*dropped", category=MedscaleWarning)
        return function(*args)


def _expected_row(case: tuple[Image, Mask], columns: list[str]) -> np.ndarray:
    found = _quiet(extract, *case, "default")
    assert set(found) <= set(columns)
    return np.array([found.get(name, np.nan) for name in columns], dtype=float)


def test_one_slice_manifest_gets_the_2d_columns(tmp_path):
    manifest, cases = _manifest(tmp_path, [1, 1])
    transformer = RadiomicsTransformer().fit(manifest)
    columns = list(transformer.get_feature_names_out())
    assert columns == feature_names("default-2d")
    assert "morph_2d_area_pixel" in columns and "cm_joint_max_2D_avg" in columns
    assert not any(name.startswith("morph_vol") or name.endswith("_3D") for name in columns)
    table = _quiet(transformer.transform, manifest)
    assert not table.isna().all().any()  # every column filled for these discs
    for row, case in zip(table.to_numpy(), cases, strict=True):
        np.testing.assert_allclose(row, _expected_row(case, columns), rtol=1e-12, equal_nan=True)


def test_mixed_manifest_gets_both_column_sets(tmp_path):
    manifest, cases = _manifest(tmp_path, [4, 1])
    transformer = RadiomicsTransformer(config="default").fit(manifest)
    columns = list(transformer.get_feature_names_out())
    volume_names, slice_names = feature_names("default"), feature_names("default-2d")
    assert columns[: len(volume_names)] == volume_names
    assert set(columns) == set(volume_names) | set(slice_names)
    table = _quiet(transformer.transform, manifest)
    for row, case in zip(table.to_numpy(), cases, strict=True):
        np.testing.assert_allclose(row, _expected_row(case, columns), rtol=1e-12, equal_nan=True)
    assert np.isnan(table.loc[0, "morph_2d_area_pixel"]) and np.isnan(table.loc[1, "morph_volume"])
    assert table.loc[1, "morph_2d_area_pixel"] == pytest.approx(np.count_nonzero(cases[1][1].array))


def test_volumes_and_other_presets_keep_their_columns(tmp_path):
    volumes, _ = _manifest(tmp_path, [3])
    assert list(RadiomicsTransformer().fit(volumes).feature_names_out_) == feature_names("default")
    slices, _ = _manifest(tmp_path, [1])
    fitted = RadiomicsTransformer(config="ibsi1-b").fit(slices)
    assert list(fitted.feature_names_out_) == feature_names("ibsi1-b")  # used as given


def test_unreadable_image_at_fit_names_the_case(tmp_path):
    manifest, _ = _manifest(tmp_path, [1])
    manifest.loc[0, "image"] = str(tmp_path / "missing.nii.gz")
    with pytest.raises(InputError, match="case c0: .*missing.nii.gz"):
        RadiomicsTransformer().fit(manifest)
