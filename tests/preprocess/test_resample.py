"""Resampling: linear ramps stay linear, geometry kept, masks stay masks."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError
from medscale.preprocess import resample

DIRECTION = ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0))


def _ramp_image() -> Image:
    spacing = (3.0, 0.8, 0.6)
    z, y, x = np.mgrid[:12, :30, :40].astype(np.float64)
    values = 2.0 * z * spacing[0] - 1.5 * y * spacing[1] + 0.5 * x * spacing[2] + 10
    return Image(values, spacing=spacing, origin=(10.0, -5.0, 3.0), direction=DIRECTION)


@pytest.mark.parametrize("interpolator", ["linear", "bspline"])
def test_linear_ramp_stays_linear(interpolator: str) -> None:
    image = _ramp_image()
    out = resample(image, spacing_mm=(1.0, 1.1, 0.9), interpolator=interpolator)
    assert out.spacing == (1.0, 1.1, 0.9)
    assert out.origin == image.origin and out.direction == image.direction
    assert out.shape == (36, 22, 27)
    z, y, x = np.mgrid[: out.shape[0], : out.shape[1], : out.shape[2]].astype(np.float64)
    expected = 2.0 * z * 1.0 - 1.5 * y * 1.1 + 0.5 * x * 0.9 + 10
    # interior only: beyond the last old voxel centre values are extrapolated as constants
    # and the cubic B-spline needs two old voxels on each side (mirror boundary)
    inner = (slice(2, 30), slice(2, 19), slice(2, 24))
    if interpolator == "bspline":
        inner = (slice(7, 27), slice(3, 18), slice(3, 23))
    tolerance = 1e-4 if interpolator == "linear" else 0.1
    np.testing.assert_allclose(out.array[inner], expected[inner], atol=tolerance)
    # same world points give the same values
    world = out.index_to_world([[10, 5, 7]])
    k, j, i = image.world_to_index(world)[0]
    value = 2.0 * k * 3.0 - 1.5 * j * 0.8 + 0.5 * i * 0.6 + 10
    assert out.array[10, 5, 7] == pytest.approx(value, abs=tolerance)


def test_nearest_keeps_integer_labels_and_masks_stay_boolean() -> None:
    labels = Image(np.arange(4 * 6 * 6).reshape(4, 6, 6).astype(np.int16), spacing=(2, 2, 2))
    out = resample(labels, spacing_mm=1.0, interpolator="nearest")
    assert out.dtype == np.int16 and set(np.unique(out.array)) <= set(np.unique(labels.array))
    mask = Mask(np.zeros((4, 6, 6), bool), spacing=(2, 2, 2))
    out_mask = resample(mask, spacing_mm=(1.0, 1.0, 1.0), interpolator="linear")
    assert isinstance(out_mask, Mask) and out_mask.dtype == bool and out_mask.shape == (8, 12, 12)


def test_2d_image_keeps_its_single_slice() -> None:
    image = Image(np.ones((1, 20, 30), dtype=np.float32), spacing=(5.0, 0.5, 0.5))
    out = resample(image, spacing_mm=(1.0, 1.0))
    assert out.shape == (1, 10, 15) and out.spacing == (5.0, 1.0, 1.0)
    np.testing.assert_allclose(out.array, 1.0)


def test_bad_spacing_and_interpolator() -> None:
    image = _ramp_image()
    with pytest.raises(ConfigError, match="resample: parameter 'spacing_mm'"):
        resample(image, spacing_mm=(1.0, 0.0, 1.0))
    with pytest.raises(ConfigError, match="resample: parameter 'interpolator'"):
        resample(image, interpolator="cubic")
