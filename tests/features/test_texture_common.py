"""Tests of medscale.features.texture_common: the shared matrix features and input handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medscale.errors import ConfigError, InputError, MedscaleWarning
from medscale.features import texture_common as tc


def test_matrix_features_match_direct_formulas() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.integers(0, 4, size=(5, 6)).astype(float)
    n_v = 100.0
    got = {k: v[0] for k, v in tc.matrix_features(matrix[None], np.array([n_v])).items()}
    i, j = np.meshgrid(np.arange(1, 6), np.arange(1, 7), indexing="ij")
    n_s = matrix.sum()
    p = matrix / n_s
    assert got["small_j"] == pytest.approx((matrix / j**2).sum() / n_s)
    assert got["large_j_low_grey"] == pytest.approx((matrix * j**2 / i**2).sum() / n_s)
    assert got["glnu"] == pytest.approx((matrix.sum(axis=1) ** 2).sum() / n_s)
    assert got["jnu_norm"] == pytest.approx((matrix.sum(axis=0) ** 2).sum() / n_s**2)
    assert got["perc"] == pytest.approx(n_s / n_v)
    mu_j = (j * p).sum()
    assert got["j_var"] == pytest.approx(((j - mu_j) ** 2 * p).sum())
    assert got["j_entr"] == pytest.approx(-(p[p > 0] * np.log2(p[p > 0])).sum())


def test_empty_matrix_gives_nan() -> None:
    out = tc.matrix_features(np.zeros((1, 2, 2)), np.array([0.0]))
    assert all(np.isnan(v[0]) for v in out.values())


def test_directions_are_unique_and_positive() -> None:
    assert len(set(tc.DIRECTIONS_3D)) == 13 and len(tc.DIRECTIONS_2D) == 4
    for d in tc.DIRECTIONS_3D:
        assert tuple(-c for c in d) not in tc.DIRECTIONS_3D
        assert tc.flat_offset(d, (4, 5, 6)) > 0


def test_prepare_crops_pads_and_checks() -> None:
    levels = np.zeros((6, 7, 8), dtype=np.int16)
    roi = np.zeros((6, 7, 8), dtype=bool)
    roi[2:4, 3, 1:5] = True
    levels[roi] = 2
    padded = tc.prepare(levels, roi, 2, margin=2)
    assert padded.shape == (2 + 4, 1 + 4, 4 + 4) and padded.dtype == np.int64
    assert (padded > 0).sum() == roi.sum() and padded[0].sum() == 0
    with pytest.raises(InputError, match="1..1"):
        tc.prepare(levels, roi, 1)
    with pytest.raises(InputError, match="integers"):
        tc.prepare(levels.astype(float), roi, 2)
    with pytest.warns(MedscaleWarning, match="empty"):
        assert tc.prepare(levels, np.zeros_like(roi), 2) is None


def test_parse_dimensions() -> None:
    assert tc.parse_dimensions("2.5D") == ("2.5D",)
    assert tc.parse_dimensions(["2D", "3D"]) == ("2D", "3D")
    with pytest.raises(ConfigError, match="2.5D"):
        tc.parse_dimensions("25D")


def test_label_zones_keeps_slices_apart() -> None:
    padded = np.zeros((4, 4, 4), dtype=np.int64)
    padded[1:3, 1:3, 1:3] = 1
    _, n_2d = tc.label_zones(padded, dimension="2D")
    _, n_3d = tc.label_zones(padded, dimension="3D")
    assert (n_2d, n_3d) == (2, 1)


@pytest.mark.parametrize("family", ["glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"])
def test_rotation_and_flip_invariance(family: str) -> None:
    """IBSI texture matrices are rotation invariant: an in-plane quarter turn maps the 4 (13)
    directions and the neighbourhoods onto themselves, as does a flip along z."""
    import importlib

    module = importlib.import_module(f"medscale.features.{family}")
    rng = np.random.default_rng(11)
    levels = rng.integers(1, 4, size=(4, 6, 5))
    roi = rng.random(levels.shape) < 0.8
    dims = ("2D", "2.5D", "3D")
    base = module.compute(levels, roi, 3, dimension=dims)
    for transform in (
        lambda a: np.rot90(a, axes=(1, 2)),
        lambda a: a[::-1],
        lambda a: a[:, :, ::-1],
    ):
        moved = module.compute(transform(levels), transform(roi), 3, dimension=dims)
        for key, value in base.items():
            assert moved[key] == pytest.approx(value, rel=1e-10, abs=1e-12), key


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 10_000),
    n_levels=st.integers(1, 4),
)
def test_matrices_account_for_every_voxel(shape, seed, n_levels) -> None:
    """Runs, zones and dependences of any small ROI cover each ROI voxel exactly once."""
    from medscale.features import glrlm, glszm, ngldm

    rng = np.random.default_rng(seed)
    levels = rng.integers(1, n_levels + 1, size=shape)
    roi = rng.random(shape) < 0.75
    if not roi.any():
        roi.flat[0] = True
    padded = tc.prepare(levels, roi, n_levels)
    n_voxels = int(roi.sum())
    runs, _, lengths = glrlm.run_matrices(padded, tc.DIRECTIONS_3D, per_slice=False)
    assert ((runs[0] * lengths).sum(axis=(1, 2)) == n_voxels).all()
    for dimension in ("2D", "3D"):
        zones, counted, _, sizes = glszm.size_zone_matrices(padded, dimension=dimension)
        assert (zones * sizes).sum() == n_voxels == counted.sum()
    dependence, _ = ngldm.dependence_matrices(padded, in_plane=False)
    assert dependence.sum() == n_voxels


def test_extract_prepares_the_texture_input_once_and_shares_it(monkeypatch):
    """The six texture families read one prepared array per ROI (passed explicitly), and give
    what each computes from the levels and mask on its own."""
    from medscale import Image, Mask
    from medscale.features import extract, family_inputs, glcm, gldzm, glrlm, glszm, ngldm, ngtdm
    from medscale.features.chain import prepare
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings import load_settings

    rng = np.random.default_rng(3)
    image = Image(rng.normal(100.0, 30.0, size=(6, 9, 9)), spacing=(2.0, 1.0, 1.0))
    inside = np.zeros(image.shape, bool)
    inside[1:5, 2:8, 1:7] = True
    mask = Mask.like(image, inside)
    settings = load_settings({"families": ["glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"]})
    calls = []
    real_prepare = family_inputs.tc.prepare

    def counting_prepare(*args, **kwargs):
        calls.append(args)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(family_inputs.tc, "prepare", counting_prepare)
    found = extract(image, mask, settings)
    assert len(calls) == 1
    monkeypatch.undo()
    box = FamilyInputs(prepare(image, mask, settings), settings).box
    standalone = {}
    for module in (glcm, glrlm, glszm, ngtdm, ngldm):
        standalone |= module.compute(box.levels, box.intensity_mask, box.n_levels, dimension="3D")
    standalone |= gldzm.compute(
        box.levels, box.intensity_mask, box.n_levels, dimension="3D", morph_roi=box.morph_mask
    )
    assert found.keys() == standalone.keys()
    np.testing.assert_array_equal(list(found.values()), [standalone[k] for k in found])
