import numpy as np
import pytest

from medscale import Image, InputError
from medscale.errors import ConfigError, MedscaleDeprecationWarning
from medscale.io import read_image, read_mask, write_image


def _oblique_image() -> Image:
    angle = np.deg2rad(20)
    # columns: world direction of array axes z, y, x
    x_axis = [np.cos(angle), np.sin(angle), 0]
    y_axis = [-np.sin(angle), np.cos(angle), 0]
    z_axis = [0, 0, 1]
    direction = np.array([z_axis, y_axis, x_axis]).T
    rng = np.random.default_rng(1)
    return Image(
        rng.integers(-1000, 2000, (5, 6, 7)).astype(np.int16),
        spacing=(2.5, 0.7, 0.6),
        origin=(-100.5, 20.25, 7.0),
        direction=direction,
    )


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_write_read_round_trip_keeps_voxels_and_geometry(tmp_path, suffix):
    image = _oblique_image()
    path = write_image(image, tmp_path / f"image{suffix}")
    back = read_image(path)
    np.testing.assert_array_equal(back.array, image.array)
    assert back.geometry_equal(image, tol_mm=1e-4)


def test_contents_that_do_not_match_the_suffix_are_refused_naming_the_file(tmp_path):
    # the reader names the ImageIO from the suffix (ITK's own probing goes by suffix too)
    nrrd = write_image(_oblique_image(), tmp_path / "image.nrrd")
    misnamed = nrrd.rename(tmp_path / "image.mha")
    with pytest.raises(InputError, match=r"image\.mha: cannot read"):
        read_image(misnamed)


def test_read_missing_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.nii.gz")
    (tmp_path / "table.xyz").write_text("x")
    with pytest.raises(InputError, match="unknown image format"):
        read_image(tmp_path / "table.xyz")


def test_read_mask_by_label(tmp_path):
    labels = np.zeros((3, 4, 5), np.uint8)
    labels[1, 1:3, 1:4] = 2
    path = write_image(Image(labels, spacing=(2, 1, 1)), tmp_path / "labels.nrrd")
    mask = read_mask(path, mask_label=2)
    assert mask.voxel_count == 6
    with pytest.raises(InputError, match="label 5"):
        read_mask(path, mask_label=5)


def test_read_mask_label_is_the_old_name_of_mask_label(tmp_path):
    labels = np.zeros((3, 4, 5), np.uint8)
    labels[1, 1:3, 1:4] = 2
    path = write_image(Image(labels, spacing=(2, 1, 1)), tmp_path / "labels.nrrd")
    with pytest.warns(MedscaleDeprecationWarning, match="use mask_label="):
        old = read_mask(path, label=2)
    np.testing.assert_array_equal(old.array, read_mask(path, mask_label=2).array)
    with pytest.raises(ConfigError, match="not both"):
        read_mask(path, mask_label=2, label=2)


def test_ibsi_ct_phantom_nifti_geometry(shared_data):
    image = read_image(shared_data / "ibsi1/ct_phantom/nifti/phantom.nii.gz")
    mask = read_mask(shared_data / "ibsi1/ct_phantom/nifti/mask.nii.gz")
    assert image.shape == (60, 201, 204)
    np.testing.assert_allclose(image.spacing, (3.0, 0.977, 0.977), atol=1e-3)
    assert mask.voxel_count == 125256
    image.require_same_grid(mask)


@pytest.mark.parametrize(
    ("suffix", "shape"),
    [(s, shape) for s in (".nii.gz", ".nii", ".nrrd", ".mha") for shape in ((1, 6, 7), (5, 6, 7))]
    + [(".png", (1, 6, 7))],
)
def test_image_shape_matches_read_image(tmp_path, suffix, shape):
    from PIL import Image as Picture

    from medscale.io.formats import image_shape

    array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    if suffix == ".png":
        path = tmp_path / "picture.png"
        Picture.fromarray(array[0]).save(path)
    else:
        path = write_image(Image(array, spacing=(2.0, 1.0, 0.5)), tmp_path / f"image{suffix}")
    assert image_shape(path) == read_image(path).shape == shape
    with pytest.raises(InputError, match="no such file"):
        image_shape(tmp_path / "absent.nii.gz")
