"""DICOM planes (one per frame) and the regular grid they form once stacked.

A *plane* is one 2-D frame placed in the patient: the LPS position of the centre of its
first pixel, its row and column direction cosines, and its pixel spacing (PS3.3 C.7.6.2).
Classic series give one plane per file; multi-frame objects one per frame, from the
Per-frame / Shared Functional Groups (enhanced objects, PS3.3 C.7.6.16) or from
GridFrameOffsetVector / SpacingBetweenSlices (RT Dose, simple multi-frame).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from medscale.errors import DicomError, GeometryError, MedscaleWarning

log = logging.getLogger(__name__)

#: Largest allowed deviation of a slice gap from the median gap: this fraction of it, in mm.
RELATIVE_GAP_TOLERANCE = 0.01
#: Positions (mm) closer than this along the normal are the same slice.
SAME_POSITION_MM = 1e-3
ORIENTATION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Plane:
    """One frame placed in the patient (all vectors LPS, mm)."""

    position: np.ndarray  # (3,) centre of the first pixel
    row_cosine: np.ndarray  # (3,) direction of increasing column index (array x)
    column_cosine: np.ndarray  # (3,) direction of increasing row index (array y)
    pixel_spacing: tuple[float, float]  # (between rows = y, between columns = x)
    slope: float
    intercept: float
    file: str
    frame: int
    thickness: float | None = None

    @property
    def label(self) -> str:
        return self.file if self.frame == 0 else f"{self.file} frame {self.frame + 1}"


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


def _pixel_spacing(values: Any, file: str) -> tuple[float, float]:
    """(row spacing, column spacing) in mm, i.e. (y, x)."""
    spacing = _floats(values)
    if len(spacing) != 2 or min(spacing) <= 0:
        raise DicomError(f"{file}: PixelSpacing must be two positive numbers, got {spacing}")
    return spacing[0], spacing[1]


def _item(dataset: Any, frame: int, sequence: str) -> Any | None:
    """The functional-group item `sequence` of `frame`: per-frame first, else shared."""
    for groups_name in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        groups = dataset.get(groups_name)
        if not groups:
            continue
        group = groups[frame] if groups_name.startswith("PerFrame") else groups[0]
        if sequence in group and len(group[sequence].value):
            return group[sequence].value[0]
    return None


def _rescale_of(source: Any, dataset: Any) -> tuple[float, float]:
    slope = source.get("RescaleSlope") if source is not None else None
    intercept = source.get("RescaleIntercept") if source is not None else None
    if slope is None and dataset.get("DoseGridScaling") is not None:
        slope = dataset.DoseGridScaling  # RT Dose: stored value x scaling = dose (Gy)
    return (
        float(slope) if slope not in (None, "") else 1.0,
        float(intercept) if intercept not in (None, "") else 0.0,
    )


def planes_of(dataset: Any, *, n_frames: int) -> list[Plane]:
    """The planes of a classic or multi-frame DICOM image dataset."""
    file = str(getattr(dataset, "filename", "") or "dataset")
    if "PerFrameFunctionalGroupsSequence" in dataset:
        return [_enhanced_plane(dataset, frame, file) for frame in range(n_frames)]
    orientation = dataset.get("ImageOrientationPatient")
    position = dataset.get("ImagePositionPatient")
    if orientation is None or position is None:
        log.debug("%s: no ImagePositionPatient / ImageOrientationPatient; identity geometry", file)
        orientation, position = [1, 0, 0, 0, 1, 0], [0, 0, 0]
    row, column = _cosines(_floats(orientation), file)
    spacing = dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing") or [1.0, 1.0]
    slope, intercept = _rescale_of(dataset, dataset)
    thickness = dataset.get("SliceThickness")
    offsets = _frame_offsets(dataset, n_frames, file)
    normal = np.cross(row, column)
    return [
        Plane(
            np.asarray(_floats(position)) + offset * normal,
            row,
            column,
            _pixel_spacing(spacing, file),
            slope,
            intercept,
            file,
            frame,
            float(thickness) if thickness not in (None, "") else None,
        )
        for frame, offset in enumerate(offsets)
    ]


def _frame_offsets(dataset: Any, n_frames: int, file: str) -> list[float]:
    """Distance (mm) of each frame from ImagePositionPatient along the normal."""
    if n_frames == 1:
        return [0.0]
    grid = dataset.get("GridFrameOffsetVector")
    if grid is not None and len(grid) == n_frames:
        return _floats(grid)
    step = dataset.get("SpacingBetweenSlices") or dataset.get("SliceThickness")
    if step in (None, ""):
        warnings.warn(
            f"{file}: {n_frames} frames without GridFrameOffsetVector or "
            "SpacingBetweenSlices; stacked 1 mm apart",
            MedscaleWarning,
            stacklevel=5,
        )
        step = 1.0
    return [k * float(step) for k in range(n_frames)]


def _enhanced_plane(dataset: Any, frame: int, file: str) -> Plane:
    position_item = _item(dataset, frame, "PlanePositionSequence")
    orientation_item = _item(dataset, frame, "PlaneOrientationSequence")
    measures = _item(dataset, frame, "PixelMeasuresSequence")
    if position_item is None or orientation_item is None or measures is None:
        raise DicomError(
            f"{file}: frame {frame + 1} lacks PlanePositionSequence, "
            "PlaneOrientationSequence or PixelMeasuresSequence"
        )
    row, column = _cosines(_floats(orientation_item.ImageOrientationPatient), file)
    slope, intercept = _rescale_of(
        _item(dataset, frame, "PixelValueTransformationSequence"), dataset
    )
    thickness = measures.get("SliceThickness")
    return Plane(
        np.asarray(_floats(position_item.ImagePositionPatient)),
        row,
        column,
        _pixel_spacing(measures.PixelSpacing, file),
        slope,
        intercept,
        file,
        frame,
        float(thickness) if thickness not in (None, "") else None,
    )


def _cosines(orientation: list[float], file: str) -> tuple[np.ndarray, np.ndarray]:
    """Row and column cosines, made exactly orthonormal (Gram-Schmidt)."""
    if len(orientation) != 6:
        raise DicomError(f"{file}: ImageOrientationPatient needs 6 values, got {orientation}")
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    if min(np.linalg.norm(row), np.linalg.norm(column)) < 0.5 or abs(row @ column) > 1e-2:
        raise DicomError(f"{file}: invalid ImageOrientationPatient {orientation}")
    row = row / np.linalg.norm(row)
    column = column - (column @ row) * row
    return row, column / np.linalg.norm(column)


Triple = tuple[float, float, float]


def stack_geometry(
    planes: list[Plane], *, allow_uneven: bool, label: str
) -> tuple[np.ndarray, Triple, Triple, tuple[tuple[float, ...], ...]]:
    """Sort the planes along their normal and check that they form a regular grid.

    Returns
    -------
    order : ndarray of int
        Indices into `planes`, sorted by position along the normal.
    spacing : (z, y, x) mm
    origin : (3,) LPS mm, the first sorted plane's position
    direction : 3 x 3, columns (normal, column cosine, row cosine)
    """
    first = planes[0]
    for plane in planes[1:]:
        if not (
            np.allclose(plane.row_cosine, first.row_cosine, atol=ORIENTATION_TOLERANCE)
            and np.allclose(plane.column_cosine, first.column_cosine, atol=ORIENTATION_TOLERANCE)
        ):
            raise DicomError(
                f"{label}: mixed orientations, {plane.label} has "
                f"{np.r_[plane.row_cosine, plane.column_cosine].round(5).tolist()} "
                f"but {first.label} has "
                f"{np.r_[first.row_cosine, first.column_cosine].round(5).tolist()}"
            )
        if not np.allclose(plane.pixel_spacing, first.pixel_spacing, atol=1e-4):
            raise DicomError(
                f"{label}: mixed pixel spacings, {plane.label} "
                f"{plane.pixel_spacing} vs {first.label} {first.pixel_spacing}"
            )
    normal = np.cross(first.row_cosine, first.column_cosine)
    positions = np.array([p.position for p in planes])
    distances = positions @ normal
    order = np.argsort(distances, kind="stable")
    sorted_distances = distances[order]
    gaps = np.diff(sorted_distances)
    duplicates = np.flatnonzero(gaps < SAME_POSITION_MM)
    if duplicates.size:
        k = duplicates[0]
        raise GeometryError(
            f"{label}: {duplicates.size + 1} or more planes share a position, e.g. "
            f"{planes[order[k]].label} and {planes[order[k + 1]].label} at "
            f"{sorted_distances[k]:.3f} mm along the normal (several echoes, phases or "
            "acquisitions in one series?); split them first"
        )
    z_spacing = _z_spacing(planes, order, gaps, sorted_distances, allow_uneven, label)
    in_plane = positions[order] - positions[order[0]]
    shear = np.abs(in_plane - np.outer(in_plane @ normal, normal)).max()
    if shear > 1e-2:
        warnings.warn(
            f"{label}: slice positions drift {shear:.3f} mm off the slice normal "
            "(gantry tilt?); the grid uses the slice normal",
            MedscaleWarning,
            stacklevel=4,
        )
    spacing = (z_spacing, *first.pixel_spacing)
    direction = np.column_stack([normal, first.column_cosine, first.row_cosine])
    x, y, z = (float(v) for v in positions[order[0]])
    return order, spacing, (x, y, z), tuple(tuple(row) for row in direction.tolist())


def _z_spacing(
    planes: list[Plane],
    order: np.ndarray,
    gaps: np.ndarray,
    distances: np.ndarray,
    allow_uneven: bool,
    label: str,
) -> float:
    if gaps.size == 0:
        thickness = planes[0].thickness
        return thickness if thickness and thickness > 0 else 1.0
    expected = float(np.median(gaps))
    uneven = np.flatnonzero(np.abs(gaps - expected) > RELATIVE_GAP_TOLERANCE * expected)
    if uneven.size == 0:
        return float((distances[-1] - distances[0]) / gaps.size)
    k = uneven[0]
    missing = gaps[k] / expected - 1
    problem = f"about {missing:.0f} slice(s) missing" if missing > 0.5 else "uneven slice spacing"
    message = (
        f"{label}: {problem}: gap of {gaps[k]:.3f} mm instead of {expected:.3f} mm "
        f"between positions {distances[k]:.3f} and {distances[k + 1]:.3f} mm along the "
        f"normal ({planes[order[k]].label} -> {planes[order[k + 1]].label}); "
        f"{uneven.size} uneven gap(s) in all"
    )
    if not allow_uneven:
        raise GeometryError(message + "; pass allow_uneven=True to read it anyway")
    warnings.warn(
        message + f"; using the median spacing {expected:.3f} mm", MedscaleWarning, stacklevel=5
    )
    return expected
