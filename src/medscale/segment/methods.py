"""The registry of segmentation methods and the one entry point, `segment`.

A method is a plain function ``method(image, *, params...) -> Mask``. `segment` adds what every
method shares: a seed and a bounding box in voxel indices (z, y, x).

- ``box=(z0, y0, x0, z1, y1, x1)`` (upper bounds exclusive): methods that do not take a box
  run on the cropped image and their result is pasted back on the full grid; methods that
  take one (the U-Net, which needs the whole field of view) get it as six integers.
- ``seed=(z, y, x)``: methods that do not take a seed keep only the connected component that
  holds the seed (or the one nearest to it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from medscale.errors import ConfigError, InputError, MaskError
from medscale.image import Image, Mask
from medscale.params import MissingParameterError, Registry, parse_spec, require_finite
from medscale.preprocess.morphology import image_footprint

log = logging.getLogger(__name__)

#: Every segmentation method by its snake_case name; filled by the method modules.
METHODS = Registry("segmentation method")


def check_seed(seed: Sequence[int] | None, image: Image, op: str) -> tuple[int, int, int] | None:
    """Validate a voxel seed (z, y, x), or (y, x) for a 2-D image; `ConfigError` otherwise."""
    if seed is None:
        return None
    values = [int(v) for v in seed]
    if len(values) == 2 and image.is_2d:
        values = [0, *values]
    if len(values) != 3:
        raise ConfigError(f"{op}: parameter 'seed' must be three voxel indices Z,Y,X, got {seed!r}")
    if not all(0 <= v < n for v, n in zip(values, image.shape, strict=True)):
        raise ConfigError(
            f"{op}: parameter 'seed' {tuple(values)} lies outside the image of "
            f"shape {image.shape} (z, y, x)"
        )
    z, y, x = values
    return z, y, x


def need_seed(seed: Sequence[int] | None, image: Image, op: str) -> tuple[int, int, int]:
    """`check_seed` for a method that cannot run without a seed (`MissingParameterError`)."""
    checked = check_seed(seed, image, op)
    if checked is None:
        centre = ",".join(str(n // 2) for n in image.shape)
        raise MissingParameterError(op, "seed", "voxel indices Z,Y,X", centre)
    return checked


def check_box(
    box: Sequence[int] | None, image: Image, op: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Validate a box Z0,Y0,X0,Z1,Y1,X1 (upper exclusive); returns (lower, upper) clipped."""
    if box is None:
        return None
    values = np.asarray([int(v) for v in box])
    if values.size == 4 and image.is_2d:
        values = np.array([0, values[0], values[1], 1, values[2], values[3]])
    if values.size != 6:
        raise ConfigError(
            f"{op}: parameter 'box' must be six voxel indices Z0,Y0,X0,Z1,Y1,X1, got {box!r}"
        )
    lower = np.clip(values[:3], 0, image.shape)
    upper = np.clip(values[3:], 0, image.shape)
    if np.any(upper <= lower):
        raise ConfigError(
            f"{op}: parameter 'box' {values.tolist()} is empty inside the image of "
            f"shape {image.shape}; upper bounds are exclusive and must exceed lower"
        )
    return lower, upper


def component_at(mask: np.ndarray, seed: Sequence[int], spacing: Sequence[float]) -> np.ndarray:
    """The connected component (26-connectivity) holding `seed`, else the one nearest to it (mm)."""
    from scipy import ndimage

    if not mask.any():
        return mask
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    label = labels[tuple(seed)]
    if label == 0:
        points = np.argwhere(mask)
        distance = (((points - np.asarray(seed)) * np.asarray(spacing)) ** 2).sum(axis=1)
        label = labels[tuple(points[int(np.argmin(distance))])]
    return labels == label


def seed_ball(image: Image, seed: Sequence[int], radius_mm: float) -> np.ndarray:
    """The voxels within `radius_mm` of `seed` (z, y, x), in-plane for a 2-D image."""
    from scipy import ndimage

    start = np.zeros(image.shape, dtype=bool)
    start[tuple(seed)] = True
    return ndimage.binary_dilation(start, image_footprint(image, radius_mm))


def _with_inline_params(method: str, params: dict[str, Any]) -> str:
    """The name of a method spec ``NAME:k=v,...``; its parameters are added to `params`."""
    name, inline = parse_spec(method)
    both = sorted(set(inline) & set(params))
    if both:
        raise ConfigError(
            f"{name}: parameter(s) {both} given "
            f"both in the spec {method!r} and as keyword arguments"
        )
    params.update(inline)
    return name


def segment(image: Image, method: str, **params: Any) -> Mask:
    """Segment `image` with the method called `method` and its parameters.

    Parameters
    ----------
    image : Image
        2-D or 3-D image.
    method : str
        A name in `METHODS` (``otsu``, ``kmeans``, ``region_growing``, ...), or a spec
        ``NAME:k=v,...`` as for a preprocessing step (``"otsu:n_bins=64"``).
    **params
        The method's keyword parameters, as values or text (``"1.5"``, ``"10,20,30"``);
        ``seed`` and ``box`` are accepted by every method (see the module docstring).

    Returns
    -------
    Mask
        On the grid of `image`.

    Raises
    ------
    ConfigError
        Unknown method or parameter, or a value out of range (naming both).
    InputError
        An image with NaN, or a 2-D method given a 3-D image.
    """
    operation = METHODS.get(_with_inline_params(method, params))
    name = operation.name
    extra = {key: params.pop(key) for key in ("seed", "box") if key in params}
    params = operation.coerce(params)
    require_finite(image, name)
    seed = box = None
    if extra.get("seed") is not None:
        seed = check_seed(_ints(extra["seed"], name, "seed"), image, name)
    if extra.get("box") is not None:
        box = check_box(_ints(extra["box"], name, "box"), image, name)
    target = image
    takes_box = "box" in operation.parameters
    if takes_box:
        params["box"] = None if box is None else tuple(int(v) for v in (*box[0], *box[1]))
    elif box is not None:
        target = image.crop(*box)
    if box is not None and seed is not None:
        inside = np.all((np.asarray(seed) >= box[0]) & (np.asarray(seed) < box[1]))
        if not inside:
            raise ConfigError(
                f"{name}: parameter 'seed' {seed} lies outside the box "
                f"{box[0].tolist()}..{box[1].tolist()} (upper exclusive)"
            )
        if not takes_box:
            z, y, x = (int(v) for v in np.asarray(seed) - box[0])
            seed = (z, y, x)
    takes_seed = "seed" in operation.parameters
    if takes_seed:
        params["seed"] = seed
    result = operation.function(target, **params)
    array = np.asarray(result.array if isinstance(result, Image) else result, dtype=bool)
    if array.shape != target.shape:
        raise InputError(f"{name}: returned shape {array.shape}, expected {target.shape}")
    if seed is not None and not takes_seed:
        array = component_at(array, seed, target.spacing)
    if box is not None and not takes_box:
        full = np.zeros(image.shape, dtype=bool)
        full[tuple(slice(lo, hi) for lo, hi in zip(*box, strict=True))] = array
        array = full
    mask = Mask.like(image, array)
    if mask.is_empty:
        log.warning("%s: the segmentation is empty", name)
    return mask


def _ints(value: Any, op: str, key: str) -> tuple[int, ...]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    else:
        parts = list(np.atleast_1d(value))
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{op}: parameter {key!r} must be integers, got {value!r}") from err
    if not all(n.is_integer() for n in numbers):
        raise ConfigError(f"{op}: parameter {key!r} must be integers, got {value!r}")
    return tuple(int(n) for n in numbers)


def as_mask(image: Image, array: np.ndarray) -> Mask:
    """A `Mask` on the grid of `image` from a boolean array (shape (y, x) for 2-D images)."""
    array = np.asarray(array, dtype=bool)
    return Mask.like(image, array.reshape(image.shape))


def ensure_not_empty(mask: Mask, what: str) -> Mask:
    """Raise `MaskError` naming `what` when `mask` is empty."""
    if mask.is_empty:
        raise MaskError(f"{what}: the mask is empty")
    return mask
