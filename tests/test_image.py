import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medscale import GeometryError, Image, Mask, MaskError
from medscale.image import label_mask


def test_2d_array_becomes_one_slice():
    image = Image(np.zeros((4, 5)), spacing=(1, 0.5, 0.25))
    assert image.shape == (1, 4, 5) and image.is_2d


def test_array_is_read_only_and_not_copied():
    data = np.arange(24.0).reshape(2, 3, 4)
    image = Image(data)
    assert np.shares_memory(image.array, data)
    with pytest.raises(ValueError):
        image.array[0, 0, 0] = 1


def test_affine_maps_indices_to_world():
    direction = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], float)  # identity in x, y, z
    image = Image(
        np.zeros((3, 4, 5)), spacing=(3.0, 2.0, 0.5), origin=(10, 20, 30), direction=direction
    )
    world = image.index_to_world([2, 1, 4])  # z, y, x
    np.testing.assert_allclose(world, [10 + 4 * 0.5, 20 + 1 * 2.0, 30 + 2 * 3.0])
    np.testing.assert_allclose(image.world_to_index(world), [2, 1, 4])


def test_crop_moves_origin():
    image = Image(np.arange(60.0).reshape(3, 4, 5), spacing=(2, 1, 1), origin=(0, 0, 0))
    cropped = image.crop((1, 1, 2), (3, 4, 5))
    assert cropped.shape == (2, 3, 3)
    np.testing.assert_allclose(cropped.origin, (2, 1, 2))
    assert cropped.array[0, 0, 0] == image.array[1, 1, 2]


@pytest.mark.parametrize("bad", [(0, 1, 1), (-1, 1, 1), (1, np.nan, 1), (1, 1)])
def test_bad_spacing_is_refused(bad):
    with pytest.raises(GeometryError):
        Image(np.zeros((2, 2, 2)), spacing=bad)


def test_mask_rejects_non_binary_and_reports_empty():
    with pytest.raises(MaskError, match="only 0 and 1"):
        Mask(np.array([[[0, 2]]]))
    empty = Mask(np.zeros((2, 2, 2), bool))
    assert empty.is_empty
    with pytest.raises(MaskError, match="empty"):
        empty.bounding_box()


def test_mask_bounding_box_and_label():
    labels = Image(np.zeros((4, 4, 4), np.int16))
    arr = np.zeros((4, 4, 4), np.int16)
    arr[1:3, 2, 0:4] = 3
    mask = label_mask(labels.with_array(arr), 3)
    lower, upper = mask.bounding_box()
    assert lower.tolist() == [1, 2, 0] and upper.tolist() == [3, 3, 4]
    with pytest.raises(MaskError, match="label 7"):
        label_mask(labels.with_array(arr), 7)


def test_require_same_grid_names_difference():
    a = Image(np.zeros((2, 3, 4)), spacing=(1, 1, 1))
    b = Image(np.zeros((2, 3, 4)), spacing=(1, 1, 2))
    a.require_same_grid(a)
    with pytest.raises(GeometryError, match="spacing"):
        a.require_same_grid(b)


@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    spacing=st.tuples(*[st.floats(0.1, 5.0)] * 3),
)
def test_with_array_keeps_geometry(shape, spacing):
    image = Image(np.zeros(shape), spacing=spacing, origin=(1, 2, 3))
    other = image.with_array(np.ones(shape, np.int16))
    assert other.geometry_equal(image) and other.dtype == np.int16
