"""The core value types: `Image` and `Mask`.

Conventions, used everywhere in medscale:

- ``array`` axes are (z, y, x); a 2-D image has z = 1.
- ``spacing`` is in mm, in the same (z, y, x) order as the array axes.
- ``origin`` is the world position, in mm, of the centre of voxel ``[0, 0, 0]``, given as
  DICOM patient coordinates (x, y, z) in the LPS frame, as DICOM and SimpleITK use.
- ``direction`` is a 3 x 3 matrix whose column ``j`` is the unit vector, in LPS world
  coordinates, along which array axis ``j`` (0 = z, 1 = y, 2 = x) runs.

So the world position of voxel index ``(k, j, i)`` is
``origin + direction @ (spacing * (k, j, i))``; `Image.affine` is that map as a 4 x 4 matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Self

import numpy as np

from medscale.errors import GeometryError, MaskError

_IDENTITY = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))  # z→Z, y→Y, x→X
_EYE = np.eye(3)


def _as_triple(values: Any, name: str) -> tuple[float, float, float]:
    triple = tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
    if len(triple) != 3 or not all(np.isfinite(triple)):
        raise GeometryError(f"{name} must be three finite numbers, got {values!r}")
    return triple  # type: ignore[return-value]


def _as_direction(values: Any) -> tuple[tuple[float, ...], ...]:
    matrix = np.asarray(values, dtype=float)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        raise GeometryError(f"direction must be a finite 3 x 3 matrix, got {values!r}")
    # np.allclose(gram, I, atol=1e-4) without its Python overhead (an Image is made per read)
    if not np.all(np.abs(matrix.T @ matrix - _EYE) <= 1e-4 + 1e-5 * _EYE):
        raise GeometryError(f"direction must be orthonormal, got {matrix.tolist()}")
    return tuple(tuple(row) for row in matrix.tolist())


def _within(a: Any, b: Any, tol: float) -> bool:
    """``np.allclose(a, b, atol=tol, rtol=0)`` for small tuples, without its overhead."""
    return bool(np.all(np.abs(np.subtract(a, b, dtype=float)) <= tol))


def _frozen_view(array: Any) -> np.ndarray:
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False, repr=False)
class Image:
    """An image on a physical grid: voxels plus the geometry that places them in the patient.

    Parameters
    ----------
    array : numpy.ndarray, shape (z, y, x)
        Voxel values. A 2-D array (y, x) is taken as one slice, shape (1, y, x).
        The array is held as a read-only view; it is never copied or changed.
    spacing : tuple of float, mm, (z, y, x)
        Distance between voxel centres along each array axis.
    origin : tuple of float, mm, LPS (x, y, z)
        World position of the centre of voxel ``[0, 0, 0]``.
    direction : 3 x 3, optional
        Column ``j`` is the world direction of array axis ``j``; identity-like by default
        (z along Z, y along Y, x along X).
    meta : mapping, optional
        Free-form facts about the image: ``modality``, ``units`` (e.g. ``"HU"``), ``source``.

    Examples
    --------
    >>> import numpy as np
    >>> image = Image(np.zeros((2, 3, 4)), spacing=(3.0, 0.5, 0.5))
    >>> image.shape, image.world_extent_mm
    ((2, 3, 4), (6.0, 1.5, 2.0))
    """

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[tuple[float, ...], ...] = _IDENTITY
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.ndim != 3:
            raise GeometryError(
                f"an image array must be 2-D (y, x) or 3-D (z, y, x), got shape {array.shape}"
            )
        if 0 in array.shape:
            raise GeometryError(f"an image array must not be empty, got shape {array.shape}")
        spacing = _as_triple(self.spacing, "spacing")
        if min(spacing) <= 0:
            raise GeometryError(f"spacing must be positive, got {spacing}")
        object.__setattr__(self, "array", _frozen_view(array))
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", _as_triple(self.origin, "origin"))
        object.__setattr__(self, "direction", _as_direction(self.direction))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    # -- shape and geometry ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return self.array.shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def is_2d(self) -> bool:
        """True for a single slice (z = 1), such as an X-ray or one ultrasound frame."""
        return self.shape[0] == 1

    @property
    def direction_matrix(self) -> np.ndarray:
        return np.array(self.direction)

    @property
    def affine(self) -> np.ndarray:
        """4 x 4 map from homogeneous voxel indices (z, y, x, 1) to LPS world (x, y, z, 1), mm."""
        affine = np.eye(4)
        affine[:3, :3] = self.direction_matrix * np.array(self.spacing)[np.newaxis, :]
        affine[:3, 3] = self.origin
        return affine

    @property
    def world_extent_mm(self) -> tuple[float, float, float]:
        """Size of the grid along each array axis, voxel count times spacing, (z, y, x)."""
        return tuple(n * s for n, s in zip(self.shape, self.spacing, strict=True))  # type: ignore[return-value]

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def index_to_world(self, indices: Any) -> np.ndarray:
        """World LPS (x, y, z) positions of voxel indices (..., 3) given as (z, y, x)."""
        indices = np.asarray(indices, dtype=float)
        return indices @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_to_index(self, points: Any) -> np.ndarray:
        """Continuous voxel indices (z, y, x) of world LPS (x, y, z) points (..., 3)."""
        points = np.asarray(points, dtype=float)
        return (points - self.affine[:3, 3]) @ np.linalg.inv(self.affine[:3, :3]).T

    def geometry_equal(self, other: Image, *, tol_mm: float = 1e-3) -> bool:
        """True when both images lie on the same grid, within `tol_mm` for positions.

        Direction cosines are compared with a tolerance of 1e-4.
        """
        return (
            self.shape == other.shape
            and _within(self.spacing, other.spacing, tol_mm)
            and _within(self.origin, other.origin, tol_mm)
            and _within(self.direction, other.direction, 1e-4)
        )

    def require_same_grid(self, other: Image, *, what: str = "mask", tol_mm: float = 1e-3) -> None:
        """Raise `GeometryError` saying how `other` differs from this image's grid."""
        if self.geometry_equal(other, tol_mm=tol_mm):
            return
        differences = []
        if self.shape != other.shape:
            differences.append(f"shape {other.shape} vs {self.shape}")
        for name in ("spacing", "origin", "direction"):
            mine, theirs = np.asarray(getattr(self, name)), np.asarray(getattr(other, name))
            if mine.shape != theirs.shape or not np.allclose(mine, theirs, atol=tol_mm, rtol=0):
                differences.append(f"{name} {theirs.round(4).tolist()} vs {mine.round(4).tolist()}")
        raise GeometryError(
            f"the {what} is not on the image grid ({'; '.join(differences)}); "
            f"resample the {what} onto the image first"
        )

    # -- new images from this one -------------------------------------------------------------
    def with_array(self, array: Any, **meta_updates: Any) -> Self:
        """A new image on the same grid with other voxels (same shape required)."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.shape != self.shape:
            raise GeometryError(
                f"with_array needs the grid's shape {self.shape}, got {array.shape}"
            )
        return type(self)(
            array, self.spacing, self.origin, self.direction, {**self.meta, **meta_updates}
        )

    def with_geometry(
        self,
        *,
        array: Any | None = None,
        spacing: Any | None = None,
        origin: Any | None = None,
        direction: Any | None = None,
    ) -> Self:
        """A new image with some of array / spacing / origin / direction replaced."""
        return type(self)(
            self.array if array is None else array,
            self.spacing if spacing is None else spacing,
            self.origin if origin is None else origin,
            self.direction if direction is None else direction,
            self.meta,
        )

    def crop(self, lower: Any, upper: Any) -> Self:
        """The sub-grid of voxels ``lower <= index < upper`` (z, y, x), origin moved to match."""
        lower = np.clip(np.asarray(lower, dtype=int), 0, self.shape)
        upper = np.clip(np.asarray(upper, dtype=int), lower, self.shape)
        region = tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))
        origin = tuple(self.index_to_world(lower))
        return type(self)(self.array[region], self.spacing, origin, self.direction, self.meta)

    def astype(self, dtype: Any) -> Image:
        return self.with_array(self.array.astype(dtype))

    def __repr__(self) -> str:
        spacing = ", ".join(f"{s:.4g}" for s in self.spacing)
        return (
            f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, "
            f"spacing=({spacing}) mm, origin={tuple(round(o, 3) for o in self.origin)})"
        )


class Mask(Image):
    """A region of interest: an `Image` of booleans.

    Build one from any array of 0/1 (or bool) values, or from an image grid with
    `Mask.like(image, array)`. Non-binary input is an error, not silently thresholded.
    """

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.dtype != bool:
            if not np.issubdtype(array.dtype, np.number):
                raise MaskError(f"a mask must be numeric or boolean, got dtype {array.dtype}")
            values = np.unique(array)
            if not np.all(np.isin(values, (0, 1))):
                raise MaskError(
                    "a mask must hold only 0 and 1, got values "
                    f"{values[:8].tolist()}{' ...' if values.size > 8 else ''}; "
                    "pick one label with `label_mask(image, label)` first"
                )
            array = array.astype(bool)
        object.__setattr__(self, "array", array)
        super().__post_init__()

    @classmethod
    def like(cls, image: Image, array: Any) -> Mask:
        """A mask on the grid of `image`."""
        return cls(array, image.spacing, image.origin, image.direction)

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.array))

    @property
    def is_empty(self) -> bool:
        return not self.array.any()

    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) voxel indices, upper exclusive, of the set voxels; MaskError if empty."""
        if self.is_empty:
            raise MaskError("the mask is empty: no voxel is set")
        nonzero = [np.flatnonzero(self.array.any(axis=axes)) for axes in ((1, 2), (0, 2), (0, 1))]
        lower = np.array([idx[0] for idx in nonzero])
        upper = np.array([idx[-1] + 1 for idx in nonzero])
        return lower, upper


def label_mask(labels: Image, label: int = 1) -> Mask:
    """The mask of voxels equal to `label` in a label map (e.g. a NRRD segmentation)."""
    mask = Mask.like(labels, labels.array == label)
    if mask.is_empty:
        present = np.unique(labels.array)[:10].tolist()
        raise MaskError(
            f"label {label} does not occur in the label map (labels present: {present})"
        )
    return mask
