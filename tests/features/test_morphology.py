"""Morphology: IBSI digital phantom, analytic shapes, exact Moran / Geary, undefined cases."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from ibsi_reference import matches, reference_rows, reference_values
from scipy import ndimage
from scipy.special import eval_legendre

from medscale.errors import InputError, MedscaleWarning
from medscale.features import morphology
from medscale.features._autocorrelation import moran_geary, moran_geary_pairs
from medscale.features._mesh import ellipsoid_area, roi_mesh
from medscale.io import read_image, read_mask


@pytest.fixture(scope="module")
def dig(shared_data: Path) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    folder = shared_data / "ibsi1" / "digital_phantom"
    image = read_image(folder / "phantom.nii.gz")
    mask = read_mask(folder / "mask.nii.gz").array.astype(bool)
    out = morphology.compute(
        mask, image.spacing, intensity=image.array.astype(np.float64), intensity_mask=mask
    )
    return out, reference_values(shared_data, "dig")


@pytest.mark.parametrize("name", [info.name for info in morphology.FEATURES])
def test_digital_phantom(dig, name: str) -> None:
    computed, reference = dig
    value, tolerance = reference[name]
    assert matches(computed[name], value, tolerance), (name, computed[name], value, tolerance)


def ball(radius_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    shape = [int(2 * radius_mm / s) + 6 for s in spacing]
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    z, y, x = np.meshgrid(*axes, indexing="ij", sparse=True)
    return (z**2 + y**2 + x**2) <= radius_mm**2


def test_sphere_volume_area_and_shape() -> None:
    radius, spacing = 12.0, (1.0, 0.8, 0.8)
    mask = ball(radius, spacing)
    image = np.random.default_rng(0).normal(100.0, 5.0, mask.shape)
    out = morphology.compute(mask, spacing, intensity=image, intensity_mask=mask)
    assert out["morph_volume"] == pytest.approx(4 / 3 * math.pi * radius**3, rel=0.02)
    assert out["morph_vol_approx"] == pytest.approx(4 / 3 * math.pi * radius**3, rel=0.02)
    # marching cubes on a binary mask has a staircase surface: its area exceeds the smooth
    # sphere's by 8-9 % at any resolution (radius 10-40 voxels: 8.5-9.3 %); so sphericity of
    # a voxelised ball is about 0.92, not 1
    assert 1.05 < out["morph_area_mesh"] / (4 * math.pi * radius**2) < 1.11
    assert 0.89 < out["morph_sphericity"] < 0.95
    assert out["morph_diam"] == pytest.approx(2 * radius, rel=0.05)
    assert out["morph_pca_elongation"] == pytest.approx(1.0, abs=0.02)
    assert out["morph_pca_flatness"] == pytest.approx(1.0, abs=0.02)
    # PCA of a uniform ball: variance R^2 / 5 per axis -> axis length 4 R / sqrt(5)
    assert out["morph_pca_maj_axis"] == pytest.approx(4 * radius / math.sqrt(5), rel=0.02)
    assert out["morph_vol_dens_aee"] == pytest.approx(5**1.5 / 8, rel=0.03)  # V / V_aee
    assert out["morph_com"] < 0.05  # homogeneous noise: centroids coincide
    assert out["morph_integ_int"] == pytest.approx(out["morph_volume"] * image[mask].mean())
    assert abs(out["morph_moran_i"]) < 0.01  # white noise: no autocorrelation
    assert out["morph_geary_c"] == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("n", [3, 6, 10])
def test_box_mesh_matches_the_chamfered_box(n: int) -> None:
    # marching cubes at level 0.5 around an n^3 block of unit voxels: flat faces (n-1)^2,
    # 45-degree chamfers of width sqrt(1/2) along the 12 edges, corner triangles of side
    # sqrt(1/2) (area sqrt(3)/8)
    mask = np.zeros((n + 2,) * 3, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    mesh = roi_mesh(mask, (1.0, 1.0, 1.0))
    expected = 6 * (n - 1) ** 2 + 12 * (n - 1) * math.sqrt(0.5) + 8 * math.sqrt(3) / 8
    assert mesh.area == pytest.approx(expected, rel=1e-9)
    # volume: the n^3 box loses a prism of section 1/8 along each edge (length n - 1), and
    # keeps of each corner cube of side 1/2 only the tetrahedron (1/48) under the triangle
    assert mesh.volume == pytest.approx(n**3 - 12 * (n - 1) / 8 - 8 * (1 / 8 - 1 / 48), rel=1e-9)


def test_anisotropic_spacing_scales_the_mesh() -> None:
    mask = np.zeros((7, 8, 9), bool)
    mask[2:5, 2:6, 3:7] = True
    iso = roi_mesh(mask, (1.0, 1.0, 1.0))
    scaled = roi_mesh(mask, (3.0, 0.5, 2.0))
    assert scaled.volume == pytest.approx(iso.volume * 3.0 * 0.5 * 2.0, rel=1e-12)
    extent = scaled.vertices.max(axis=0) - scaled.vertices.min(axis=0)
    assert np.allclose(extent, [3 * 3.0, 4 * 0.5, 4 * 2.0])  # n voxels span n spacings


def test_ellipsoid_area_series() -> None:
    assert ellipsoid_area(3.0, 3.0, 3.0) == pytest.approx(4 * math.pi * 9)
    for a, b, c in [(5.0, 4.0, 3.0), (5.7, 4.65, 4.27), (9.0, 8.9, 2.0)]:
        alpha, beta = math.sqrt(1 - b**2 / a**2), math.sqrt(1 - c**2 / a**2)
        nu = np.arange(21)
        terms = (
            (alpha * beta) ** nu
            / (1 - 4 * nu**2)
            * eval_legendre(nu, (alpha**2 + beta**2) / (2 * alpha * beta))
        )
        assert ellipsoid_area(a, b, c) == pytest.approx(
            4 * math.pi * a * b * terms.sum(), rel=1e-10
        )
    # the manual's series, not the true area: (5, 3, 3) spheroid has 165.8 mm^2
    assert ellipsoid_area(5.0, 3.0, 3.0) == pytest.approx(140.84, abs=0.01)


def test_moran_geary_fft_equals_pair_sums_on_a_medium_roi() -> None:
    rng = np.random.default_rng(11)
    shape_mask = ball(9.0, (2.0, 0.9, 0.9))
    mask = shape_mask & (rng.random(shape_mask.shape) < 0.9)
    z, y, x = np.indices(mask.shape)
    image = rng.normal(0, 1, mask.shape) + 0.3 * x - 0.1 * z  # some autocorrelation
    assert 1500 < mask.sum() < 3000
    points = np.argwhere(mask) * np.array([2.0, 0.9, 0.9])
    expected = moran_geary_pairs(points, image[mask])
    assert moran_geary(image, mask, (2.0, 0.9, 0.9)) == pytest.approx(expected, rel=1e-9)


def test_moran_geary_small_roi_pair_sums_equal_the_fft() -> None:
    rng = np.random.default_rng(13)
    mask = ball(4.0, (2.0, 0.9, 0.9)) & (rng.random(ball(4.0, (2.0, 0.9, 0.9)).shape) < 0.8)
    z, y, x = np.indices(mask.shape)
    image = rng.normal(0, 1, mask.shape) + 0.4 * y
    assert 20 < mask.sum() <= 256  # the default takes the explicit pairs
    by_fft = moran_geary(image, mask, (2.0, 0.9, 0.9), max_pair_voxels=0)
    assert moran_geary(image, mask, (2.0, 0.9, 0.9)) == pytest.approx(by_fft, rel=1e-9)


def test_subsampled_approximation_is_close_to_exact_on_a_medium_roi() -> None:
    # only used for ROI boxes beyond the FFT memory bound; forced here with max_fft_size=1
    rng = np.random.default_rng(12)
    spacing = (2.0, 0.9, 0.9)
    mask = ball(16.0, spacing)
    smooth = ndimage.gaussian_filter(rng.normal(0, 1, mask.shape), 1.5)
    image = 50 * smooth + rng.normal(0, 5, mask.shape)
    assert 8000 < mask.sum() < 14000
    exact = moran_geary(image, mask, spacing)
    approx = moran_geary(image, mask, spacing, max_fft_size=1)
    assert approx != exact
    assert approx[0] == pytest.approx(exact[0], abs=0.01)  # stated accuracy: 0.01 for I
    assert approx[1] == pytest.approx(exact[1], abs=0.02)  # and 0.02 for C
    assert moran_geary(image, mask, spacing, max_fft_size=1) == approx  # fixed seed


def test_translation_does_not_change_features() -> None:
    mask = ball(6.0, (1.5, 1.0, 1.0))
    image = np.random.default_rng(2).normal(0, 1, mask.shape) + 10
    shifted_mask = np.pad(mask, ((3, 0), (0, 5), (2, 1)))
    shifted_image = np.pad(image, ((3, 0), (0, 5), (2, 1)))
    a = morphology.compute(mask, (1.5, 1.0, 1.0), intensity=image, intensity_mask=mask)
    b = morphology.compute(
        shifted_mask, (1.5, 1.0, 1.0), intensity=shifted_image, intensity_mask=shifted_mask
    )
    for name in a:
        assert b[name] == pytest.approx(a[name], rel=1e-9, abs=1e-12), name


def test_intensity_mask_differs_from_morphological_mask() -> None:
    morph = ball(6.0, (1.0, 1.0, 1.0))
    image = np.where(np.indices(morph.shape)[2] < morph.shape[2] // 2, 100.0, -100.0)
    roi = morph & (image > 0)  # re-segmented: left half only
    with pytest.warns(MedscaleWarning, match="morph_moran_i"):  # constant intensity in ROI
        out = morphology.compute(morph, (1.0, 1.0, 1.0), intensity=image, intensity_mask=roi)
    assert out["morph_integ_int"] == pytest.approx(out["morph_volume"] * 100.0)
    assert out["morph_vol_approx"] == morph.sum()


def test_single_slice_is_a_one_slice_thick_object() -> None:
    mask = np.zeros((1, 20, 20), bool)
    mask[0, 5:15, 4:12] = True
    image = np.random.default_rng(4).normal(0, 1, mask.shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = morphology.compute(mask, (3.0, 1.0, 1.0), intensity=image, intensity_mask=mask)
    assert out["morph_vol_approx"] == 80 * 3.0
    assert 0.5 * 240 < out["morph_volume"] < 240
    assert out["morph_pca_least_axis"] == 0.0 and out["morph_pca_flatness"] == 0.0
    assert math.isnan(out["morph_vol_dens_aee"])  # flat ellipsoid has no volume
    assert any("morph_vol_dens_aee" in str(w.message) for w in caught)
    assert all(math.isfinite(v) for k, v in out.items() if k != "morph_vol_dens_aee")


def test_one_voxel_mask_gives_nan_with_warning() -> None:
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    with pytest.warns(MedscaleWarning, match="morph_pca_elongation"):
        out = morphology.compute(mask, (1.0, 1.0, 1.0), intensity=mask * 5.0, intensity_mask=mask)
    assert out["morph_vol_approx"] == 1.0 and out["morph_volume"] > 0
    for name in (
        "morph_pca_elongation",
        "morph_pca_flatness",
        "morph_vol_dens_aee",
        "morph_area_dens_aee",
        "morph_moran_i",
        "morph_geary_c",
    ):
        assert math.isnan(out[name]), name


def test_empty_mask_and_bad_input() -> None:
    empty = np.zeros((3, 3, 3), bool)
    with pytest.warns(MedscaleWarning, match="empty"):
        out = morphology.compute(empty, (1, 1, 1), intensity=empty * 1.0, intensity_mask=empty)
    assert all(math.isnan(v) for v in out.values())
    with pytest.raises(InputError, match="one grid"):
        morphology.compute(empty, (1, 1, 1), intensity=np.zeros((3, 3, 4)), intensity_mask=empty)
    with pytest.raises(InputError, match="spacing"):
        morphology.compute(empty, (1, 0, 1), intensity=empty * 1.0, intensity_mask=empty)


def test_feature_table_matches_the_reference_ids_and_codes(shared_data: Path) -> None:
    rows = [r for r in reference_rows(shared_data, "dig") if r["feature"].startswith("morph_")]
    assert {info.name: info.ibsi_code for info in morphology.FEATURES} == {
        r["feature"]: r["ibsi_tag"] for r in rows
    }
    assert all(info.family == rows[0]["feature_family"] for info in morphology.FEATURES)


def test_hull_failure_gives_nan_with_warning(monkeypatch) -> None:
    from scipy.spatial import QhullError

    def failing_hull(points, **_options):
        raise QhullError("QH6154 Qhull precision error: initial simplex is flat")

    monkeypatch.setattr(morphology, "convex_hull", failing_hull)
    mask = ball(5.0, (1.0, 1.0, 1.0))
    with pytest.warns(MedscaleWarning, match="no convex hull: QH6154"):
        out = morphology.compute(
            mask, (1.0, 1.0, 1.0), intensity=mask * 1.0 + 1.0, intensity_mask=mask
        )
    for name in ("morph_diam", "morph_vol_dens_conv_hull", "morph_area_dens_conv_hull"):
        assert math.isnan(out[name])
    assert math.isfinite(out["morph_vol_dens_aabb"])


def test_diagonal_line_of_voxels_has_no_minor_extent() -> None:
    mask = np.zeros((6, 6, 6), bool)
    index = np.arange(1, 5)
    mask[index, index, index] = True  # collinear voxel centres, off the grid axes
    with pytest.warns(MedscaleWarning, match="morph_vol_dens_aee"):
        out = morphology.compute(
            mask, (1.0, 1.0, 1.0), intensity=np.indices(mask.shape)[0] * 1.0, intensity_mask=mask
        )
    assert out["morph_pca_min_axis"] == 0.0 and out["morph_pca_least_axis"] == 0.0
    assert out["morph_pca_maj_axis"] == pytest.approx(4 * math.sqrt(3 * np.var(index, ddof=1)))
    assert out["morph_pca_elongation"] == 0.0 and math.isnan(out["morph_vol_dens_aee"])


def test_hull_line_end_filter_keeps_the_hull() -> None:
    from scipy.spatial import ConvexHull

    from medscale.features._mesh import convex_hull, line_end_points, roi_mesh

    rng = np.random.default_rng(5)
    mask = ball(6.0, (1.2, 0.8, 0.7)) & (rng.random(ball(6.0, (1.2, 0.8, 0.7)).shape) < 0.9)
    spacing = np.array([1.2, 0.8, 0.7])
    vertices = roi_mesh(mask, tuple(spacing)).vertices
    kept = line_end_points(vertices, tuple(spacing / 2))
    assert len(kept) < 0.8 * len(vertices)
    full, filtered = ConvexHull(vertices), convex_hull(vertices, grid_mm=tuple(spacing / 2))
    assert filtered.volume == pytest.approx(full.volume, rel=1e-12)
    assert filtered.area == pytest.approx(full.area, rel=1e-12)
    assert {tuple(p) for p in filtered.points} == {tuple(p) for p in vertices[full.vertices]}


@pytest.mark.parametrize(
    ("shape", "spacing"), [((7, 20, 13), (2.0, 0.7, 0.9)), ((1, 5, 6), (1.0, 1.0, 1.0))]
)
def test_kernel_spectrum_is_the_fft_of_the_kernel(shape, spacing) -> None:
    from scipy.fft import rfftn

    from medscale.features._autocorrelation import (
        _even_fast_len,
        _pruned_rfftn,
        circular_inverse_distance_kernel,
        kernel_spectrum,
    )

    padded = tuple(_even_fast_len(2 * n - 1) for n in shape)
    assert all(p % 2 == 0 and p >= 2 * n - 1 for p, n in zip(padded, shape, strict=True))
    full = rfftn(circular_inverse_distance_kernel(shape, padded, spacing))
    assert np.allclose(
        kernel_spectrum(shape, padded, spacing), full.real, rtol=0, atol=1e-12 * np.abs(full).max()
    )
    data = np.random.default_rng(2).normal(size=(2, *shape))
    assert np.allclose(
        _pruned_rfftn(data, padded),
        np.stack([rfftn(d, padded) for d in data]),
        rtol=0,
        atol=1e-12 * np.abs(data).sum(),
    )
