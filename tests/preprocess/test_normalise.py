"""Normalisation and N4 bias-field correction."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image
from medscale.errors import ConfigError
from medscale.preprocess import minmax, n4, percentile, zscore


def test_zscore_minmax_percentile_values() -> None:
    rng = np.random.default_rng(0)
    array = rng.normal(50, 10, (6, 20, 20)).astype(np.float32)
    z = zscore(Image(array)).array
    assert z.mean() == pytest.approx(0, abs=1e-5) and z.std() == pytest.approx(1, abs=1e-5)
    m = minmax(Image(array), out_min=-1.0, out_max=1.0).array
    assert m.min() == pytest.approx(-1) and m.max() == pytest.approx(1)
    p = percentile(Image(array), lower=5, upper=95).array
    assert p.min() == 0.0 and p.max() == 1.0
    low, high = np.percentile(array, [5, 95])
    inside = (array > low) & (array < high)
    np.testing.assert_allclose(p[inside], (array[inside] - low) / (high - low), atol=1e-5)
    np.testing.assert_array_equal(zscore(Image(np.full((2, 2), 7.0))).array, 0.0)


def test_percentile_bounds_are_checked() -> None:
    with pytest.raises(ConfigError, match="percentile: parameter 'upper'"):
        percentile(Image(np.zeros((2, 2))), lower=50, upper=40)


def test_n4_removes_a_smooth_multiplicative_field() -> None:
    rng = np.random.default_rng(2)
    zz, yy, xx = np.mgrid[:16, :48, :48].astype(np.float64)
    r = np.sqrt(((zz - 8) * 2) ** 2 + (yy - 24) ** 2 + (xx - 24) ** 2)
    tissue = np.where(r < 20, 500.0, 0.0) + np.where(r < 8, 300.0, 0.0)
    field = np.exp(0.4 * (xx - 24) / 24 + 0.2 * (yy - 24) / 24)
    corrupted = tissue * field + rng.normal(0, 5, tissue.shape) + 20
    image = Image(corrupted.astype(np.float32), spacing=(2.0, 1.0, 1.0))
    out = n4(image, shrink=2, iterations=30, levels=3).array
    ring = (r < 18) & (r > 10)

    def cv(values: np.ndarray) -> float:
        return float(values.std() / values.mean())

    assert cv(corrupted[ring]) > 0.15
    assert cv(out[ring]) < 0.5 * cv(corrupted[ring])
