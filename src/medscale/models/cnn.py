"""CNN classifiers trained on a manifest's images (MONAI ResNet; the ``dl`` extra).

``medscale train MANIFEST --model cnn --target COL`` reads every case's ``image`` (and its
``mask`` when the manifest has one) with :mod:`medscale.io`, and prepares it the same way at
training and prediction time:

1. **Crop** (with a mask): to the mask's bounding box plus ``margin_mm`` on each side (in mm,
   converted with the image's spacing; clipped at the image border).
2. **Resize** to a fixed shape (``shape``; default 64 x 64 for 2-D images, 32 x 32 x 32 for 3-D):
   linear interpolation over the whole (cropped) field of view, so images of different sizes
   and spacings all become one grid. The aspect ratio is not kept.
3. **Normalise** each image to zero mean and unit standard deviation (a constant image
   becomes all zeros).

The images must all be 2-D (one slice) or all 3-D, with one channel: :mod:`medscale.io` turns
colour pictures into grey (BT.601 luma) and refuses multi-component volumes, naming the case.

Training draws a patient-grouped, class-stratified validation split (a fifth of the patients, the
``--group`` column, else each case alone), augments the training images (random flips, rotations up
to 10 degrees, intensity scale and shift: MONAI transforms), and stops early when the validation
loss has not improved for ``patience`` epochs; the weights of the best validation epoch are kept.
Each epoch is checkpointed (:class:`medscale.dl.Checkpoint`), so ``resume=True`` continues a cut
training.

The model folder holds ``model.json`` (the same card as the classical models, with the CNN
configuration in ``settings``), ``weights.pt`` (a plain state dict, read with
``weights_only=True``: no pickle, no code on load) and ``cv_predictions.parquet`` (the
validation cases' predictions, the only cases the final network did not train on).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import NDArray

from medscale.dl import (
    Checkpoint,
    autocast,
    configure_threads,
    load_weights,
    resolve_device,
    save_weights,
    seed_everything,
)
from medscale.errors import InputError, MedscaleError, ModelError
from medscale.image import Image
from medscale.io import read_image, read_mask
from medscale.models.metrics import classification_metrics
from medscale.models.persistence import CARD_FILE, FORMAT_VERSION, ModelCard
from medscale.models.table import ID_COLUMN, Task, check_target, prediction_frame
from medscale.models.validation import grouped_folds

logger = logging.getLogger(__name__)

MODEL_NAME = "cnn"
WEIGHTS_FILE = "weights.pt"
VALIDATION_FILE = "cv_predictions.parquet"
DEFAULT_SHAPE_2D = (64, 64)
DEFAULT_SHAPE_3D = (32, 32, 32)

#: ``progress(epoch, epochs, batch, batches, info)``; info holds the last epoch's losses.
Progress = Callable[[int, int, int, int, dict[str, float]], None]


@dataclass(frozen=True)
class CnnConfig:
    """How a CNN is built and trained (stored in ``model.json`` ``settings["cnn"]``).

    ``shape`` is the grid every image is resized to: (y, x) or (z, y, x); ``None`` picks the
    default for the images' dimensionality. ``block_inplanes`` are the ResNet stages' widths
    (one basic block each).
    """

    shape: tuple[int, ...] | None = None
    margin_mm: float = 5.0
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    validation_fraction: float = 0.2
    augment: bool = True
    block_inplanes: tuple[int, ...] = (16, 32, 64, 128)
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ModelError("epochs, batch size and patience must be at least 1")
        if not 0.05 <= self.validation_fraction <= 0.5:
            raise ModelError(
                f"validation_fraction must be in [0.05, 0.5], got {self.validation_fraction}"
            )
        if len(self.block_inplanes) != 4 or min(self.block_inplanes) < 1:
            raise ModelError(f"block_inplanes must be 4 widths, got {self.block_inplanes}")
        if self.shape is not None and (len(self.shape) not in (2, 3) or min(self.shape) < 8):
            raise ModelError(f"shape must be 2 or 3 sizes of at least 8, got {self.shape}")


@dataclass
class CnnModel:
    """A trained CNN: its network (on the CPU, in eval mode) and its card."""

    network: torch.nn.Module
    card: ModelCard
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def config(self) -> CnnConfig:
        return _config_from(self.card.settings["cnn"])


# -- images -----------------------------------------------------------------------------------


def _case_name(table: pd.DataFrame, row: int) -> str:
    return str(table[ID_COLUMN].iloc[row]) if ID_COLUMN in table else f"row {row}"


def _crop(image: Image, mask_path: object, margin_mm: float) -> NDArray[np.float32]:
    array = np.asarray(image.array, dtype=np.float32)
    if not isinstance(mask_path, str) or not mask_path:
        return array
    mask = read_mask(mask_path, reference=image)  # a DICOM-SEG / RTSTRUCT needs the grid
    image.require_same_grid(mask, what=f"mask {mask_path}")
    if mask.is_empty:
        raise InputError(f"{mask_path}: the mask is empty; nothing to crop to")
    lower, upper = mask.bounding_box()
    margin = np.ceil(margin_mm / np.asarray(image.spacing)).astype(int)
    if image.is_2d:
        margin[0] = 0
    lo = np.maximum(np.asarray(lower) - margin, 0)
    hi = np.minimum(np.asarray(upper) + 1 + margin, image.shape)
    return array[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]


def _normalise(volume: torch.Tensor) -> torch.Tensor:
    std = float(volume.std())
    if not math.isfinite(std) or std == 0.0:
        return torch.zeros_like(volume)
    return (volume - volume.mean()) / std


def load_images(
    table: pd.DataFrame,
    *,
    shape: tuple[int, ...] | None,
    margin_mm: float,
    expect_2d: bool | None = None,
) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The manifest's images as one float32 tensor (cases, 1, *shape), prepared (module doc).

    Raises
    ------
    InputError
        No ``image`` column, a missing or unreadable file (naming the case), or images of mixed
        dimensionality (or not the dimensionality the model was trained on, `expect_2d`).
    """
    if "image" not in table.columns:
        raise InputError("the manifest has no 'image' column; a CNN learns from images")
    masks = table["mask"] if "mask" in table.columns else None
    arrays: list[torch.Tensor] = []
    first_2d: bool | None = expect_2d
    first_case = "the trained model" if expect_2d is not None else ""
    for row, path in enumerate(table["image"].tolist()):
        case = _case_name(table, row)
        if not isinstance(path, str) or not path:
            raise InputError(f"case {case}: no image path")
        try:
            image = read_image(path)
            array = _crop(image, None if masks is None else masks.iloc[row], margin_mm)
        except MedscaleError as err:
            raise InputError(f"case {case}: {err}") from err
        if first_2d is None:
            first_2d, first_case = image.is_2d, f"case {case}"
            if shape is None:
                shape = DEFAULT_SHAPE_2D if first_2d else DEFAULT_SHAPE_3D
            if len(shape) != (2 if first_2d else 3):
                raise ModelError(
                    f"shape {shape} does not fit {'2-D' if first_2d else '3-D'} images"
                )
        if image.is_2d != first_2d:
            raise InputError(
                f"case {case}: a {'2-D' if image.is_2d else '3-D'} image {image.shape} among "
                f"{'2-D' if first_2d else '3-D'} images ({first_case}); a CNN needs one "
                "dimensionality"
            )
        assert shape is not None
        tensor = torch.from_numpy(np.array(array[0] if first_2d else array, dtype=np.float32))
        mode = "bilinear" if first_2d else "trilinear"
        resized = torch.nn.functional.interpolate(
            tensor[None, None], size=tuple(shape), mode=mode, align_corners=False
        )[0]
        arrays.append(_normalise(resized))
    if not arrays or shape is None:
        raise InputError("the manifest has no cases")
    return torch.stack(arrays), tuple(shape)


# -- network ----------------------------------------------------------------------------------


def build_network(spatial_dims: int, n_classes: int, config: CnnConfig) -> torch.nn.Module:
    """A small MONAI ResNet (basic blocks, one per stage), random weights."""
    from monai.networks.nets import ResNet

    return ResNet(
        block="basic",
        layers=[1, 1, 1, 1],
        block_inplanes=list(config.block_inplanes),
        spatial_dims=spatial_dims,
        n_input_channels=1,
        conv1_t_size=3,
        conv1_t_stride=1,
        no_max_pool=True,
        num_classes=n_classes,
    )


def _augmenter(spatial_dims: int, seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    from monai.transforms import (
        Compose,
        RandAdjustContrast,
        RandFlip,
        RandRotate,
        RandScaleIntensity,
        RandShiftIntensity,
    )

    angle = math.radians(10)
    flips = [RandFlip(prob=0.5, spatial_axis=axis) for axis in range(spatial_dims)]
    rotate = (
        RandRotate(range_x=angle, prob=0.5, padding_mode="border")
        if spatial_dims == 2
        else RandRotate(
            range_x=angle, range_y=angle, range_z=angle, prob=0.5, padding_mode="border"
        )
    )
    chain = Compose(
        [
            *flips,
            rotate,
            RandScaleIntensity(factors=0.1, prob=0.5),
            RandShiftIntensity(offsets=0.1, prob=0.5),
            RandAdjustContrast(prob=0.2, gamma=(0.8, 1.25)),
        ]
    )
    chain.set_random_state(seed=seed)

    def augment(batch: torch.Tensor) -> torch.Tensor:
        out = [torch.as_tensor(chain(item)) for item in batch]
        return torch.stack(out).float().contiguous()

    return augment


def _probabilities(
    network: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int
) -> NDArray[np.float64]:
    network.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device)
            with autocast(device):
                logits = network(batch)
            chunks.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(chunks).astype(np.float64)


# -- training ---------------------------------------------------------------------------------


def _config_from(raw: dict[str, Any]) -> CnnConfig:
    values = dict(raw)
    for key in ("shape", "block_inplanes"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    return CnnConfig(**values)


def _class_order(value: object) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | np.number) else (1, str(value))


def train_cnn(
    table: pd.DataFrame,
    *,
    target: str,
    out: str | Path,
    group: str | None = None,
    config: CnnConfig | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    n_boot: int = 1000,
    validation_column: str | None = None,
) -> CnnModel:
    """Train a CNN on the manifest `table` and save it to the model folder `out`.

    `validation_column` (a boolean column) names a data set's own validation cases; without it
    the validation split is drawn by patient (the `group` column), stratified by class.

    Raises
    ------
    ModelError
        A bad target (missing, one class), a missing group column, too few patients per class.
    InputError
        A missing or unreadable image, mixed dimensionality.
    ConfigError
        ``device="cuda"`` without a GPU.
    """
    config = config or CnnConfig()
    device = resolve_device(config.device)  # fail on --device cuda before reading any image
    threads = configure_threads(config.threads)
    if group is not None and group not in table.columns:
        raise ModelError(f"group column {group!r} is not in the manifest")
    y = check_target(table, target, Task.CLASSIFICATION)
    classes = sorted(pd.unique(y).tolist(), key=_class_order)
    labels = np.array([classes.index(v) for v in y.tolist()])
    groups = table[group] if group is not None else None
    if groups is not None and groups.isna().any():
        raise ModelError(f"group column {group!r} has missing values")
    if validation_column is not None:
        if validation_column not in table.columns:
            raise ModelError(f"validation column {validation_column!r} is not in the manifest")
        held = table[validation_column].astype(bool).to_numpy()
        train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
        if len(np.unique(labels[val_idx])) < 2 or len(np.unique(labels[train_idx])) < 2:
            raise ModelError(f"{validation_column!r}: both sides need every class")
    else:
        patients = pd.Series(groups.to_numpy() if groups is not None else np.arange(len(y)))
        fewest = int(patients.groupby(labels).nunique().min())
        if fewest < 2:
            raise ModelError(
                f"a class has {fewest} {'patient' if groups is not None else 'case'}; the "
                "validation split needs at least 2 per class"
            )
        # fewer patients in a class than 1 / fraction: a larger validation share (at most half)
        n_splits = max(2, min(round(1 / config.validation_fraction), fewest))
        train_idx, val_idx = grouped_folds(
            y, groups, Task.CLASSIFICATION, n_splits=n_splits, seed=config.seed
        )[0]
    images, shape = load_images(table, shape=config.shape, margin_mm=config.margin_mm)
    config = replace(config, shape=shape)
    spatial_dims = len(shape)
    generator = seed_everything(config.seed)
    network = build_network(spatial_dims, len(classes), config).to(device)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    folder = Path(out)
    checkpoint = Checkpoint(folder)
    state: dict[str, Any]
    start, state = 0, {"best_loss": math.inf, "best_epoch": -1, "stale": 0, "history": []}
    if resume and checkpoint.exists():
        start, state = checkpoint.load(network, optimiser)
        generator.set_state(torch.as_tensor(state.pop("generator")))
        logger.info("resuming at epoch %d of %d", start + 1, config.epochs)
    best_path = folder / ".best_weights.pt"
    augment = _augmenter(spatial_dims, config.seed + start) if config.augment else None
    counts = np.bincount(labels[train_idx], minlength=len(classes)).astype(np.float64)
    weight = torch.tensor(
        counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight.to(device))
    x_train, y_train = images[train_idx], torch.as_tensor(labels[train_idx])
    x_val, y_val = images[val_idx], torch.as_tensor(labels[val_idx])
    n_batches = max(1, math.ceil(len(train_idx) / config.batch_size))
    started = time.perf_counter()
    for epoch in range(start, config.epochs):
        if state["stale"] >= config.patience:
            break
        network.train()
        order = torch.randperm(len(train_idx), generator=generator)
        total = 0.0
        for batch_no in range(n_batches):
            pick = order[batch_no * config.batch_size : (batch_no + 1) * config.batch_size]
            if len(pick) < 2 and n_batches > 1:  # a batch of one breaks batch norm
                continue
            batch = x_train[pick]
            if augment is not None:
                batch = augment(batch)
            optimiser.zero_grad(set_to_none=True)
            with autocast(device):
                loss = loss_fn(network(batch.to(device)).float(), y_train[pick].to(device))
            loss.backward()
            optimiser.step()
            total += loss.item() * len(pick)
            if progress is not None:
                progress(epoch, config.epochs, batch_no + 1, n_batches, {})
        val_proba = _probabilities(network, x_val, device, config.batch_size)
        val_loss = float(
            torch.nn.functional.nll_loss(
                torch.log(torch.as_tensor(val_proba).clamp_min(1e-7)).float(),
                y_val,
                weight=weight,
            )
        )
        train_loss = total / len(train_idx)
        state["history"].append([epoch, train_loss, val_loss])
        if val_loss < state["best_loss"] - 1e-4:
            state.update(best_loss=val_loss, best_epoch=epoch, stale=0)
            save_weights(network, best_path)
        else:
            state["stale"] += 1
        checkpoint.save(epoch, network, optimiser, {**state, "generator": generator.get_state()})
        logger.info(
            "epoch %d: train loss %.4f, validation loss %.4f", epoch + 1, train_loss, val_loss
        )
        if progress is not None:
            progress(
                epoch, config.epochs, n_batches, n_batches, {"train": train_loss, "val": val_loss}
            )
    if not best_path.is_file():
        save_weights(network, best_path)
    network = load_weights(build_network(spatial_dims, len(classes), config), best_path)
    network.eval()
    val_proba = _probabilities(network, x_val, torch.device("cpu"), config.batch_size)
    metrics = classification_metrics(
        y.to_numpy()[val_idx],
        val_proba,
        classes,
        groups=None if groups is None else groups.to_numpy()[val_idx],
        n_boot=n_boot,
        seed=config.seed,
    )
    validation = prediction_frame(table.iloc[val_idx], val_proba, classes, target)
    validation["fold"] = 0
    card = ModelCard(
        model=MODEL_NAME,
        task=Task.CLASSIFICATION.value,
        target=target,
        features=[],
        classes=[c.item() if isinstance(c, np.generic) else c for c in classes],
        settings={"group": group, "seed": config.seed, "n_boot": n_boot, "cnn": asdict(config)},
        metrics=metrics,
        n_cases=len(y),
        notes={
            "validation": "metrics are on the held-out, patient-grouped validation split",
            "n_train": len(train_idx),
            "n_validation": len(val_idx),
            "best_epoch": int(state["best_epoch"]) + 1,
            "epochs_run": len(state["history"]),
            "history": state["history"],
            "train_seconds_this_run": round(time.perf_counter() - started, 2),
            "device": str(device),
            "threads": threads,
            "torch_version": torch.__version__,
        },
    )
    model = CnnModel(network=network, card=card, validation=validation)
    save_cnn(model, folder)
    best_path.unlink(missing_ok=True)
    checkpoint.remove()
    return model


# -- saving, loading, predicting ---------------------------------------------------------------


def save_cnn(model: CnnModel, folder: str | Path) -> Path:
    """Write ``model.json``, ``weights.pt`` and ``cv_predictions.parquet`` to `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model.network, folder / WEIGHTS_FILE)
    (folder / CARD_FILE).write_text(
        json.dumps(asdict(model.card), indent=2) + "\n", encoding="utf-8"
    )
    if not model.validation.empty:
        model.validation.to_parquet(folder / VALIDATION_FILE, index=False)
    return folder


def load_cnn(folder: str | Path) -> CnnModel:
    """Read a CNN model folder; the weights load with ``weights_only=True``.

    Raises
    ------
    ModelError
        A missing file, another format version, or weights that do not fit the network.
    """
    folder = Path(folder)
    card_path = folder / CARD_FILE
    if not card_path.is_file():
        raise ModelError(f"{folder}: not a medscale model folder ({CARD_FILE} is missing)")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
        card = ModelCard(**raw)
    except (json.JSONDecodeError, TypeError) as err:
        raise ModelError(f"{card_path}: not a valid model card ({err})") from err
    if card.format_version != FORMAT_VERSION or card.model != MODEL_NAME:
        raise ModelError(f"{folder}: not a CNN model of format version {FORMAT_VERSION}")
    config = _config_from(card.settings["cnn"])
    assert config.shape is not None
    network = build_network(len(config.shape), len(card.classes or []), config)
    load_weights(network, folder / WEIGHTS_FILE)
    network.eval()
    return CnnModel(network=network, card=card)


def predict_cnn(
    model: CnnModel, table: pd.DataFrame, *, device: str = "auto", batch_size: int | None = None
) -> pd.DataFrame:
    """Predictions for each case of the manifest `table` (DESIGN.md predictions columns)."""
    config = model.config
    torch_device = resolve_device(device)
    assert config.shape is not None
    images, _ = load_images(
        table, shape=config.shape, margin_mm=config.margin_mm, expect_2d=len(config.shape) == 2
    )
    network = model.network.to(torch_device)
    proba = _probabilities(network, images, torch_device, batch_size or config.batch_size)
    model.network.to("cpu")
    return prediction_frame(table, proba, list(model.card.classes or []), model.card.target)
