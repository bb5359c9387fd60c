"""A small 2-D U-Net (PyTorch, the ``dl`` extra) applied slice by slice, with training and I/O.

torch is imported only inside the functions, so ``import medscale.segment`` works without it.

Examples
--------
Train on a few synthetic cases, save, and segment a new image (needs torch)::

    from medscale.datasets import generate_ct_case
    cases = [generate_ct_case(i) for i in range(40)]
    model = train_unet([c.image for c in cases], [c.mask for c in cases], epochs=30)
    model.save("unet.pt")
    mask = UNetSegmenter.load("unet.pt").predict(image)

The ``unet`` segmentation method, which turns probabilities into a mask, is in
`medscale.segment.unet_select`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import ConfigError, InputError
from medscale.image import Image, Mask
from medscale.preprocess.params import require
from medscale.segment import unet_select  # noqa: F401 - registers the method "unet"
from medscale.segment.unet_sampling import Cropper, dice_loss

log = logging.getLogger(__name__)

FORMAT = "medscale-unet-1"


def _torch() -> Any:
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ConfigError("the U-Net needs PyTorch: pip install 'medscale[dl]'") from err
    return torch


@dataclass(frozen=True)
class UNetSettings:
    """Architecture and input scaling of the U-Net; saved with the weights.

    Attributes
    ----------
    base_channels : int
        Feature maps at full resolution; doubled at each level down.
    depth : int
        Number of 2x down-samplings.
    intensity_min, intensity_max : float, image units (HU for CT)
        Input window: values are clipped to it and scaled to [-1, 1].
    pixel_spacing_mm : float or None, mm
        In-plane spacing the network was trained at; slices of other spacings are resampled
        to it (bilinear) and the probabilities back. None: use every image as it is.
    context_slices : int
        Neighbouring slices on each side fed as extra input channels (2.5-D); 0 for plain 2-D.
    """

    base_channels: int = 16
    depth: int = 3
    intensity_min: float = -1000.0
    intensity_max: float = 400.0
    pixel_spacing_mm: float | None = None
    context_slices: int = 1

    def __post_init__(self) -> None:
        require(
            1 <= self.base_channels <= 128, "unet", "base_channels", "in 1..128", self.base_channels
        )
        require(1 <= self.depth <= 6, "unet", "depth", "in 1..6", self.depth)
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


def build_network(settings: UNetSettings) -> Any:
    """The `torch.nn.Module`: conv-BN-ReLU pairs, max-pool down, transposed-conv up, 1 logit."""
    torch = _torch()
    nn = torch.nn

    def block(c_in: int, c_out: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )

    class UNet(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            widths = [settings.base_channels * 2**level for level in range(settings.depth + 1)]
            self.down = nn.ModuleList(
                [block(2 * settings.context_slices + 1, widths[0])]
                + [block(widths[i], widths[i + 1]) for i in range(settings.depth)]
            )
            self.up = nn.ModuleList(
                [
                    nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                    for i in reversed(range(settings.depth))
                ]
            )
            self.merge = nn.ModuleList(
                [block(2 * widths[i], widths[i]) for i in reversed(range(settings.depth))]
            )
            self.head = nn.Conv2d(widths[0], 1, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x: Any) -> Any:
            skips = []
            for level, layer in enumerate(self.down):
                x = layer(x if level == 0 else self.pool(x))
                skips.append(x)
            x = skips.pop()
            for up, merge in zip(self.up, self.merge, strict=True):
                x = merge(torch.cat([skips.pop(), up(x)], dim=1))
            return self.head(x)

    return UNet()


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


def _pad_to(array: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad the last two axes (y, x) at the end to a multiple of `multiple` (edge values)."""
    ny, nx = array.shape[-2:]
    py, px = (-ny) % multiple, (-nx) % multiple
    if py or px:
        pad = [(0, 0)] * (array.ndim - 2) + [(0, py), (0, px)]
        array = np.pad(array, pad, mode="edge")
    return array, (ny, nx)


class UNetSegmenter:
    """A trained U-Net with its settings: `predict` masks, `save` and `load` files."""

    def __init__(self, settings: UNetSettings, network: Any) -> None:
        self.settings = settings
        self.network = network

    def probabilities(
        self, image: Image, *, batch_size: int = 8, flip_average: bool = False
    ) -> np.ndarray:
        """Object probability per voxel, float32, shape (z, y, x), slice by slice.

        With `flip_average`, the mean of the probabilities of each slice and of its mirror
        image in x (mirrored back): twice the time, slightly smoother borders.
        """
        torch = _torch()
        functional = torch.nn.functional
        require(batch_size >= 1, "unet", "batch_size", ">= 1", batch_size)
        ny, nx = image.shape[1:]
        size: tuple[int, ...] = (ny, nx)
        target = self.settings.pixel_spacing_mm
        if target is not None:
            size = tuple(
                max(int(round(n * s / target)), 1)
                for n, s in zip((ny, nx), image.spacing[1:], strict=True)
            )
        multiple = 2**self.settings.depth
        self.network.eval()
        stacked = _with_context(_scale(image.array, self.settings), self.settings.context_slices)
        out = np.empty(image.shape, dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, image.shape[0], batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(stacked[start : start + batch_size]))
                if size != (ny, nx):
                    batch = functional.interpolate(
                        batch, size=size, mode="bilinear", align_corners=False
                    )
                pad_y, pad_x = (-size[0]) % multiple, (-size[1]) % multiple
                if pad_y or pad_x:
                    batch = functional.pad(batch, (0, pad_x, 0, pad_y), mode="replicate")
                prob = torch.sigmoid(self.network(batch))
                if flip_average:
                    mirrored = torch.sigmoid(self.network(batch.flip(-1))).flip(-1)
                    prob = (prob + mirrored) / 2
                prob = prob[:, :, : size[0], : size[1]]
                if size != (ny, nx):
                    prob = functional.interpolate(
                        prob, size=(ny, nx), mode="bilinear", align_corners=False
                    )
                out[start : start + batch_size] = prob[:, 0].numpy()
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

    def save(self, path: str | Path) -> Path:
        """Write settings and weights to one file (``torch.save`` of plain tensors and numbers)."""
        torch = _torch()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "format": FORMAT,
                "settings": asdict(self.settings),
                "state_dict": self.network.state_dict(),
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> UNetSegmenter:
        """Read a file written by `save` (safe loading: tensors and plain values only)."""
        torch = _torch()
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such U-Net model file")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises many types for bad files
            raise InputError(f"{path}: not a medscale U-Net model ({err})") from err
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise InputError(f"{path}: not a medscale U-Net model (format {FORMAT} expected)")
        stored = dict(saved["settings"])
        stored.setdefault("context_slices", 0)  # files written before 2.5-D input existed
        settings = UNetSettings(**stored)
        network = build_network(settings)
        network.load_state_dict(saved["state_dict"])
        network.eval()
        return cls(settings, network)


def _slices(
    images: Sequence[Image],
    masks: Sequence[Mask],
    settings: UNetSettings,
) -> tuple[np.ndarray, np.ndarray]:
    if len(images) != len(masks) or not images:
        raise InputError(
            f"train_unet needs as many masks as images (>= 1), got {len(images)} "
            f"images and {len(masks)} masks"
        )
    xs, ys = [], []
    shape = images[0].shape[1:]
    for position, (image, mask) in enumerate(zip(images, masks, strict=True)):
        image.require_same_grid(mask, what=f"mask {position}")
        if image.shape[1:] != shape:
            raise InputError(
                f"training image {position} has slices of {image.shape[1:]}, "
                f"the first has {shape}; resample to one in-plane size"
            )
        xs.append(_with_context(_scale(image.array, settings), settings.context_slices))
        ys.append(mask.array.astype(np.float32))
    return np.concatenate(xs), np.concatenate(ys)


def train_unet(
    images: Sequence[Image],
    masks: Sequence[Mask],
    *,
    settings: UNetSettings | None = None,
    epochs: int = 20,
    batch_size: int = 16,
    learning_rate: float = 2e-3,
    negative_fraction: float = 0.3,
    crop_size: int | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
) -> UNetSegmenter:
    """Train a `UNetSegmenter` on 2-D slices of `images` with ground truth `masks`.

    Parameters
    ----------
    images, masks : sequences of Image / Mask
        Training cases; all slices must have one in-plane shape.
    settings : UNetSettings, optional
        Architecture and input window (defaults: 16 channels, depth 3, -1000..400 HU, the
        first image's x spacing as the working pixel spacing). Training images should have
        that in-plane spacing.
    epochs : int
        Passes over the slices holding the object (plus sampled empty slices).
    batch_size : int
        Slices per optimiser step.
    learning_rate : float
        Adam learning rate (cosine-annealed to zero).
    negative_fraction : float
        Empty slices drawn per epoch, as a fraction of the slices holding the object.
    crop_size : int, optional, pixels
        Train on square crops of this size (a multiple of ``2**depth``) instead of whole
        slices: crops of slices holding the object contain the object's centre in that slice
        (4 in 5) or lie anywhere; crops of empty slices lie anywhere. About 2.5x cheaper per
        slice at 64 of 96 pixels. None: whole slices.
    max_seconds : float, optional
        Stop after this much training time (the model so far is returned).
    seed : int
        Seeds weight initialisation, sampling and flips.

    Notes
    -----
    Loss: binary cross-entropy plus soft Dice averaged over the batch's samples that hold
    the object (so small objects weigh as much as large ones); random flips in y and x.
    """
    torch = _torch()
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
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all, y_all = _slices(images, masks, settings)
    x_all, _ = _pad_to(x_all, 2**settings.depth)
    y_all, _ = _pad_to(y_all, 2**settings.depth)
    positive = np.flatnonzero(y_all.reshape(len(y_all), -1).any(axis=1))
    negative = np.setdiff1d(np.arange(len(y_all)), positive)
    if positive.size == 0:
        raise InputError("train_unet: every training mask is empty")
    cropper = Cropper(y_all, crop_size, multiple=2**settings.depth)
    network = build_network(settings)
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate)
    n_negative = min(negative.size, int(round(negative_fraction * positive.size)))
    steps_per_epoch = int(np.ceil((positive.size + n_negative) / batch_size))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * steps_per_epoch)
    bce = torch.nn.BCEWithLogitsLoss()
    started = time.perf_counter()
    network.train()
    for epoch in range(epochs):
        chosen = np.concatenate([positive, rng.choice(negative, n_negative, replace=False)])
        rng.shuffle(chosen)
        total = 0.0
        for start in range(0, chosen.size, batch_size):
            index = chosen[start : start + batch_size]
            xb, yb = cropper.take(x_all, y_all, index, rng)
            if rng.random() < 0.5:
                xb, yb = xb[..., ::-1, :], yb[:, ::-1]
            if rng.random() < 0.5:
                xb, yb = xb[..., ::-1], yb[:, :, ::-1]
            inputs = torch.from_numpy(np.ascontiguousarray(xb))
            target = torch.from_numpy(np.ascontiguousarray(yb)[:, None])
            logits = network(inputs)
            loss = bce(logits, target) + dice_loss(torch.sigmoid(logits), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        elapsed = time.perf_counter() - started
        log.info(
            "unet epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, epochs, total / chosen.size, elapsed
        )
        if max_seconds is not None and elapsed > max_seconds:
            log.warning("unet: stopped after %d epochs at the %.0f s limit", epoch + 1, max_seconds)
            break
    network.eval()
    return UNetSegmenter(settings, network)
