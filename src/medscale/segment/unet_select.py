"""From U-Net probabilities to a mask: hysteresis, minimum size, one component per image.

The ``unet`` segmentation method lives here (its network is in `medscale.segment.unet`).
Thresholding the probabilities at one level leaves false-positive blobs away from the object;
`select_components` keeps only connected components of ``p > threshold`` that hold a confident
voxel (``p > core_threshold``, hysteresis), are large enough, and, for images holding one
object, the one with the largest summed probability.

Examples
--------
>>> import numpy as np
>>> prob = np.zeros((1, 3, 9), np.float32)
>>> prob[0, 1, 0:3] = 0.6            # a weak blob: no voxel above the core threshold
>>> prob[0, 1, 5:8] = [0.6, 0.995, 0.6]
>>> select_components(prob, threshold=0.5, core_threshold=0.99, select="all")[0, 1].astype(int)
array([0, 0, 0, 0, 0, 1, 1, 1, 0])
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError, InputError
from medscale.image import Image, Mask
from medscale.preprocess.params import require
from medscale.segment.methods import METHODS, component_at
from medscale.segment.unet import CONFIG_FILE, UNetSegmenter

log = logging.getLogger(__name__)

#: How `select_components` chooses among the components that pass hysteresis and size.
SELECTIONS = ("all", "sum", "max", "size")
_FULL = np.ones((3, 3, 3), dtype=bool)


def select_components(
    prob: np.ndarray,
    *,
    threshold: float = 0.4,
    core_threshold: float = 0.99,
    min_size_mm3: float = 0.0,
    select: str = "sum",
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    seed: Sequence[int] | None = None,
) -> np.ndarray:
    """The mask of the chosen connected components of ``prob > threshold``.

    Parameters
    ----------
    prob : ndarray, shape (z, y, x)
        Object probability per voxel, in [0, 1].
    threshold : float
        Low threshold: components (26-connectivity) of ``prob > threshold`` are the candidates.
    core_threshold : float
        High threshold (hysteresis): a candidate is kept only if one of its voxels has
        ``prob > core_threshold``. Equal to `threshold`: plain thresholding.
    min_size_mm3 : float, mm³
        Candidates smaller than this are dropped.
    select : {"sum", "max", "size", "all"}
        Among the remaining candidates keep the one with the largest summed probability
        (``"sum"``), the highest peak probability (``"max"``, ties broken by the sum), the most
        voxels (``"size"``), or every one (``"all"``, for images with several objects).
    spacing : 3 floats, mm
        Voxel spacing (z, y, x), for `min_size_mm3` and the distance to `seed`.
    seed : 3 ints, optional
        Voxel (z, y, x) of the object: keep the remaining candidate holding it, else the
        nearest one (in mm), whatever `select` says.

    Returns
    -------
    ndarray of bool, shape of `prob`
        Empty when no candidate remains.
    """
    require(0 < threshold < 1, "unet", "threshold", "in (0, 1)", threshold)
    require(
        threshold <= core_threshold < 1,
        "unet",
        "core_threshold",
        f">= threshold ({threshold}) and < 1",
        core_threshold,
    )
    require(min_size_mm3 >= 0, "unet", "min_size_mm3", ">= 0 mm³", min_size_mm3)
    if select not in SELECTIONS:
        raise ConfigError(
            f"unet: parameter 'select' must be one of {', '.join(SELECTIONS)}, got {select!r}"
        )
    labels, count = ndimage.label(prob > threshold, structure=_FULL)
    if count == 0:
        return np.zeros(prob.shape, dtype=bool)
    index = np.arange(1, count + 1)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    peaks = ndimage.maximum(prob, labels, index)
    passed = (peaks > core_threshold) & (sizes * float(np.prod(spacing)) >= min_size_mm3)
    log.debug("unet: %d of %d components pass hysteresis and size", passed.sum(), count)
    if not passed.any():
        log.warning(
            "unet: none of %d components above threshold %.2f passes core_threshold %.3f and "
            "min_size_mm3 %.0f (highest probability %.3f); the mask is empty",
            count,
            threshold,
            core_threshold,
            min_size_mm3,
            float(peaks.max()),
        )
        return np.zeros(prob.shape, dtype=bool)
    kept = np.zeros(count + 1, dtype=bool)
    kept[1:] = passed
    if seed is not None:
        return component_at(kept[labels], seed, spacing)
    if select != "all":
        sums = ndimage.sum_labels(prob, labels, index)
        keys = {"sum": (sums,), "max": (sums, peaks), "size": (sums, sizes)}[select]
        candidates = np.flatnonzero(passed)
        best = candidates[np.lexsort(tuple(key[candidates] for key in keys))[-1]]
        kept[1:] = False
        kept[1 + best] = True
    return kept[labels]


@functools.lru_cache(maxsize=4)
def _cached_model(path: str, mtime: float) -> UNetSegmenter:
    return UNetSegmenter.load(path)


@METHODS.register("unet")
def unet(
    image: Image,
    *,
    model: str | None = None,
    threshold: float = 0.4,
    core_threshold: float | None = None,
    min_size_mm3: float = 0.0,
    select: str = "sum",
    largest_component: bool = False,
    flip_average: bool = True,
    seed: tuple[int, ...] | None = None,
    box: tuple[int, ...] | None = None,
) -> Mask:
    """Segment with a trained U-Net model folder (``model=FOLDER``, from `medscale train
    MANIFEST --task segmentation --model unet --out FOLDER` or `UNetSegmenter.save`).

    The defaults keep the one object an image is expected to hold; ``select=all`` keeps every
    component (see `select_components`, which documents the parameters `threshold`,
    `core_threshold`, `min_size_mm3` and `select`). They were chosen on validation cases
    900-929 of the synthetic cohort for the MONAI U-Net trained by `benchmarks/bench_unet.py
    train` (160 cases, 12 epochs): threshold 0.4 and the component with the largest summed
    probability, mean Dice 0.862 (best of 240 combinations 0.863 at threshold 0.3). Hysteresis
    (`core_threshold` 0.99, round 3's hand-written net) emptied masks of this net, whose
    probabilities often stay below 0.99, so `core_threshold` defaults to `threshold` (off).

    Parameters
    ----------
    model : str
        The model folder (required).
    core_threshold : float, optional
        Hysteresis level (default: `threshold`, no hysteresis).
    largest_component : bool
        Same as ``select="size"`` (kept for older configurations).
    flip_average : bool
        Average the probabilities of each slice and of its mirror image in x (twice the
        time; +0.004 mean Dice on validation cases 900-929 of the synthetic cohort).
    seed : tuple of 3 int, optional
        Z,Y,X: keep the component at this voxel (or the nearest) instead of `select`.
    box : tuple of 6 int, optional
        Z0,Y0,X0,Z1,Y1,X1 (upper exclusive): the net sees the whole image (it needs the whole
        field of view) and only components inside the box are candidates.
    """
    if model is None:
        raise ConfigError(
            "unet: parameter 'model' is required (a model folder; train one with "
            "`medscale train MANIFEST --task segmentation --model unet --out FOLDER`)"
        )
    path = Path(model)
    if not path.exists():
        raise InputError(f"unet: model folder {path} does not exist")
    config = path / CONFIG_FILE
    stamp = config.stat().st_mtime if config.is_file() else 0.0
    segmenter = _cached_model(str(path.resolve()), stamp)
    prob = segmenter.probabilities(image, flip_average=flip_average)
    if box is not None:
        inside = np.zeros(image.shape, dtype=bool)
        inside[tuple(slice(lo, hi) for lo, hi in zip(box[:3], box[3:], strict=True))] = True
        prob[~inside] = 0.0
    array = select_components(
        prob,
        threshold=threshold,
        core_threshold=threshold if core_threshold is None else core_threshold,
        min_size_mm3=min_size_mm3,
        select="size" if largest_component else select,
        spacing=image.spacing,
        seed=seed,
    )
    return Mask.like(image, array)
