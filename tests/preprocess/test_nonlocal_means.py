"""Non-local means in mm: the definition (brute force), scikit-image, spacing, errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from skimage.restoration import denoise_nl_means

from medscale import Image
from medscale.errors import ConfigError, InputError
from medscale.preprocess import nlmeans
from medscale.preprocess.nonlocal_means import nl_means_voxels, radius_voxels


def _definition(
    array: np.ndarray, patch: tuple[int, int, int], search: tuple[int, int, int], h: float
) -> np.ndarray:
    """NLM straight from its definition: for each voxel, every patch of its search box."""
    pad = np.add(patch, search)
    padded = np.pad(array.astype(np.float64), [(p, p) for p in pad], mode="reflect")
    patches = sliding_window_view(padded, tuple(2 * p + 1 for p in patch))
    n_patch = float(np.prod([2 * p + 1 for p in patch]))
    out = np.empty(array.shape)
    for index in np.ndindex(array.shape):
        centre = np.add(index, search)  # patch index of the voxel (patches start at -patch)
        own = patches[tuple(centre)]
        box = tuple(slice(c - s, c + s + 1) for c, s in zip(centre, search, strict=True))
        candidates = patches[box]
        distance = ((candidates - own) ** 2).sum(axis=(-3, -2, -1)) / (n_patch * h * h)
        weights = np.exp(-distance)
        values = padded[
            tuple(
                slice(c - s + p, c + s + p + 1)
                for c, s, p in zip(centre, search, patch, strict=True)
            )
        ]
        out[index] = (weights * values).sum() / weights.sum()
    return out


def _noisy_step(shape: tuple[int, int, int], noise: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    clean = np.zeros(shape)
    clean[..., shape[2] // 2 :] = 100.0
    return clean, clean + rng.normal(0, noise, shape)


@pytest.mark.parametrize(
    ("patch", "search"),
    [
        ((1, 1, 1), (2, 2, 2)),
        ((0, 1, 2), (1, 2, 3)),
        ((0, 0, 0), (0, 1, 1)),
        ((1, 0, 1), (2, 0, 1)),
    ],
)
def test_kernel_equals_the_definition_with_per_axis_radii(patch, search) -> None:
    _, noisy = _noisy_step((5, 9, 8), 20.0, seed=2)
    out = nl_means_voxels(noisy, patch=patch, search=search, h=25.0)
    np.testing.assert_allclose(out, _definition(noisy, patch, search, 25.0), rtol=0, atol=1e-9)


def test_mm_radii_convert_per_axis_with_the_spacing() -> None:
    image = Image(np.zeros((4, 6, 6)), spacing=(2.5, 0.8, 0.8))
    assert radius_voxels(1.0, image, "nlmeans", "r") == (0, 1, 1)
    assert radius_voxels(2.5, image, "nlmeans", "r") == (1, 3, 3)
    assert radius_voxels((5.0, 1.6, 0.8), image, "nlmeans", "r") == (2, 2, 1)
    flat = Image(np.zeros((1, 6, 6)), spacing=(3.0, 0.5, 1.0))
    assert radius_voxels((1.0, 2.0), flat, "nlmeans", "r") == (0, 2, 2)


def test_anisotropic_image_equals_the_kernel_at_the_converted_voxel_sizes() -> None:
    _, noisy = _noisy_step((6, 14, 14), 20.0, seed=3)
    image = Image(noisy, spacing=(2.5, 0.8, 0.8))
    out = nlmeans(image, h=25.0, patch_radius_mm=1.0, search_radius_mm=2.5)
    expected = nl_means_voxels(noisy, patch=(0, 1, 1), search=(1, 3, 3), h=25.0)
    np.testing.assert_array_equal(out.array, expected)
    # the same voxels with isotropic spacing get a larger box along z: a different result
    iso = nlmeans(Image(noisy, spacing=(0.8, 0.8, 0.8)), h=25.0, search_radius_mm=2.5)
    assert np.abs(iso.array - out.array).max() > 1.0


def test_matches_scikit_image_called_with_the_converted_voxel_sizes() -> None:
    """Per-axis mm that convert to one voxel size on every axis: scikit-image's own call.

    scikit-image sums each patch distance over 2p (not 2p + 1) voxels per axis and uses an
    approximate exp with a cut-off, so the two agree to a few percent of the noise, not bit
    for bit (the definition itself is checked exactly above).
    """
    clean, noisy = _noisy_step((8, 32, 32), 20.0, seed=4)
    image = Image(noisy.astype(np.float32), spacing=(2.5, 0.8, 0.8))
    ours = nlmeans(image, h=20.0, patch_radius_mm=(2.5, 0.8, 0.8), search_radius_mm=(5, 1.6, 1.6))
    theirs = denoise_nl_means(
        noisy.astype(np.float32), h=20.0, patch_size=3, patch_distance=2, channel_axis=None
    )
    assert ours.array.dtype == np.float32
    assert np.abs(ours.array - theirs).mean() < 0.1 * 20.0  # noise sigma 20
    error_ours, error_theirs = (float(np.abs(a - clean).mean()) for a in (ours.array, theirs))
    assert error_ours == pytest.approx(error_theirs, rel=0.25)
    assert error_ours < 0.2 * float(np.abs(noisy - clean).mean())


def test_reduces_noise_and_keeps_the_edge_with_default_radii() -> None:
    clean, noisy = _noisy_step((4, 40, 40), 20.0, seed=1)
    out = nlmeans(Image(noisy * 2, spacing=(2.5, 0.7, 0.7))).array / 2
    assert np.abs(out - clean).mean() < 0.5 * np.abs(noisy - clean).mean()
    assert (out[:, :, 22] - out[:, :, 17]).mean() > 90


def test_2d_image_is_processed_in_plane() -> None:
    _, noisy = _noisy_step((1, 16, 16), 20.0, seed=5)
    out = nlmeans(Image(noisy, spacing=(0.5, 1.0, 1.0)), h=25.0, search_radius_mm=(2.0, 2.0))
    expected = nl_means_voxels(noisy, patch=(0, 1, 1), search=(0, 2, 2), h=25.0)
    np.testing.assert_array_equal(out.array, expected)


def test_constant_image_and_estimated_h() -> None:
    constant = Image(np.full((3, 8, 8), 7.0))
    np.testing.assert_array_equal(nlmeans(constant).array, constant.array)
    _, noisy = _noisy_step((4, 20, 20), 20.0, seed=6)
    out = nlmeans(Image(noisy, spacing=(1.0, 1.0, 1.0)), search_radius_mm=2.0).array
    assert out[..., 12:].std() < 0.6 * noisy[..., 12:].std()


@pytest.mark.parametrize("key", ["patch_radius_mm", "search_radius_mm"])
@pytest.mark.parametrize("value", [0.0, -1.0, (1.0, -1.0, 1.0), (2.0, 0.0, 2.0), float("nan")])
def test_bad_radius_names_the_step_and_parameter(key: str, value) -> None:
    with pytest.raises(ConfigError, match=rf"nlmeans: parameter '{key}' must be > 0 mm"):
        nlmeans(Image(np.zeros((3, 6, 6))), h=1.0, **{key: value})


def test_search_box_below_one_voxel_and_bad_h_are_errors() -> None:
    image = Image(np.zeros((3, 6, 6)), spacing=(2.5, 0.8, 0.8))
    with pytest.raises(ConfigError, match=r"'search_radius_mm' must be >= the smallest spacing"):
        nlmeans(image, h=1.0, search_radius_mm=0.5)
    for h in (0.0, -2.0):
        with pytest.raises(ConfigError, match=r"nlmeans: parameter 'h' must be > 0"):
            nlmeans(image, h=h)
    with pytest.raises(ConfigError, match=r"nlmeans: parameter 'search_radius_mm' must be one"):
        nlmeans(image, search_radius_mm=(1.0, 2.0))


def test_nan_image_is_refused() -> None:
    array = np.zeros((3, 6, 6))
    array[1, 2, 2] = np.nan
    with pytest.raises(InputError, match=r"nlmeans: .*1 NaN"):
        nlmeans(Image(array), h=1.0)


def test_chain_spec_with_per_axis_mm() -> None:
    from medscale.preprocess import Chain

    _, noisy = _noisy_step((3, 10, 10), 20.0, seed=7)
    image = Image(noisy, spacing=(2.0, 1.0, 1.0))
    chained = Chain.from_specs(["nlmeans:h=25,patch_radius_mm=2,1,1,search_radius_mm=2"])(image)
    direct = nlmeans(image, h=25.0, patch_radius_mm=(2.0, 1.0, 1.0), search_radius_mm=2.0)
    np.testing.assert_array_equal(chained.array, direct.array)
