"""The IBSI chain stages: settings, interpolation grid, re-segmentation, discretisation."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from medscale import Image, Mask
from medscale.errors import ConfigError, InputError
from medscale.features.diagnostics import image_diagnostics, roi_diagnostics
from medscale.features.discretisation import discretise, fixed_bin_number, fixed_bin_size
from medscale.features.interpolation import (
    aligned_grid,
    region_around,
    resample_image,
    resample_mask,
)
from medscale.features.resegmentation import outlier_mask, range_mask, resegment
from medscale.features.settings import Settings, load_settings, preset_names

# -- settings ---------------------------------------------------------------------------------


def test_presets_match_the_ibsi_configurations():
    assert set(preset_names()) >= {
        "default",
        "ibsi1-dig",
        "ibsi1-a",
        "ibsi1-b",
        "ibsi1-c",
        "ibsi1-d",
        "ibsi1-e",
    }
    a, b, c = load_settings("ibsi1-a"), load_settings("ibsi1-b"), load_settings("ibsi1-c")
    d, e = load_settings("ibsi1-d"), load_settings("ibsi1-e")
    assert a.interpolation.spacing_mm is None and a.texture.dimensions == ("2D", "2.5D")
    assert b.interpolation.spacing_mm == (None, 2.0, 2.0)
    assert c.interpolation.spacing_mm == (2.0, 2.0, 2.0)
    assert e.interpolation.image_interpolator.order == 3
    assert e.interpolation.mask_interpolator.order == 1
    assert (a.resegmentation.range, c.resegmentation.range) == ((-500, 400), (-1000, 400))
    assert d.resegmentation.range is None and d.resegmentation.outlier_sigma == 3
    assert (a.discretisation.method.value, a.discretisation.bin_width) == ("fixed_bin_size", 25)
    assert (b.discretisation.method.value, b.discretisation.n_bins) == ("fixed_bin_number", 32)
    assert (c.ivh.discretisation.value, c.ivh.bin_width) == ("fixed_bin_size", 2.5)
    assert (e.ivh.n_bins, e.ivh.use_resegmentation_range) == (1000, False)
    default = load_settings()
    assert default.interpolation.spacing_mm is None and default.texture.dimensions == ("3D",)
    assert default.discretisation.bin_width == 25 and len(default.families) == 11


def test_settings_round_trip_through_yaml(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(load_settings("ibsi1-e").to_dict()))
    assert load_settings(path) == load_settings("ibsi1-e")
    assert load_settings(str(path)) == load_settings("ibsi1-e")
    assert isinstance(load_settings({}), Settings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"discretisaton": {}}, "did you mean 'discretisation'"),
        ({"interpolation": {"spacing": 2}}, "did you mean 'spacing_mm'"),
        ({"discretisation": {"method": "fixed_bin_number", "n_bins": 0}}, "n_bins"),
        ({"discretisation": {"method": "fixed_bin_number", "n_bins": 1_000_000}}, "n_bins"),
        ({"discretisation": {"bin_width": -5}}, "bin_width"),
        ({"discretisation": {"method": "fixed_bin_number"}}, "needs n_bins"),
        ({"interpolation": {"image_interpolator": "sinc"}}, "nearest, linear, cubic"),
        ({"interpolation": {"spacing_mm": 0}}, "spacing_mm"),
        ({"resegmentation": {"range": [400, -500]}}, "above"),
        ({"families": ["glmc"]}, "did you mean 'glcm'"),
        ({"texture": {"dimensions": ["4D"]}}, "2D, 2.5D or 3D"),
    ],
)
def test_bad_settings_are_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(data)


def test_unknown_preset_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'ibsi1-c'"):
        load_settings("ibsi1-cc")
    with pytest.raises(ConfigError, match="not found"):
        load_settings("missing.yaml")


# -- interpolation ----------------------------------------------------------------------------


def test_aligned_grid_follows_the_ibsi_rule():
    grid = aligned_grid((60, 201, 204), (3.0, 0.9765625, 0.9765625), (2.0, 2.0, 2.0))
    assert grid.shape == (90, 99, 100)
    # grids share their centre: mean new position equals the old centre index
    for n_in, start, step, n_out in zip(
        (60, 201, 204), grid.start_index, grid.step, grid.shape, strict=True
    ):
        assert start + step * (n_out - 1) / 2 == pytest.approx((n_in - 1) / 2)
    kept = aligned_grid((60, 201, 204), (3.0, 0.977, 0.977), (None, 2.0, 2.0))
    assert kept.shape[0] == 60 and kept.start_index[0] == 0 and kept.step[0] == 1


@pytest.mark.parametrize("order", [1, 3])
def test_interpolation_reproduces_a_linear_ramp(order):
    z, y, x = np.mgrid[:32, :32, :32].astype(float)
    ramp = 3.0 * x - 2.0 * y + 0.5 * z
    image = Image(ramp, spacing=(2.0, 1.0, 1.0))
    grid = aligned_grid(image.shape, image.spacing, (1.5, 0.7, 0.7))
    result = resample_image(image, grid, order=order)
    positions = grid.input_positions((0, 0, 0), grid.shape)
    pz, py, px = np.meshgrid(*positions, indexing="ij")
    expected = 3.0 * px - 2.0 * py + 0.5 * pz
    # away from the border (the cubic prefilter feels the nearest-value padding ~0.27^d)
    inside = (np.minimum(np.minimum(pz, py), px) > 9) & (np.maximum(np.maximum(pz, py), px) < 22)
    np.testing.assert_allclose(result.array[inside], expected[inside], atol=1e-3)
    # world position of the new voxel 0 is that of its input position
    np.testing.assert_allclose(result.origin, image.index_to_world([p[0] for p in positions]))


def test_mask_partial_volume_threshold():
    array = np.zeros((1, 8, 8), bool)
    array[0, :, 3:5] = True  # a stripe two voxels wide, x = 3 and 4
    mask = Mask(array, spacing=(1.0, 1.0, 1.0))
    grid = aligned_grid(mask.shape, mask.spacing, (None, 2.0, 2.0))
    # new voxels sit at x = 0.5, 2.5, 4.5, 6.5: at 2.5 and 4.5 the stripe covers half -> 0.5
    assert grid.shape == (1, 4, 4) and grid.start_index[2] == 0.5
    result = resample_mask(mask, grid, order=1, threshold=0.5)
    assert result.array[0].tolist() == [[False, True, True, False]] * 4
    assert resample_mask(mask, grid, order=1, threshold=0.6).voxel_count == 0


@pytest.mark.parametrize("order", [1, 3])
def test_cropped_resampling_equals_whole_grid(sphere_case, order):
    image, mask = sphere_case
    grid = aligned_grid(image.shape, image.spacing, (1.3, 1.3, 1.3))
    whole = resample_image(image, grid, order=order)
    whole_mask = resample_mask(mask, grid)
    lower, upper = region_around(grid, *mask.bounding_box(), margin_mm=3.0)
    part = resample_image(image, grid, order=order, lower=lower, upper=upper)
    part_mask = resample_mask(mask, grid, lower=lower, upper=upper)
    region = tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))
    np.testing.assert_allclose(part.array, whole.array[region], atol=1e-4)
    assert part_mask.voxel_count == whole_mask.voxel_count
    np.testing.assert_allclose(part.origin, whole.index_to_world(lower))


# -- re-segmentation and discretisation ------------------------------------------------------


def test_range_and_outlier_resegmentation():
    values = np.array([-1000.0, -500.0, 0.0, 400.0, 401.0])
    roi = np.ones(5, bool)
    assert range_mask(values, roi, lower=-500, upper=400).tolist() == [0, 1, 1, 1, 0]
    assert range_mask(values, roi, lower=None, upper=0).tolist() == [1, 1, 1, 0, 0]
    data = np.concatenate([np.zeros(99), [100.0]])  # mean 1, SD 9.95: 100 is > 3 SD away
    kept = outlier_mask(data, np.ones(100, bool), sigma=3)
    assert kept.sum() == 99 and not kept[-1]
    both = resegment(data, np.ones(100, bool), value_range=(None, 50), outlier_sigma=3)
    assert both.sum() == 99
    assert roi.all()  # inputs untouched


def test_fixed_bin_number_and_size():
    values = np.array([10.0, 12.0, 15.0, 20.0])
    assert fixed_bin_number(values, n_bins=5).tolist() == [1, 2, 3, 5]
    assert fixed_bin_number(np.full(3, 7.0), n_bins=8).tolist() == [1, 1, 1]
    assert fixed_bin_size(values, bin_width=5).tolist() == [1, 1, 2, 3]
    assert fixed_bin_size(values, bin_width=5, lower_bound=0).tolist() == [3, 3, 4, 5]
    assert fixed_bin_size(
        np.array([-1000.0, -997.5, -997.4]), bin_width=2.5, lower_bound=-1000
    ).tolist() == [1, 2, 2]


def test_discretise_on_the_grid():
    intensity = np.array([[[1.0, 2.0], [3.0, 9.0]]])
    roi = np.array([[[True, True], [True, False]]])
    levels, n_levels = discretise(intensity, roi, method="fixed_bin_number", n_bins=2)
    assert levels.tolist() == [[[1, 2], [2, 0]]] and n_levels == 2
    levels, n_levels = discretise(
        intensity, roi, method="fixed_bin_size", bin_width=1, lower_bound=0.0
    )
    assert levels.tolist() == [[[2, 3], [4, 0]]] and n_levels == 4
    levels, n_levels = discretise(intensity, roi, method="none")
    assert n_levels == 3
    with pytest.raises(InputError, match="integer grey levels"):
        discretise(intensity + 0.5, roi, method="none")


def test_diagnostics_measures():
    intensity = np.arange(24.0).reshape(2, 3, 4)
    found = image_diagnostics(intensity, (3.0, 2.0, 1.0), stage="init")
    assert (found["img_dim_x_init_img"], found["img_dim_z_init_img"]) == (4, 2)
    assert (found["vox_dim_x_init_img"], found["vox_dim_z_init_img"]) == (1.0, 3.0)
    assert found["mean_int_init_img"] == 11.5 and found["max_int_init_img"] == 23
    morph = np.zeros((2, 3, 4), bool)
    morph[0, 1:3, 1:4] = True
    found = roi_diagnostics(intensity, morph, morph & (intensity > 6), stage="reseg")
    assert found["morph_mask_bb_dim_x_reseg_roi"] == 3
    assert found["morph_mask_bb_dim_z_reseg_roi"] == 1
    assert found["int_mask_vox_count_reseg_roi"] == 4
    assert found["morph_mask_vox_count_reseg_roi"] == 6
    assert found["int_mask_min_int_reseg_roi"] == 7 and found["int_mask_max_int_reseg_roi"] == 11


@given(
    st.lists(st.floats(-2000, 3000, allow_nan=False), min_size=1, max_size=200),
    st.integers(1, 64),
    st.floats(0.5, 100),
)
@settings(max_examples=60, deadline=None)
def test_discretisation_invariants(values, n_bins, bin_width):
    data = np.array(values)
    levels = fixed_bin_number(data, n_bins=n_bins)
    assert levels.min() >= 1 and levels.max() <= n_bins
    order = np.argsort(data, kind="stable")
    assert np.all(np.diff(levels[order]) >= 0)  # monotone in the intensity
    sized = fixed_bin_size(data, bin_width=bin_width, lower_bound=float(data.min()))
    assert sized.min() == 1 and np.all(np.diff(sized[order]) >= 0)
    assert sized.max() <= np.floor((data.max() - data.min()) / bin_width + 1e-6) + 1
