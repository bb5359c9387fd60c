"""The U-Net: a tiny net trained for a few steps on tiny data; save/load gives identical output."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, InputError
from medscale.segment import dice, segment

torch = pytest.importorskip("torch", reason="the U-Net needs PyTorch (the 'dl' extra)")

from medscale.segment.unet import UNetSegmenter, UNetSettings, train_unet  # noqa: E402
from medscale.segment.unet_select import select_components  # noqa: E402


def _disks(count: int, seed: int) -> tuple[list[Image], list[Mask]]:
    rng = np.random.default_rng(seed)
    images, masks = [], []
    yy, xx = np.mgrid[:32, :32]
    for _ in range(count):
        inside = np.zeros((3, 32, 32), dtype=bool)
        for z in range(3):
            cy, cx, r = rng.integers(10, 22), rng.integers(10, 22), rng.integers(4, 8)
            inside[z] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        array = np.where(inside, 60.0, -800.0) + rng.normal(0, 40, inside.shape)
        image = Image(array.astype(np.int16), spacing=(2.0, 0.8, 0.8))
        images.append(image)
        masks.append(Mask.like(image, inside))
    return images, masks


@pytest.fixture(scope="module")
def tiny_model() -> UNetSegmenter:
    torch.set_num_threads(1)
    images, masks = _disks(8, seed=0)
    settings = UNetSettings(base_channels=4, depth=2, pixel_spacing_mm=0.8)
    return train_unet(
        images, masks, settings=settings, epochs=15, batch_size=8, seed=0, learning_rate=1e-2
    )


def test_tiny_unet_learns_bright_disks(tiny_model: UNetSegmenter) -> None:
    images, masks = _disks(2, seed=1)
    scores = [
        dice(tiny_model.predict(image), mask) for image, mask in zip(images, masks, strict=True)
    ]
    assert min(scores) > 0.8


def test_save_load_round_trip_is_identical(tiny_model: UNetSegmenter, tmp_path) -> None:
    path = tiny_model.save(tmp_path / "unet.pt")
    loaded = UNetSegmenter.load(path)
    assert loaded.settings == tiny_model.settings
    image = _disks(1, seed=2)[0][0]
    np.testing.assert_array_equal(loaded.probabilities(image), tiny_model.probabilities(image))
    plain = {"flip_average": False, "threshold": 0.5, "core_threshold": 0.5, "select": "all"}
    via_method = segment(image, "unet", model=str(path), **plain)
    np.testing.assert_array_equal(via_method.array, tiny_model.predict(image).array)


def test_other_pixel_spacing_is_resampled(tiny_model: UNetSegmenter) -> None:
    images, masks = _disks(1, seed=3)
    coarse = images[0].array[:, ::2, ::2]
    image = Image(coarse, spacing=(2.0, 1.6, 1.6))
    truth = Mask.like(image, masks[0].array[:, ::2, ::2])
    prob = tiny_model.probabilities(image)
    assert prob.shape == image.shape
    assert dice(Mask.like(image, prob > 0.5), truth) > 0.7


def test_unet_errors(tmp_path) -> None:
    image = Image(np.zeros((1, 16, 16)))
    with pytest.raises(ConfigError, match="unet: parameter 'model' is required"):
        segment(image, "unet")
    with pytest.raises(InputError, match="does not exist"):
        segment(image, "unet", model=str(tmp_path / "none.pt"))
    bogus = tmp_path / "bogus.pt"
    torch.save({"something": 1}, bogus)
    with pytest.raises(InputError, match="not a medscale U-Net model"):
        UNetSegmenter.load(bogus)
    with pytest.raises(ConfigError, match="unet: parameter 'depth'"):
        UNetSettings(depth=0)


def test_unet_from_the_command_line(tiny_model: UNetSegmenter, tmp_path, capsys) -> None:
    from medscale.cli.main import main
    from medscale.io import read_mask, write_image

    images, masks = _disks(1, seed=4)
    model = tiny_model.save(tmp_path / "model.pt")
    image_path = write_image(images[0], tmp_path / "image.nrrd")
    truth_path = write_image(masks[0], tmp_path / "truth.nrrd")
    out = tmp_path / "mask.nrrd"
    assert (
        main(
            [
                "segment",
                str(image_path),
                "--method",
                "unet",
                "--param",
                f"model={model}",
                "--param",
                "core_threshold=0.65",
                "--out",
                str(out),
                "--truth",
                str(truth_path),
                "--json",
            ]
        )
        == 0
    )
    import json

    scores = json.loads(capsys.readouterr().out)
    assert scores["dice"] == pytest.approx(dice(read_mask(out), masks[0]), abs=1e-9)
    prob = tiny_model.probabilities(images[0], flip_average=True)
    expected = select_components(prob, core_threshold=0.65, spacing=images[0].spacing)
    assert expected.any()
    np.testing.assert_array_equal(read_mask(out).array, expected)


def test_crops_hold_the_object_and_match_the_source() -> None:
    from medscale.segment.unet_sampling import Cropper

    rng = np.random.default_rng(0)
    y_all = np.zeros((3, 48, 48), dtype=np.float32)
    y_all[0, 2:8, 38:46] = 1  # near a corner: the crop must still hold the centre
    y_all[1, 20:30, 20:30] = 1
    x_all = np.stack([y_all * 3 + 1, -y_all], axis=1)  # 2 channels, derived from the target
    cropper = Cropper(y_all, 16, multiple=4)
    index = np.repeat(np.arange(3), 200)
    xb, yb = cropper.take(x_all, y_all, index, rng)
    assert xb.shape == (600, 2, 16, 16) and yb.shape == (600, 16, 16)
    np.testing.assert_array_equal(xb[:, 0], yb * 3 + 1)  # inputs and targets share origins
    np.testing.assert_array_equal(xb[:, 1], -yb)
    held = yb.reshape(600, -1).sum(axis=1) > 0
    assert not held[index == 2].any()
    # 4 in 5 crops of a slice holding the object are placed around it; the rest anywhere
    assert 0.65 < held[index == 0].mean() < 0.95
    assert 0.65 < held[index == 1].mean() <= 1.0
    whole = Cropper(y_all, None, multiple=4).take(x_all, y_all, index[:4], rng)
    np.testing.assert_array_equal(whole[1], y_all[index[:4]])
    with pytest.raises(ConfigError, match="crop_size"):
        Cropper(y_all, 10, multiple=4)


def test_dice_loss_averages_samples_holding_the_object() -> None:
    from medscale.segment.unet_sampling import dice_loss

    target = torch.zeros(3, 1, 4, 4)
    target[0, 0, :2, :2] = 1  # 4 voxels, predicted perfectly
    target[1, 0, :, :2] = 1  # 8 voxels, predicted as all zero
    prob = target.clone()
    prob[1] = 0
    prob[2] = 0.5  # empty target: ignored by the Dice term
    expected = 1 - (1.0 + 1 / 9) / 2
    assert float(dice_loss(prob, target)) == pytest.approx(expected, abs=1e-6)
    assert float(dice_loss(prob, torch.zeros_like(target))) == 0.0


def test_training_on_crops_learns_bright_disks() -> None:
    torch.set_num_threads(1)
    images, masks = _disks(8, seed=4)
    settings = UNetSettings(base_channels=4, depth=2, pixel_spacing_mm=0.8)
    model = train_unet(
        images,
        masks,
        settings=settings,
        epochs=30,
        batch_size=8,
        seed=0,
        learning_rate=1e-2,
        crop_size=24,
    )
    test_images, test_masks = _disks(2, seed=5)
    scores = [
        dice(model.predict(image), mask)
        for image, mask in zip(test_images, test_masks, strict=True)
    ]
    assert min(scores) > 0.8


def test_flip_average_is_mirror_equivariant(tiny_model: UNetSegmenter) -> None:
    image = _disks(1, seed=6)[0][0]
    mirrored = Image(image.array[:, :, ::-1].copy(), spacing=image.spacing)
    plain = tiny_model.probabilities(image)
    averaged = tiny_model.probabilities(image, flip_average=True)
    np.testing.assert_allclose(
        tiny_model.probabilities(mirrored, flip_average=True)[:, :, ::-1], averaged, atol=1e-5
    )
    assert not np.allclose(plain, averaged, atol=1e-5)  # the mirror image adds information
    mean = (plain + tiny_model.probabilities(mirrored)[:, :, ::-1]) / 2
    np.testing.assert_allclose(averaged, mean, atol=1e-5)


def test_component_choice_box_and_seed(tiny_model: UNetSegmenter, tmp_path) -> None:
    path = str(tiny_model.save(tmp_path / "unet.pt"))
    yy, xx = np.mgrid[:32, :32]
    big = (yy - 10) ** 2 + (xx - 10) ** 2 <= 7**2
    small = (yy - 24) ** 2 + (xx - 24) ** 2 <= 4**2
    array = np.where(big | small, 60.0, -800.0)[None].repeat(3, axis=0).astype(np.int16)
    image = Image(array, spacing=(2.0, 0.8, 0.8))
    truth_big = Mask.like(image, np.broadcast_to(big, array.shape))
    truth_small = Mask.like(image, np.broadcast_to(small, array.shape))
    plain = {"model": path, "core_threshold": 0.5}
    both = segment(image, "unet", **plain, select="all")
    assert dice(both, Mask.like(image, truth_big.array | truth_small.array)) > 0.8
    for options in ({"select": "size"}, {"select": "sum"}, {"largest_component": True}):
        only = segment(image, "unet", **plain, **options)
        assert dice(only, truth_big) > 0.8, options
        assert not (only.array & truth_small.array).any(), options
    # a box around the small disk, or a seed in it, keeps the small one whatever select says
    boxed = segment(image, "unet", **plain, select="size", box=(0, 17, 17, 3, 32, 32))
    seeded = segment(image, "unet", **plain, select="size", seed=(1, 24, 24))
    for mask in (boxed, seeded):
        assert dice(mask, truth_small) > 0.7
        assert not (mask.array & truth_big.array).any()
    # the minimum size removes the small disk (about 3 x 49 voxels of 1.28 mm³: ~190 mm³)
    large_only = segment(image, "unet", **plain, select="all", min_size_mm3=400.0)
    assert dice(large_only, truth_big) > 0.8
