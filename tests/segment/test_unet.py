"""The U-Net on MONAI: a tiny net trained a few epochs on tiny data (Dice an untrained net cannot
reach); the model folder round trip, resume, the CLI and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, GeometryError, InputError, ModelError
from medscale.segment import dice, segment

torch = pytest.importorskip("torch", reason="the U-Net needs PyTorch (the 'dl' extra)")
pytest.importorskip("monai", reason="the U-Net needs MONAI (the 'dl' extra)")

from medscale.segment.unet import (  # noqa: E402
    UNetSegmenter,
    UNetSettings,
    build_network,
    train_unet,
    training_loss,
)
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
    torch.manual_seed(0)
    untrained = UNetSegmenter(tiny_model.settings, build_network(tiny_model.settings).eval())
    pairs = zip(images, masks, strict=True)
    before = [dice(untrained.predict(image), mask) for image, mask in pairs]
    assert max(before) < 0.5, before


def test_save_load_round_trip_is_identical(tiny_model: UNetSegmenter, tmp_path) -> None:
    path = tiny_model.save(tmp_path / "unet")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.pt"]
    loaded = UNetSegmenter.load(path)
    assert loaded.settings == tiny_model.settings
    assert loaded.record["epochs"] == 15
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
        segment(image, "unet", model=str(tmp_path / "none"))
    with pytest.raises(ModelError, match="not a medscale U-Net model folder"):
        UNetSegmenter.load(tmp_path)
    (tmp_path / "model.json").write_text('{"format": "medscale-model-1"}')
    with pytest.raises(ModelError, match="not a U-Net model of format"):
        UNetSegmenter.load(tmp_path)
    with pytest.raises(ConfigError, match="unet: parameter 'depth'"):
        UNetSettings(depth=0)
    with pytest.raises(ConfigError, match="window_px"):
        UNetSettings(depth=3, window_px=100)


def test_unet_from_the_command_line(tiny_model: UNetSegmenter, tmp_path, capsys) -> None:
    from medscale.cli.main import main
    from medscale.io import read_mask, write_image

    images, masks = _disks(1, seed=4)
    model = tiny_model.save(tmp_path / "model")
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
    path = str(tiny_model.save(tmp_path / "unet"))
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


def _small_training(tmp_path, epochs: int, **options: object) -> UNetSegmenter:
    images, masks = _disks(4, seed=7)
    settings = UNetSettings(base_channels=4, depth=2, res_units=1, pixel_spacing_mm=0.8)
    return train_unet(
        images,
        masks,
        settings=settings,
        epochs=epochs,
        batch_size=4,
        seed=3,
        device="cpu",
        checkpoint_folder=tmp_path,
        **options,  # type: ignore[arg-type]
    )


def test_resume_after_a_cut_gives_the_uncut_model(tmp_path, monkeypatch) -> None:
    from medscale.dl.checkpoint import Checkpoint

    torch.set_num_threads(1)
    image = _disks(1, seed=8)[0][0]
    uncut = _small_training(tmp_path / "uncut", 3).probabilities(image)
    original = Checkpoint.save

    def cut_after_two(self, epoch, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, epoch, *args, **kwargs)
        if epoch == 1:
            raise KeyboardInterrupt  # the training is cut after its second epoch

    monkeypatch.setattr(Checkpoint, "save", cut_after_two)
    with pytest.raises(KeyboardInterrupt):
        _small_training(tmp_path / "cut", 3)
    monkeypatch.setattr(Checkpoint, "save", original)
    assert (tmp_path / "cut" / "checkpoint.pt").is_file()
    resumed = _small_training(tmp_path / "cut", 3, resume=True)
    assert resumed.record["epochs"] == 3
    np.testing.assert_allclose(resumed.probabilities(image), uncut, atol=1e-6)
    with pytest.raises(ModelError, match="no checkpoint to resume from"):
        _small_training(tmp_path / "empty", 1, resume=True)


def test_bad_training_inputs(tmp_path) -> None:
    images, masks = _disks(2, seed=9)
    short = Mask.like(Image(np.zeros((2, 32, 32))), np.zeros((2, 32, 32), bool))
    with pytest.raises(GeometryError, match=r"^b: the mask is not on the image grid.*shape"):
        train_unet(images, [masks[0], short], epochs=1, names=["a", "b"], device="cpu")
    with pytest.raises(InputError, match="every training mask is empty"):
        train_unet(images[:1], [Mask.like(images[0], np.zeros(images[0].shape, bool))], epochs=1)
    with pytest.raises(ConfigError, match="--device cuda"):
        if torch.cuda.is_available():
            raise ConfigError("--device cuda: (a GPU is here; nothing to check)")
        train_unet(images, masks, epochs=1, device="cuda")


def _manifest(tmp_path, count: int, *, with_mask: bool = True):  # type: ignore[no-untyped-def]
    from medscale.io import write_image

    images, masks = _disks(count, seed=10)
    lines = ["case_id,image" + (",mask" if with_mask else "")]
    for index, (image, mask) in enumerate(zip(images, masks, strict=True)):
        write_image(image, tmp_path / f"i{index}.nii.gz")
        write_image(image.with_array(mask.array.astype(np.uint8)), tmp_path / f"m{index}.nii.gz")
        lines.append(f"c{index},i{index}.nii.gz" + (f",m{index}.nii.gz" if with_mask else ""))
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_from_the_command_line_and_bad_manifests(tmp_path, capsys) -> None:
    from medscale.cli.main import main
    from medscale.io import write_image

    manifest = _manifest(tmp_path, 2)
    out = tmp_path / "model"
    train = ["train", str(manifest), "--task", "segmentation", "--model", "unet", "--out"]
    assert main([*train, str(out), "--epochs", "1", "--device", "cpu"]) == 0
    assert "unet trained on 2 cases" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.pt"]
    assert UNetSegmenter.load(out).record["epochs"] == 1
    # a mask whose shape differs from its image: one line naming the case
    write_image(Image(np.zeros((2, 30, 30), np.uint8)), tmp_path / "m1.nii.gz")
    assert main([*train, str(tmp_path / "bad"), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "case c1" in err and "not on the image grid" in err and "Traceback" not in err
    # no mask column
    (tmp_path / "nm").mkdir()
    no_mask = _manifest(tmp_path / "nm", 1, with_mask=False)
    assert (
        main(
            [
                "train",
                str(no_mask),
                "--task",
                "segmentation",
                "--model",
                "unet",
                "--out",
                str(tmp_path / "m4"),
            ]
        )
        == 1
    )
    assert "lacks the column(s) ['mask']" in capsys.readouterr().err
    # segmentation is --task segmentation --model unet, nothing else
    assert main(["train", str(manifest), "--model", "unet", "--out", str(tmp_path / "m5")]) == 2


def test_case_dice_weighs_each_lesion_alike_and_ignores_empty_crops() -> None:
    # Two crops, a large lesion found and a small one missed, plus an empty crop.
    target = torch.zeros(3, 1, 16, 16)
    target[0, 0, 2:14, 2:14] = 1  # 144 pixels
    target[1, 0, 7:9, 7:9] = 1  # 4 pixels
    logits = torch.full_like(target, -20.0)
    logits[0] = torch.where(target[0] > 0, 20.0, -20.0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    case = float(training_loss("case")(logits, target) - bce)
    batch = float(training_loss("batch")(logits, target) - bce)
    # Per case: lesion 0 Dice 1, lesion 1 Dice 0, the empty crop left out: mean loss 0.5.
    assert case == pytest.approx(0.5, abs=1e-3)
    # Over the batch: 2 * 144 / (144 + 148), the missed small lesion hardly counts.
    assert batch == pytest.approx(1 - 2 * 144 / 292, abs=1e-3)
    empty = torch.zeros(2, 1, 8, 8)
    only_ce = training_loss("case")(torch.zeros_like(empty), empty)
    assert float(only_ce) == pytest.approx(np.log(2), abs=1e-6)
    with pytest.raises(ConfigError, match="dice must be"):
        training_loss("sample")
