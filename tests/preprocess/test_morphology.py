"""Morphology in millimetres: element shape, identities, binary and grey operations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medscale import Image, Mask
from medscale.errors import ConfigError
from medscale.preprocess import (
    closing,
    dilate,
    erode,
    fill_holes,
    image_footprint,
    opening,
    structuring_element,
)


def test_ball_respects_anisotropic_spacing() -> None:
    ball = structuring_element(3.0, (3.0, 1.0, 0.5))
    assert ball.shape == (3, 7, 13)
    assert ball[1, 3, :].all() and ball[1, :, 6].all()  # full extent in plane
    assert ball[0, 3, 6] and not ball[0, 3, 7]  # one slice away: 0 mm left in x
    disk = structuring_element(3.0, (3.0, 1.0, 0.5), shape="disk")
    assert disk.shape == (1, 7, 13)


def test_image_footprint_is_a_disk_on_a_2d_image() -> None:
    volume = Image(np.zeros((9, 21, 21), np.float32), spacing=(2.0, 0.8, 0.8))
    flat = Image(np.zeros((1, 21, 21), np.float32), spacing=(2.0, 0.8, 0.8))
    ball = structuring_element(4.0, (2.0, 0.8, 0.8))
    assert np.array_equal(image_footprint(volume, 4.0), ball)
    assert np.array_equal(image_footprint(flat, 4.0), ball[2:3])  # the disk is the mid-plane


def test_dilating_a_point_gives_the_ball_in_mm() -> None:
    array = np.zeros((9, 21, 21), dtype=bool)
    array[4, 10, 10] = True
    spacing = (2.0, 0.8, 0.8)
    grown = dilate(Mask(array, spacing=spacing), radius_mm=4.0).array
    z, y, x = np.nonzero(grown)
    distance = np.sqrt(((z - 4) * 2.0) ** 2 + ((y - 10) * 0.8) ** 2 + ((x - 10) * 0.8) ** 2)
    assert distance.max() <= 4.0 + 1e-9
    zz, yy, xx = np.mgrid[:9, :21, :21]
    all_distance = np.sqrt(((zz - 4) * 2.0) ** 2 + ((yy - 10) * 0.8) ** 2 + ((xx - 10) * 0.8) ** 2)
    assert grown.sum() == np.count_nonzero(all_distance <= 4.0)


def test_erosion_of_a_sphere_shrinks_its_radius_by_r_mm() -> None:
    zz, yy, xx = np.mgrid[:40, :40, :40]
    spacing = (1.0, 0.5, 0.5)
    r = np.sqrt(((zz - 20) * 1.0) ** 2 + ((yy - 20) * 0.5) ** 2 + ((xx - 20) * 0.5) ** 2)
    sphere = Mask(r <= 8.0, spacing=spacing)
    eroded = erode(sphere, radius_mm=3.0).array
    # triangle inequality: every voxel within 5 mm of the centre survives; none beyond 5 mm
    # plus one voxel diagonal can
    assert np.all(eroded[r <= 5.0])
    assert not np.any(eroded[r > 5.0 + np.sqrt(1.0 + 0.25 + 0.25)])


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.int16,
        st.tuples(st.integers(1, 5), st.integers(3, 9), st.integers(3, 9)),
        elements=st.integers(-1000, 1000),
    ),
    st.floats(0.5, 3.0),
)
def test_opening_le_image_le_closing(array: np.ndarray, radius: float) -> None:
    image = Image(array, spacing=(1.5, 1.0, 0.7))
    opened = opening(image, radius_mm=radius).array
    closed = closing(image, radius_mm=radius).array
    assert opened.dtype == closed.dtype == array.dtype
    assert np.all(opened <= array) and np.all(array <= closed)
    assert np.all(erode(image, radius_mm=radius).array <= opened)
    assert np.all(closed <= dilate(image, radius_mm=radius).array)


@settings(max_examples=25, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 5), st.integers(3, 9), st.integers(3, 9))))
def test_binary_opening_le_mask_le_closing(array: np.ndarray) -> None:
    mask = Mask(array, spacing=(2.0, 1.0, 1.0))
    opened = opening(mask, radius_mm=1.0).array
    closed = closing(mask, radius_mm=1.0).array
    assert opened.dtype == bool and closed.dtype == bool
    assert np.all(opened <= array) and np.all(array <= closed)


def test_fill_holes_binary_grey_and_slicewise() -> None:
    zz, yy, xx = np.mgrid[:15, :15, :15]
    r = np.sqrt((zz - 7) ** 2 + (yy - 7) ** 2 + (xx - 7) ** 2)
    shell = (r <= 6) & (r >= 4)
    filled = fill_holes(Mask(shell)).array
    np.testing.assert_array_equal(filled, r <= 6)
    grey = np.where(shell, 100, 0).astype(np.int16)
    np.testing.assert_array_equal(fill_holes(Image(grey)).array, np.where(r <= 6, 100, 0))
    # a tube open at both ends: holes only slice by slice
    tube = (np.hypot(yy - 7, xx - 7) <= 5) & (np.hypot(yy - 7, xx - 7) >= 3)
    assert fill_holes(Mask(tube)).array.sum() == tube.sum()
    np.testing.assert_array_equal(
        fill_holes(Mask(tube), slicewise=True).array, np.hypot(yy - 7, xx - 7) <= 5
    )


def test_bad_radius_and_shape_are_named() -> None:
    with pytest.raises(ConfigError, match="erode: parameter 'radius_mm'"):
        erode(Image(np.zeros((2, 3, 3))), radius_mm=-1.0)
    with pytest.raises(ConfigError, match="dilate: parameter 'shape'"):
        dilate(Image(np.zeros((2, 3, 3))), shape="cube")
