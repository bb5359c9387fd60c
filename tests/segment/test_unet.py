"""The U-Net: a tiny net trained for a few steps on tiny data; save/load gives identical output."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, InputError
from medscale.segment import dice, segment

torch = pytest.importorskip("torch", reason="the U-Net needs PyTorch (the 'dl' extra)")

from medscale.segment.unet import UNetSegmenter, UNetSettings, train_unet  # noqa: E402


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
    via_method = segment(image, "unet", model=str(path))
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
    np.testing.assert_array_equal(read_mask(out).array, tiny_model.predict(images[0]).array)
