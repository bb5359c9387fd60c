"""2-D shape family: analytic answers (disc, rectangle, ring), spacing, undefined cases, and
`extract` on one-slice images (the `default` -> `default-2d` switch)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import InputError, MedscaleWarning
from medscale.features import extract, load_settings
from medscale.features import morphology_2d as m2d
from medscale.features.settings import for_image


def _compute(
    plane: np.ndarray, spacing_yx: tuple[float, float], intensity: np.ndarray | None = None
) -> dict[str, float]:
    mask = plane[None]
    image = np.ones(mask.shape) if intensity is None else intensity[None]
    return m2d.compute(mask, (1.0, *spacing_yx), intensity=image, intensity_mask=mask)


def _disc(
    radius_mm: float, spacing_yx: tuple[float, float], centre_mm: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    sy, sx = spacing_yx
    ny, nx = int(radius_mm / sy) + 4, int(radius_mm / sx) + 4
    y, x = np.mgrid[-ny : ny + 1, -nx : nx + 1].astype(float)
    return ((y * sy - centre_mm[0]) ** 2 + (x * sx - centre_mm[1]) ** 2) <= radius_mm**2


@pytest.mark.parametrize(
    ("radius", "spacing"),
    [(20.0, (0.5, 0.5)), (10.0, (0.25, 0.25)), (15.0, (0.4, 0.8)), (8.0, (0.5, 0.5))],
)
def test_disc(radius, spacing):
    out = _compute(_disc(radius, spacing), spacing)
    area, perimeter = math.pi * radius**2, 2 * math.pi * radius
    assert out["morph_2d_area_pixel"] == pytest.approx(area, rel=0.01)
    assert out["morph_2d_area_contour"] == pytest.approx(area, rel=0.01)
    assert out["morph_2d_perimeter"] == pytest.approx(perimeter, rel=0.03)
    assert out["morph_2d_circularity"] == pytest.approx(1.0, abs=0.05)
    assert out["morph_2d_perim_area"] == pytest.approx(2.0 / radius, rel=0.04)
    # 4 sqrt(lambda) of a uniform disc: lambda = R^2 / 4 -> axis 2R
    assert out["morph_2d_pca_maj_axis"] == pytest.approx(2 * radius, rel=0.01)
    assert out["morph_2d_pca_min_axis"] == pytest.approx(2 * radius, rel=0.01)
    assert out["morph_2d_pca_elongation"] == pytest.approx(1.0, abs=0.01)
    # contour tips lie up to half a pixel beyond the outermost pixel centres
    assert out["morph_2d_diam"] == pytest.approx(2 * radius, abs=1.01 * max(spacing))
    assert out["morph_2d_area_dens_conv_hull"] == pytest.approx(1.0, abs=0.035)  # staircase
    assert out["morph_2d_com"] == pytest.approx(0.0, abs=1e-9)


def test_rectangle_exact_area_axes_and_anisotropic_spacing():
    plane = np.zeros((70, 140), bool)
    plane[5:65, 10:130] = True  # 60 x 120 pixels
    spacing = (0.5, 0.25)  # -> 30 mm x 30 mm in the world: a square
    out = _compute(plane, spacing)
    assert out["morph_2d_area_pixel"] == pytest.approx(900.0, abs=1e-9)
    assert out["morph_2d_area_contour"] == pytest.approx(900.0, rel=0.01)
    assert out["morph_2d_perimeter"] == pytest.approx(120.0, rel=0.01)
    assert out["morph_2d_pca_elongation"] == pytest.approx(1.0, abs=0.01)
    assert out["morph_2d_diam"] == pytest.approx(30.0 * math.sqrt(2), rel=0.01)
    assert out["morph_2d_area_dens_conv_hull"] == pytest.approx(1.0, abs=1e-3)
    # the same pixels at isotropic spacing: a 2:1 rectangle 30 x 60 mm
    out = _compute(plane, (0.5, 0.5))
    assert out["morph_2d_area_pixel"] == pytest.approx(1800.0, abs=1e-9)
    assert out["morph_2d_perimeter"] == pytest.approx(180.0, rel=0.01)
    # uniform rectangle: lambda = L^2 / 12 along each side; axis ratio = side ratio
    assert out["morph_2d_pca_elongation"] == pytest.approx(0.5, rel=0.01)
    assert out["morph_2d_pca_maj_axis"] == pytest.approx(4 * 60 / math.sqrt(12), rel=0.01)
    assert out["morph_2d_pca_min_axis"] == pytest.approx(4 * 30 / math.sqrt(12), rel=0.01)
    assert out["morph_2d_circularity"] == pytest.approx(4 * math.pi * 1800 / 180**2, rel=0.02)


def test_ring_hole_subtracted_and_solidity():
    plane = np.zeros((60, 60), bool)
    plane[5:55, 5:55] = True
    plane[20:40, 20:40] = False
    out = _compute(plane, (1.0, 1.0))
    assert out["morph_2d_area_pixel"] == 2500 - 400
    assert out["morph_2d_area_contour"] == pytest.approx(2100, rel=0.01)
    assert out["morph_2d_perimeter"] == pytest.approx(4 * 50 + 4 * 20, rel=0.02)
    assert out["morph_2d_area_dens_conv_hull"] == pytest.approx(2100 / 2500, rel=0.01)


def test_centroid_shift_of_a_ramp():
    plane = np.zeros((20, 20), bool)
    plane[5:15, 5:15] = True
    x = np.broadcast_to(np.arange(20.0), (20, 20))
    intensity = np.where(x < 10, 1.0, 3.0)  # left half 1, right half 3
    out = _compute(plane, (1.0, 2.0), intensity)
    # geometric centre x = 9.5 px; weighted: (1 * 7 + 3 * 12) / 4 = 10.75 px -> 1.25 px * 2 mm
    assert out["morph_2d_com"] == pytest.approx(2.5, abs=1e-9)


def test_one_pixel_and_multi_slice_and_empty_are_nan_with_warning():
    plane = np.zeros((5, 5), bool)
    plane[2, 2] = True
    with pytest.warns(MedscaleWarning, match="one-pixel"):
        out = _compute(plane, (0.5, 0.5))
    assert out["morph_2d_area_pixel"] == 0.25
    assert all(math.isnan(v) for k, v in out.items() if k != "morph_2d_area_pixel")
    volume = np.zeros((3, 5, 5), bool)
    volume[0:2, 1:3, 1:3] = True
    with pytest.warns(MedscaleWarning, match="spans 2"):
        out = m2d.compute(volume, (1, 1, 1), intensity=np.ones(volume.shape), intensity_mask=volume)
    assert all(math.isnan(v) for v in out.values()) and len(out) == len(m2d.FEATURES)
    with pytest.warns(MedscaleWarning, match="empty"):
        m2d.compute(
            np.zeros((1, 3, 3), bool),
            (1, 1, 1),
            intensity=np.ones((1, 3, 3)),
            intensity_mask=np.zeros((1, 3, 3), bool),
        )


@pytest.mark.parametrize(
    "pixels",
    [
        [(5, 5), (5, 6)],
        [(0, 0), (0, 1), (1, 0)],
        [(3, 3), (3, 4), (4, 3), (4, 4)],
        [(2, 2), (3, 3)],
    ],
)
def test_circularity_never_exceeds_one_on_tiny_rois(pixels):
    plane = np.zeros((10, 10), bool)
    for pixel in pixels:
        plane[pixel] = True
    out = _compute(plane, (1.0, 0.7))
    assert 0.0 < out["morph_2d_circularity"] <= 1.0
    assert out["morph_2d_perim_area"] > 0


def test_line_of_pixels_is_defined():
    plane = np.zeros((5, 12), bool)
    plane[2, 1:11] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleWarning)
        out = _compute(plane, (1.0, 1.0))
    assert out["morph_2d_pca_elongation"] == 0.0 and out["morph_2d_pca_min_axis"] == 0.0
    assert out["morph_2d_diam"] == pytest.approx(10.0, abs=1e-9)  # contour tips at +-0.5 px


def test_bad_input():
    with pytest.raises(InputError, match="3-D"):
        m2d.compute(
            np.ones((3, 3), bool),
            (1, 1, 1),
            intensity=np.ones((3, 3)),
            intensity_mask=np.ones((3, 3), bool),
        )
    with pytest.raises(InputError, match="spacing"):
        m2d.compute(
            np.ones((1, 3, 3), bool),
            (1, 0, 1),
            intensity=np.ones((1, 3, 3)),
            intensity_mask=np.ones((1, 3, 3), bool),
        )


def _xray_like() -> tuple[Image, Mask]:
    rng = np.random.default_rng(3)
    array = rng.normal(500.0, 80.0, (1, 80, 90))
    image = Image(array, spacing=(1.0, 0.4, 0.3))
    plane = np.zeros((80, 90), bool)
    disc = _disc(6.0, (0.4, 0.3))
    plane[10 : 10 + disc.shape[0], 20 : 20 + disc.shape[1]] = disc
    mask = Mask.like(image, plane[None])
    return image, mask


def test_extract_on_a_one_slice_image_gives_2d_features():
    image, mask = _xray_like()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MedscaleWarning)
        found = extract(image, mask)
        same = extract(image, mask, "default-2d")
        three_d = extract(image, mask, {"texture": {"dimensions": ["3D"]}})
    assert found == pytest.approx(same, nan_ok=True) and list(found) == list(same)
    assert not any(k.startswith("morph_") and not k.startswith("morph_2d_") for k in found)
    assert not any(k.endswith(("_3D", "_3D_avg", "_3D_comb")) for k in found)
    assert "cm_contrast_2D_avg" in found and "szm_zs_entr_2D" in found
    assert found["morph_2d_area_pixel"] == pytest.approx(mask.array.sum() * 0.12)
    assert math.isfinite(found["morph_2d_perimeter"])
    # explicit settings are honoured as given
    assert "morph_volume" in three_d and "cm_contrast_3D_avg" in three_d
    assert "morph_2d_area_pixel" not in three_d


def test_for_image_switches_default_only():
    default = load_settings("default")
    assert for_image(default, (1, 10, 10)).name == "default-2d"
    assert for_image(default, (2, 10, 10)) is default
    other = load_settings("ibsi1-a")
    assert for_image(other, (1, 10, 10)) is other
    renamed = load_settings({"name": "default", "texture": {"dimensions": ["2.5D"]}})
    assert for_image(renamed, (1, 10, 10)) is renamed  # only the preset itself switches
    assert for_image(load_settings(default.to_dict()), (1, 10, 10)).name == "default-2d"
    assert "morphology_2d" not in default.families  # `all` = the IBSI families
