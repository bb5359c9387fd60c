"""Windowing, histogram equalisation, CLAHE and unsharp masking."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image
from medscale.errors import ConfigError
from medscale.preprocess import WINDOW_PRESETS, clahe, equalize, unsharp, window

HU = np.linspace(-2000, 3000, 5 * 6 * 7).reshape(5, 6, 7).astype(np.int16)


@pytest.mark.parametrize("preset", sorted(WINDOW_PRESETS))
def test_window_bounds_for_every_preset(preset: str) -> None:
    level, width = WINDOW_PRESETS[preset]
    out = window(Image(HU), preset=preset).array
    assert out.min() == pytest.approx(level - width / 2)
    assert out.max() == pytest.approx(level + width / 2)
    inside = (HU > level - width / 2) & (HU < level + width / 2)
    np.testing.assert_array_equal(out[inside], HU[inside])


def test_window_level_width_override_and_unit_output() -> None:
    out = window(Image(HU), preset="lung", level=40.0, width=80.0, output="unit").array
    assert out.min() == 0.0 and out.max() == 1.0
    expected = np.clip((HU.astype(np.float64) - 0.0) / 80.0, 0, 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    grey = window(Image(HU), level=40.0, width=80.0, output="uint8").array
    assert grey.dtype == np.uint8 and grey.max() == 255 and grey.min() == 0


@pytest.mark.parametrize("width", [0.0, -10.0])
def test_window_width_must_be_positive(width: float) -> None:
    with pytest.raises(ConfigError, match=r"window: parameter 'width' must be > 0"):
        window(Image(HU), level=40.0, width=width)


def test_window_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="lung"):
        window(Image(HU), preset="lungs")


def test_equalize_is_monotone_and_flattens_the_histogram() -> None:
    rng = np.random.default_rng(0)
    array = rng.exponential(100.0, (8, 32, 32)).astype(np.float32)
    out = equalize(Image(array)).array
    order = np.argsort(array, axis=None)
    assert np.all(np.diff(out.ravel()[order]) >= -1e-7)
    counts, _ = np.histogram(out, bins=4, range=(0, 1))
    np.testing.assert_allclose(counts / counts.sum(), 0.25, atol=0.03)


def test_clahe_range_and_local_contrast_in_3d() -> None:
    rng = np.random.default_rng(1)
    array = np.zeros((16, 32, 32), dtype=np.float32)
    array[:, :, 16:] = 1000
    array += rng.normal(0, 5, array.shape).astype(np.float32)
    image = Image(array, spacing=(2.0, 1.0, 1.0))
    out = clahe(image, kernel_mm=8.0).array
    assert out.shape == array.shape and 0.0 <= out.min() and out.max() <= 1.0
    # the faint noise inside each half is stretched: more spread than after plain min-max
    spread_minmax = (array[:, :, :16] / 1000).std()
    assert out[:, :, :16].std() > 1.5 * spread_minmax
    with pytest.raises(ConfigError, match="clahe: parameter 'clip_limit'"):
        clahe(image, clip_limit=0.0)


def test_unsharp_keeps_linear_ramps_and_sharpens_steps() -> None:
    z, y, x = np.mgrid[:10, :20, :20].astype(np.float64)
    ramp = 3 * z + 2 * y - x
    out = unsharp(Image(ramp), sigma_mm=1.0, amount=2.0).array
    np.testing.assert_allclose(out[4:-4, 4:-4, 4:-4], ramp[4:-4, 4:-4, 4:-4], atol=1e-9)
    step = np.zeros((1, 10, 20))
    step[..., 10:] = 100
    sharp = unsharp(Image(step), sigma_mm=1.0, amount=1.0).array
    assert sharp.max() > 100 and sharp.min() < 0  # overshoot on both sides of the edge
    np.testing.assert_allclose(unsharp(Image(step), amount=0.0).array, step)
