"""From U-Net probabilities to a mask: hysteresis, minimum size and component choice on tiny
hand-made probability maps whose answer is known (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest

from medscale.errors import ConfigError
from medscale.segment.unet_select import select_components


def _blobs() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Four separate blobs on a (4, 20, 30) grid, background p = 0.05.

    big: 120 voxels at 0.6, one of them 0.999 (most voxels);
    dense: 100 voxels at 0.995 (largest summed probability, 99.5 against 72.4);
    peaked: 30 voxels at 0.6, one of them 0.99999 (highest peak);
    weak: 27 voxels at 0.9 (none above 0.99: dropped by hysteresis).
    """
    prob = np.full((4, 20, 30), 0.05, dtype=np.float32)
    parts = {name: np.zeros(prob.shape, bool) for name in ("big", "dense", "peaked", "weak")}
    parts["big"][:, 2:7, 2:8] = True
    parts["dense"][1:3, 10:15, 10:20] = True
    parts["peaked"][0:2, 12:15, 24:29] = True
    parts["weak"][1:4, 2:5, 22:25] = True
    for name, value in (("big", 0.6), ("dense", 0.995), ("peaked", 0.6), ("weak", 0.9)):
        prob[parts[name]] = value
    prob[0, 4, 4] = 0.999
    prob[1, 13, 26] = 0.99999
    assert [int(v.sum()) for v in parts.values()] == [120, 100, 30, 27]
    return prob, parts


def test_hysteresis_drops_components_without_a_confident_voxel() -> None:
    prob, parts = _blobs()
    confident = parts["big"] | parts["dense"] | parts["peaked"]
    kept = select_components(prob, threshold=0.5, core_threshold=0.99, select="all")
    np.testing.assert_array_equal(kept, confident)
    plain = select_components(prob, threshold=0.5, core_threshold=0.5, select="all")
    np.testing.assert_array_equal(plain, confident | parts["weak"])
    # the low threshold sets the extent: at 0.7 big and peaked shrink to their core voxel
    high = select_components(prob, threshold=0.7, core_threshold=0.99, select="all")
    assert high.sum() == 100 + 1 + 1


def test_sum_max_and_size_choose_different_components() -> None:
    prob, parts = _blobs()
    np.testing.assert_array_equal(select_components(prob, select="size"), parts["big"])
    np.testing.assert_array_equal(select_components(prob, select="sum"), parts["dense"])
    np.testing.assert_array_equal(select_components(prob, select="max"), parts["peaked"])
    # hysteresis comes first: with a core threshold above dense's 0.995, sum picks big
    np.testing.assert_array_equal(
        select_components(prob, select="sum", core_threshold=0.998), parts["big"]
    )


def test_minimum_size_in_mm3_uses_the_spacing() -> None:
    prob, parts = _blobs()
    spacing = (2.0, 0.5, 0.5)  # 0.5 mm³ per voxel: big 60, dense 50, peaked 15 mm³
    keep = select_components(prob, min_size_mm3=15.0, select="all", spacing=spacing)
    np.testing.assert_array_equal(keep, parts["big"] | parts["dense"] | parts["peaked"])
    two = select_components(prob, min_size_mm3=15.5, select="all", spacing=spacing)
    np.testing.assert_array_equal(two, parts["big"] | parts["dense"])
    # the size rule comes before the choice: without peaked, max picks big (0.999)
    np.testing.assert_array_equal(
        select_components(prob, min_size_mm3=15.5, select="max", spacing=spacing), parts["big"]
    )
    nothing = select_components(prob, min_size_mm3=60.5, spacing=spacing)
    assert not nothing.any()


def test_seed_keeps_its_component_or_the_nearest() -> None:
    prob, parts = _blobs()
    at_seed = select_components(prob, select="sum", seed=(1, 12, 12))
    np.testing.assert_array_equal(at_seed, parts["dense"])
    # a seed in the weak blob (dropped by hysteresis): the nearest kept one is dense (8.1 mm
    # away; peaked 9.1, big 16); with a y spacing of 4 mm big is (16 mm; dense 28.3, peaked 36)
    nearest = select_components(prob, seed=(2, 3, 23), spacing=(1.0, 1.0, 1.0))
    np.testing.assert_array_equal(nearest, parts["dense"])
    anisotropic = select_components(prob, seed=(2, 3, 23), spacing=(1.0, 4.0, 1.0))
    np.testing.assert_array_equal(anisotropic, parts["big"])
    nearest_big = select_components(prob, seed=(2, 3, 9), spacing=(1.0, 1.0, 1.0))
    np.testing.assert_array_equal(nearest_big, parts["big"])


def test_empty_results_and_bad_parameters(caplog: pytest.LogCaptureFixture) -> None:
    prob = np.full((2, 5, 5), 0.2, dtype=np.float32)
    assert not select_components(prob).any()
    prob[0, 2, 2] = 0.8  # above threshold, no confident voxel
    with caplog.at_level("WARNING", logger="medscale.segment.unet_select"):
        assert not select_components(prob).any()
    assert "passes core_threshold 0.990" in caplog.text
    assert "highest probability 0.800" in caplog.text
    assert select_components(prob, core_threshold=0.5).sum() == 1
    with pytest.raises(ConfigError, match="unet: parameter 'core_threshold'"):
        select_components(prob, threshold=0.6, core_threshold=0.5)
    with pytest.raises(ConfigError, match="unet: parameter 'threshold'"):
        select_components(prob, threshold=1.0)
    with pytest.raises(ConfigError, match="'select' must be one of all, sum, max, size"):
        select_components(prob, select="biggest")
    with pytest.raises(ConfigError, match="min_size_mm3"):
        select_components(prob, min_size_mm3=-1.0)
