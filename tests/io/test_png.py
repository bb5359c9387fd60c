"""2-D pictures: grey kept, RGB to BT.601 luma, alpha dropped with a warning, 16-bit kept."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import InputError
from medscale.errors import MedscaleWarning
from medscale.io import read_image
from medscale.io.png import luma_bt601, read_picture

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (9, 13, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_grey_8_bit_is_kept(tmp_path, rgb, suffix):
    grey = rgb[..., 0]
    PIL.fromarray(grey).save(tmp_path / f"grey{suffix}")
    image = read_image(tmp_path / f"grey{suffix}")
    assert image.shape == (1, 9, 13) and image.dtype == np.uint8
    np.testing.assert_array_equal(image.array[0], grey)
    assert image.spacing == (1.0, 1.0, 1.0) and image.origin == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_is_kept_as_uint16(tmp_path, suffix):
    values = np.random.default_rng(4).integers(0, 65536, (7, 5), dtype=np.uint16)
    PIL.fromarray(values).save(tmp_path / f"deep{suffix}")
    image = read_picture(tmp_path / f"deep{suffix}")
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image.array[0], values)


@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_rgb_becomes_bt601_luma(tmp_path, rgb, suffix):
    PIL.fromarray(rgb).save(tmp_path / f"colour{suffix}")
    image = read_picture(tmp_path / f"colour{suffix}")
    expected = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert image.dtype == np.float32
    np.testing.assert_allclose(image.array[0], expected, rtol=1e-6)
    # Pillow's own integer BT.601 conversion agrees to rounding
    pillow_grey = np.asarray(PIL.fromarray(rgb).convert("L"), dtype=float)
    assert np.abs(image.array[0] - pillow_grey).max() <= 1.0


def test_rgba_drops_alpha_with_a_warning_naming_the_file(tmp_path, rgb):
    alpha = np.full(rgb.shape[:2] + (1,), 128, np.uint8)
    PIL.fromarray(np.concatenate([rgb, alpha], axis=-1), "RGBA").save(tmp_path / "logo.png")
    with pytest.warns(MedscaleWarning, match=r"logo\.png: alpha channel"):
        image = read_picture(tmp_path / "logo.png")
    np.testing.assert_allclose(image.array[0], luma_bt601(rgb), rtol=1e-6)


def test_jpeg_grey_close_to_source(tmp_path, rgb):
    smooth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    PIL.fromarray(smooth).save(tmp_path / "ramp.jpg", quality=95)
    image = read_image(tmp_path / "ramp.jpg")
    assert image.shape == (1, 48, 64) and image.dtype == np.uint8
    assert np.abs(image.array[0].astype(int) - smooth).mean() < 2


def test_dpi_spacing_on_request(tmp_path, rgb):
    PIL.fromarray(rgb[..., 0]).save(tmp_path / "scan.png", dpi=(254, 127))
    assert read_picture(tmp_path / "scan.png").spacing == (1.0, 1.0, 1.0)
    spacing = read_picture(tmp_path / "scan.png", use_dpi=True).spacing
    np.testing.assert_allclose(spacing, (1.0, 0.2, 0.1), rtol=1e-3)  # (z, y, x) mm


def test_broken_picture_is_an_input_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(InputError, match="broken.png"):
        read_picture(tmp_path / "broken.png")


def test_palette_picture_is_expanded_then_grey(tmp_path, rgb):
    palette = PIL.fromarray(rgb).convert("P", palette=PIL.Palette.ADAPTIVE, colors=16)
    palette.save(tmp_path / "palette.png")
    expected = luma_bt601(np.asarray(palette.convert("RGB")))
    np.testing.assert_allclose(read_picture(tmp_path / "palette.png").array[0], expected)
