"""The U-Net on MONAI (the ``dl`` extra): a 2.5-D residual `UNet` run slice by slice, its training
(`DiceCELoss`, checkpoints each epoch, resume) and its model folder.

torch and MONAI are imported only inside the functions, so ``import medscale.segment`` works
without them. The ``unet`` segmentation method, which turns probabilities into a mask, is in
`medscale.segment.unet_select`; `medscale train MANIFEST --task segmentation --model unet`
(`medscale.cli.train_unet`) calls `train_unet`.

A model folder holds ``model.json`` (format, settings, training record) and ``weights.pt`` (a
state dict, loaded with ``torch.load(weights_only=True)``: opening a folder runs no code). While
training, ``checkpoint.pt`` holds the last complete epoch; ``resume=True`` continues from it.

Examples
--------
Train on a few synthetic cases, save, and segment a new image (needs torch and MONAI)::

    from medscale.datasets import generate_ct_case
    cases = [generate_ct_case(i) for i in range(40)]
    model = train_unet([c.image for c in cases], [c.mask for c in cases], epochs=10)
    model.save("unet/")
    mask = UNetSegmenter.load("unet/").predict(image)
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import ConfigError, InputError, ModelError
from medscale.image import Image, Mask
from medscale.preprocess.params import require
from medscale.segment.unet_sampling import Cropper

log = logging.getLogger(__name__)

FORMAT = "medscale-unet-2"
CONFIG_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"


def _torch() -> Any:
    try:
        import monai  # noqa: F401 - checked here so the error names the extra
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ConfigError("the U-Net needs PyTorch and MONAI: pip install 'medscale[dl]'") from err
    return torch


@dataclass(frozen=True)
class UNetSettings:
    """Architecture, input scaling and inference window of the U-Net; saved in model.json.

    Attributes
    ----------
    base_channels : int
        Feature maps at full resolution of MONAI's `UNet`; doubled at each level down.
    depth : int
        Number of 2x down-samplings (strided convolutions).
    res_units : int
        Residual units per level (MONAI's ``num_res_units``).
    intensity_min, intensity_max : float, image units (HU for CT)
        Input window: values are clipped to it and scaled to [-1, 1]. Default -160..240 HU,
        the soft-tissue window (level 40, width 400): lesions about 27 HU from soft tissue
        were faint in round 3's -1000..400 (benchmarks/results/segment.md).
    pixel_spacing_mm : float or None, mm
        In-plane spacing the network was trained at; slices of other spacings are resampled
        to it (bilinear) and the probabilities back. None: use every image as it is.
    context_slices : int
        Neighbouring slices on each side fed as extra input channels (2.5-D); 0 for plain 2-D.
    window_px : int
        Largest in-plane window of `monai.inferers.sliding_window_inference` (pixels at
        `pixel_spacing_mm`, a multiple of ``2**depth``); smaller slices are run whole.
    """

    base_channels: int = 24
    depth: int = 3
    res_units: int = 2
    intensity_min: float = -160.0
    intensity_max: float = 240.0
    pixel_spacing_mm: float | None = None
    context_slices: int = 2
    window_px: int = 256

    def __post_init__(self) -> None:
        require(
            1 <= self.base_channels <= 64, "unet", "base_channels", "in 1..64", self.base_channels
        )
        require(1 <= self.depth <= 5, "unet", "depth", "in 1..5", self.depth)
        require(0 <= self.res_units <= 4, "unet", "res_units", "in 0..4", self.res_units)
        require(
            self.intensity_max > self.intensity_min,
            "unet",
            "intensity_max",
            f"> intensity_min ({self.intensity_min})",
            self.intensity_max,
        )
        require(
            0 <= self.context_slices <= 3, "unet", "context_slices", "in 0..3", self.context_slices
        )
        require(
            self.pixel_spacing_mm is None or self.pixel_spacing_mm > 0,
            "unet",
            "pixel_spacing_mm",
            "> 0 mm or None",
            self.pixel_spacing_mm,
        )
        require(
            self.window_px >= self.multiple and self.window_px % self.multiple == 0,
            "unet",
            "window_px",
            f"a positive multiple of {self.multiple}",
            self.window_px,
        )

    @property
    def multiple(self) -> int:
        """The in-plane size multiple the network needs: ``2**depth``."""
        return int(2**self.depth)


def build_network(settings: UNetSettings) -> Any:
    """MONAI's 2-D residual `UNet`: 2c+1 input slices, one logit, batch norm.

    Not `BasicUNet`: with 16 base channels it cost 3.5x the time per training batch on one
    loaded CPU core (1.05 s against 0.29 s for 16 crops of 64 pixels), more than the 10-minute
    training budget on 2 shared cores allows.
    """
    _torch()
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=2,
        in_channels=2 * settings.context_slices + 1,
        out_channels=1,
        channels=tuple(settings.base_channels * 2**level for level in range(settings.depth + 1)),
        strides=(2,) * settings.depth,
        num_res_units=settings.res_units,
        norm="batch",
    )


def _scale(array: np.ndarray, settings: UNetSettings) -> np.ndarray:
    low, high = settings.intensity_min, settings.intensity_max
    clipped = np.clip(array.astype(np.float32), low, high)
    return (2.0 * (clipped - low) / (high - low) - 1.0).astype(np.float32)


def _with_context(scaled: np.ndarray, context: int) -> np.ndarray:
    """(z, y, x) -> (z, 2c+1, y, x): each slice with its `context` neighbours (edges repeated)."""
    if context == 0:
        return scaled[:, None]
    padded = np.pad(scaled, [(context, context), (0, 0), (0, 0)], mode="edge")
    return np.stack([padded[k : k + scaled.shape[0]] for k in range(2 * context + 1)], axis=1)


def _pad_to(array: np.ndarray, multiple: int) -> np.ndarray:
    """Pad the last two axes (y, x) at the end to a multiple of `multiple` (edge values)."""
    ny, nx = array.shape[-2:]
    py, px = (-ny) % multiple, (-nx) % multiple
    if py or px:
        pad = [(0, 0)] * (array.ndim - 2) + [(0, py), (0, px)]
        array = np.pad(array, pad, mode="edge")
    return array


class UNetSegmenter:
    """A trained U-Net with its settings: `probabilities`, `predict`, `save` and `load`."""

    def __init__(
        self, settings: UNetSettings, network: Any, record: dict[str, Any] | None = None
    ) -> None:
        self.settings = settings
        self.network = network
        self.record = dict(record or {})

    def probabilities(
        self,
        image: Image,
        *,
        batch_size: int = 8,
        flip_average: bool = False,
        device: str = "cpu",
    ) -> np.ndarray:
        """Object probability per voxel, float32, shape (z, y, x), slice by slice.

        Slices are resampled to the training pixel spacing and run through
        `sliding_window_inference` (windows of at most `window_px`, overlap 0.25). With
        `flip_average`, the mean of the probabilities of each slice and of its mirror image in
        x (mirrored back): twice the time, slightly smoother borders.
        """
        torch = _torch()
        from monai.inferers import sliding_window_inference

        from medscale.dl import autocast, resolve_device

        functional = torch.nn.functional
        require(batch_size >= 1, "unet", "batch_size", ">= 1", batch_size)
        where = resolve_device(device)
        ny, nx = image.shape[1:]
        size: tuple[int, ...] = (ny, nx)
        target = self.settings.pixel_spacing_mm
        if target is not None:
            size = tuple(
                max(int(round(n * s / target)), 1)
                for n, s in zip((ny, nx), image.spacing[1:], strict=True)
            )
        multiple = self.settings.multiple
        roi = tuple(min(self.settings.window_px, n + (-n) % multiple) for n in size)
        network = self.network.to(where).eval()

        def predictor(batch: Any) -> Any:
            prob = torch.sigmoid(network(batch).float())
            if flip_average:
                prob = (prob + torch.sigmoid(network(batch.flip(-1)).float()).flip(-1)) / 2
            return prob

        stacked = _with_context(_scale(image.array, self.settings), self.settings.context_slices)
        out = np.empty(image.shape, dtype=np.float32)
        with torch.inference_mode(), autocast(where):
            for start in range(0, image.shape[0], batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(stacked[start : start + batch_size]))
                batch = batch.to(where)
                if size != (ny, nx):
                    batch = functional.interpolate(
                        batch, size=size, mode="bilinear", align_corners=False
                    )
                prob: Any = sliding_window_inference(
                    batch,
                    roi_size=roi,
                    sw_batch_size=batch_size,
                    predictor=predictor,
                    overlap=0.25,
                    padding_mode="replicate",
                )
                if size != (ny, nx):
                    prob = functional.interpolate(
                        prob, size=(ny, nx), mode="bilinear", align_corners=False
                    )
                out[start : start + batch_size] = prob[:, 0].float().cpu().numpy()
        return out

    def predict(
        self,
        image: Image,
        *,
        threshold: float = 0.5,
        batch_size: int = 8,
        flip_average: bool = False,
    ) -> Mask:
        """The mask of voxels whose probability exceeds `threshold` (see `probabilities`)."""
        require(0 < threshold < 1, "unet", "threshold", "in (0, 1)", threshold)
        prob = self.probabilities(image, batch_size=batch_size, flip_average=flip_average)
        return Mask.like(image, prob > threshold)

    def save(self, folder: str | Path) -> Path:
        """Write the model folder: ``model.json`` and ``weights.pt`` (a state dict)."""
        from medscale import __version__
        from medscale.dl import save_weights

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder}: a U-Net model is a folder, and this is a file")
        folder.mkdir(parents=True, exist_ok=True)
        save_weights(self.network, folder / WEIGHTS_FILE)
        config = {
            "format": FORMAT,
            "task": "segmentation",
            "model": "unet",
            "network": "monai.networks.nets.UNet",
            "medscale_version": __version__,
            "settings": asdict(self.settings),
            "training": self.record,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> UNetSegmenter:
        """Read a model folder written by `save` (weights loaded with ``weights_only=True``)."""
        from medscale.dl import load_weights

        folder = Path(folder)
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            raise ModelError(
                f"{folder}: not a medscale U-Net model folder (no {CONFIG_FILE}); train one "
                "with `medscale train MANIFEST --task segmentation --model unet --out FOLDER`"
            )
        try:
            config = json.loads(config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelError(f"{config_path}: unreadable model description ({err})") from err
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            found = config.get("format") if isinstance(config, dict) else None
            raise ModelError(
                f"{config_path}: not a U-Net model of format {FORMAT} (format {found!r})"
            )
        try:
            settings = UNetSettings(**config["settings"])
        except (KeyError, TypeError) as err:
            raise ModelError(f"{config_path}: bad U-Net settings ({err})") from err
        network = build_network(settings)
        load_weights(network, folder / WEIGHTS_FILE)
        network.eval()
        return cls(settings, network, config.get("training"))


def _slices(
    images: Sequence[Image],
    masks: Sequence[Mask],
    settings: UNetSettings,
    names: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    if len(images) != len(masks) or not images:
        raise InputError(
            f"train_unet needs as many masks as images (>= 1), got {len(images)} "
            f"images and {len(masks)} masks"
        )
    names = list(names) if names is not None else [f"case {i}" for i in range(len(images))]
    xs, ys = [], []
    shape = images[0].shape[1:]
    for name, image, mask in zip(names, images, masks, strict=True):
        try:
            image.require_same_grid(mask, what="mask")
        except InputError as err:
            raise type(err)(f"{name}: {err}") from err
        if image.shape[1:] != shape:
            raise InputError(
                f"{name}: slices of {image.shape[1:]} pixels, the first case has {shape}; "
                "resample the training images to one in-plane size"
            )
        xs.append(_with_context(_scale(image.array, settings), settings.context_slices))
        ys.append(mask.array.astype(np.float32))
    return np.concatenate(xs), np.concatenate(ys)


def training_loss(dice: str) -> Callable[[Any, Any], Any]:
    """Cross-entropy plus soft Dice on logits, the Dice reduced per case or over the batch."""
    torch = _torch()
    from monai.losses import DiceCELoss, DiceLoss

    if dice == "batch":
        return DiceCELoss(sigmoid=True, batch=True)  # type: ignore[no-any-return]
    if dice != "case":
        raise ConfigError(f"train_unet: dice must be 'case' or 'batch', not {dice!r}")
    per_crop = DiceLoss(sigmoid=True, reduction="none")
    cross_entropy = torch.nn.BCEWithLogitsLoss()

    def loss(logits: Any, target: Any) -> Any:
        held = target.flatten(1).any(dim=1)
        value = cross_entropy(logits, target)
        if bool(held.any()):
            value = value + per_crop(logits, target).flatten(1).mean(dim=1)[held].mean()
        return value

    return loss


def train_unet(
    images: Sequence[Image],
    masks: Sequence[Mask],
    *,
    settings: UNetSettings | None = None,
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    negative_fraction: float = 0.3,
    crop_size: int | None = 48,
    max_seconds: float | None = None,
    seed: int = 0,
    device: str = "auto",
    checkpoint_folder: str | Path | None = None,
    resume: bool = False,
    names: Sequence[str] | None = None,
    on_epoch: Callable[[int, int, float, float], None] | None = None,
    dice: str = "batch",
) -> UNetSegmenter:
    """Train a `UNetSegmenter` on 2-D slices (2.5-D input) of `images` with ground truth `masks`.

    Parameters
    ----------
    images, masks : sequences of Image / Mask
        Training cases; all slices must have one in-plane shape, each mask the image's grid.
    settings : UNetSettings, optional
        Architecture and input window (defaults, plus the first image's x spacing as the
        working pixel spacing). Training images should have that in-plane spacing.
    epochs : int
        Passes over the slices holding the object (plus sampled empty slices).
    batch_size : int
        Slices per optimiser step.
    learning_rate : float
        Adam learning rate, cosine-annealed to zero over all steps.
    negative_fraction : float
        Empty slices drawn per epoch, as a fraction of the slices holding the object.
    crop_size : int or None, pixels
        Train on square crops of this size (a multiple of ``2**depth``): crops of slices holding the
        object contain the object's centre in that slice (4 in 5) or lie anywhere; crops of
        empty slices lie anywhere. None: whole slices.
    max_seconds : float, optional
        Stop after this much training time (the model so far is returned).
    seed : int
        Seeds weight initialisation, sampling and flips (each epoch draws from ``(seed, epoch)``
        so a resumed training draws what the uncut one would have).
    device : {"auto", "cpu", "cuda"}
        Where to train (`medscale.dl.resolve_device`); mixed precision on a GPU.
    checkpoint_folder : path, optional
        Save ``checkpoint.pt`` there after every epoch (removed when training completes).
    resume : bool
        Continue from the checkpoint in `checkpoint_folder` (an error when there is none).
    names : sequence of str, optional
        Case names for error messages.
    on_epoch : callable, optional
        Called after each epoch with (epochs done, epochs, mean loss, seconds so far): the
        CLI's progress line.
    dice : {"batch", "case"}
        The soft-Dice term of the loss: ``"batch"`` (default) is MONAI's `DiceCELoss` with one
        Dice over the whole batch (large lesions weigh more); ``"case"`` averages the Dice over
        the crops that hold the object (each lesion counts alike; empty crops only enter the
        cross-entropy). On the synthetic cohort "batch" scored better on the validation cases
        (mean Dice 0.885 against 0.875, `benchmarks/results/segment.md`).

    Notes
    -----
    Loss: binary cross-entropy plus MONAI's soft Dice (sigmoid), reduced as `dice` says;
    random flips in y and x.
    """
    torch = _torch()
    from medscale.dl import Checkpoint, autocast, resolve_device, seed_everything

    settings = settings or UNetSettings(pixel_spacing_mm=float(images[0].spacing[2]))
    require(epochs >= 1, "train_unet", "epochs", ">= 1", epochs)
    require(batch_size >= 1, "train_unet", "batch_size", ">= 1", batch_size)
    require(
        0 <= negative_fraction <= 10,
        "train_unet",
        "negative_fraction",
        "in [0, 10]",
        negative_fraction,
    )
    loss_fn = training_loss(dice)
    where = resolve_device(device)
    if resume and checkpoint_folder is None:
        raise ConfigError("train_unet: resume needs a checkpoint folder")
    seed_everything(seed)
    x_all, y_all = _slices(images, masks, settings, names)
    x_all = _pad_to(x_all, settings.multiple)
    y_all = _pad_to(y_all, settings.multiple)
    positive = np.flatnonzero(y_all.reshape(len(y_all), -1).any(axis=1))
    negative = np.setdiff1d(np.arange(len(y_all)), positive)
    if positive.size == 0:
        raise InputError("train_unet: every training mask is empty")
    cropper = Cropper(y_all, crop_size, multiple=settings.multiple)
    network = build_network(settings).to(where)
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    n_negative = min(negative.size, int(round(negative_fraction * positive.size)))
    steps_per_epoch = int(np.ceil((positive.size + n_negative) / batch_size))
    total_steps = epochs * steps_per_epoch
    history: list[float] = []
    first = 0
    checkpoint = Checkpoint(checkpoint_folder) if checkpoint_folder is not None else None
    if resume:
        assert checkpoint is not None
        if not checkpoint.exists():
            raise ModelError(f"{checkpoint.path}: no checkpoint to resume from")
        first, state = checkpoint.load(network, optimiser)
        history = [float(v) for v in state.get("loss", [])]
        if int(state.get("epochs", epochs)) != epochs:
            log.warning("unet: resuming a %s-epoch training as %d epochs", state["epochs"], epochs)
        log.info("unet: resuming at epoch %d of %d", first + 1, epochs)
    started = time.perf_counter()
    network.train()
    for epoch in range(first, epochs):
        rng = np.random.default_rng([seed, epoch])
        chosen = np.concatenate([positive, rng.choice(negative, n_negative, replace=False)])
        rng.shuffle(chosen)
        total = 0.0
        for step, start in enumerate(range(0, chosen.size, batch_size)):
            done = epoch * steps_per_epoch + step
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * done / total_steps))
            index = chosen[start : start + batch_size]
            xb, yb = cropper.take(x_all, y_all, index, rng)
            if rng.random() < 0.5:
                xb, yb = xb[..., ::-1, :], yb[:, ::-1]
            if rng.random() < 0.5:
                xb, yb = xb[..., ::-1], yb[:, :, ::-1]
            inputs = torch.from_numpy(np.ascontiguousarray(xb)).to(where)
            target = torch.from_numpy(np.ascontiguousarray(yb)[:, None]).to(where)
            with autocast(where):
                logits = network(inputs)
            loss = loss_fn(logits.float(), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(index)
        history.append(total / chosen.size)
        elapsed = time.perf_counter() - started
        log.info("unet epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, epochs, history[-1], elapsed)
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs, history[-1], elapsed)
        if checkpoint is not None:
            checkpoint.save(epoch, network, optimiser, {"loss": history, "epochs": epochs})
        if max_seconds is not None and elapsed > max_seconds and epoch + 1 < epochs:
            log.warning("unet: stopped after %d epochs at the %.0f s limit", epoch + 1, max_seconds)
            break
    network.eval()
    record = {
        "epochs": len(history),
        "loss": [round(v, 5) for v in history],
        "cases": len(images),
        "slices": int(len(y_all)),
        "device": str(where),
        "seed": seed,
        "crop_size": crop_size,
        "dice": dice,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "negative_fraction": negative_fraction,
    }
    return UNetSegmenter(settings, network.cpu(), record)
