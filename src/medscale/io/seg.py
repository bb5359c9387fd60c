"""DICOM Segmentation (SEG, PS3.3 A.51 / C.8.20) segments as masks on a reference grid.

A SEG is an enhanced multi-frame object: each frame is one plane of one segment (BINARY or
FRACTIONAL; LABELMAP frames hold segment numbers), placed by the Plane Position / Plane
Orientation / Pixel Measures functional groups and tied to its segment by the per-frame
SegmentIdentificationSequence. Frames are placed on the reference grid by their positions, so
frames omitted because they are empty (as highdicom and dcmqi write them) need no special
handling.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import DicomError, MaskError, MedscaleWarning
from medscale.image import Image, Mask
from medscale.io.dicom_object import read_object
from medscale.io.dicom_planes import Plane, planes_of

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

SEG_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7"})
#: Largest distance, in voxels, between a frame's first pixel and a voxel centre of the grid.
POSITION_TOLERANCE_VOXELS = 0.1


def is_seg(path: str | Path) -> bool:
    """True when `path` is a readable DICOM Segmentation file."""
    from medscale.io.dicom import object_kind

    kind = object_kind(path)
    return kind is not None and (kind[0] in SEG_SOP_CLASSES or kind[1] == "SEG")


def list_segments(path: str | Path) -> dict[int, str]:
    """SegmentNumber -> SegmentLabel of a SEG file."""
    return _segments(_read(Path(path), pixels=False))


def read_seg_mask(
    path: str | Path, reference: Image, segment: int | str | None = None, *, threshold: float = 0.5
) -> Mask:
    """One segment of a DICOM SEG as a mask on the grid of `reference`.

    Parameters
    ----------
    path : str or Path
        The SEG file.
    reference : Image
        The image segmented (typically read with `medscale.io.dicom.read_dicom`).
    segment : int or str, optional
        SegmentNumber or SegmentLabel (case-insensitive); may be omitted for a single segment.
    threshold : float, default 0.5
        For FRACTIONAL segmentations: a voxel is set when ``value / MaximumFractionalValue``
        is at least this.

    Returns
    -------
    Mask
        On the grid of `reference`; ``meta`` holds ``segment`` (label), ``segment_number``
        and ``source``.

    Raises
    ------
    MaskError
        Unknown segment (the message lists them), frames on another orientation or pixel
        spacing than the reference, frames between slices or off the grid, or an empty mask.
    DicomError
        The file is not a readable SEG.
    """
    path = Path(path)
    dataset, frames, number, meta = _open_segment(path, reference, segment)
    selected = _frames_of_segment(dataset, frames, number, threshold)
    array = _on_grid(selected, dataset, reference, path, dtype=bool)
    mask = Mask(array, reference.spacing, reference.origin, reference.direction, meta)
    if mask.is_empty:
        raise MaskError(
            f"{path}: segment {number} ({meta['segment']!r}) covers no voxel of "
            f"the reference grid {reference!r}"
        )
    return mask


def read_seg_fractions(
    path: str | Path, reference: Image, segment: int | str | None = None
) -> Image:
    """One segment of a DICOM SEG as fractions in [0, 1] on the grid of `reference`.

    FRACTIONAL frames give ``value / MaximumFractionalValue`` (so a fraction written by
    `medscale.io.seg_write.write_seg` comes back within 1/255); BINARY and LABELMAP frames
    give 0 and 1. Raises as `read_seg_mask`, except that an empty segment is not an error.
    """
    path = Path(path)
    dataset, frames, number, meta = _open_segment(path, reference, segment)
    if str(dataset.get("SegmentationType", "BINARY")) == "FRACTIONAL":
        numbers = np.array([_frame_segment(dataset, k) for k in range(len(frames))])
        maximum = float(dataset.get("MaximumFractionalValue", 255))
        selected = np.where((numbers == number)[:, None, None], frames / maximum, 0.0)
    else:
        selected = _frames_of_segment(dataset, frames, number, 0.5).astype(np.float64)
    array = _on_grid(selected.astype(np.float32), dataset, reference, path, dtype=np.float32)
    return Image(array, reference.spacing, reference.origin, reference.direction, meta)


def _open_segment(
    path: Path, reference: Image, segment: int | str | None
) -> tuple[Any, np.ndarray, int, dict[str, Any]]:
    """The SEG dataset, its frames (n, rows, columns), the chosen segment number and the meta
    of the mask made from it, after checking the frame of reference against `reference`."""
    dataset = _read(path, pixels=True)
    segments = _segments(dataset)
    number = _choose(segments, segment, path)
    _check_frame_of_reference(dataset, reference, path)
    n_frames = int(dataset.get("NumberOfFrames", 1) or 1)
    frames = dataset.pixel_array.reshape(n_frames, int(dataset.Rows), int(dataset.Columns))
    meta = {"segment": segments[number], "segment_number": number, "source": str(path)}
    return dataset, frames, number, meta


def _on_grid(
    selected: np.ndarray, dataset: Any, reference: Image, path: Path, *, dtype: Any
) -> np.ndarray:
    """The non-empty frames of `selected` pasted into an array on `reference`'s grid."""
    planes = planes_of(dataset, n_frames=len(selected))
    array = np.zeros(reference.shape, dtype=dtype)
    for index in np.flatnonzero([frame.any() for frame in selected]):
        _paste(array, selected[index], planes[index], reference, path)
    return array


def _read(path: Path, *, pixels: bool) -> Any:
    return read_object(path, kind="a DICOM SEG", sequence="SegmentSequence", pixels=pixels)


def _segments(dataset: Any) -> dict[int, str]:
    return {
        int(item.SegmentNumber): str(item.get("SegmentLabel", ""))
        for item in dataset.SegmentSequence
    }


def _choose(segments: dict[int, str], segment: int | str | None, path: Path) -> int:
    listing = ", ".join(f"{number}: {label!r}" for number, label in segments.items())
    if segment is None:
        if len(segments) != 1:
            raise MaskError(f"{path}: {len(segments)} segments, pick one: {listing}")
        return next(iter(segments))
    if isinstance(segment, int) and segment in segments:
        return segment
    matches = [n for n, label in segments.items() if label.casefold() == str(segment).casefold()]
    if matches:
        return matches[0]
    raise MaskError(f"{path}: no segment {segment!r}; the segments are {listing}")


def _frames_of_segment(
    dataset: Any, frames: np.ndarray, number: int, threshold: float
) -> np.ndarray:
    """Boolean frames (n, rows, columns) of segment `number`; frames of others are all False."""
    kind = str(dataset.get("SegmentationType", "BINARY"))
    if kind == "LABELMAP":
        return frames == number
    numbers = np.array([_frame_segment(dataset, k) for k in range(len(frames))])
    if kind == "FRACTIONAL":
        maximum = float(dataset.get("MaximumFractionalValue", 255))
        values = frames >= threshold * maximum
    else:
        values = frames.astype(bool)
    return values & (numbers == number)[:, None, None]


def _frame_segment(dataset: Any, frame: int) -> int:
    for name in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        groups = dataset.get(name)
        if not groups:
            continue
        group = groups[frame] if name.startswith("PerFrame") else groups[0]
        if "SegmentIdentificationSequence" in group:
            return int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
    raise DicomError(f"frame {frame + 1} has no SegmentIdentificationSequence")


def _paste(
    array: np.ndarray, frame: np.ndarray, plane: Plane, reference: Image, path: Path
) -> None:
    """Merge one frame into the reference-grid `array` at the plane's position (maximum: OR
    for booleans)."""
    direction = reference.direction_matrix
    if not (
        np.allclose(plane.row_cosine, direction[:, 2], atol=1e-4)
        and np.allclose(plane.column_cosine, direction[:, 1], atol=1e-4)
        and np.allclose(plane.pixel_spacing, reference.spacing[1:], atol=1e-3)
    ):
        raise MaskError(
            f"{path}: {plane.label} has orientation "
            f"{np.r_[plane.row_cosine, plane.column_cosine].round(4).tolist()} and "
            f"pixel spacing {plane.pixel_spacing}, unlike the reference grid "
            f"{reference!r}; resample the segmentation or the image first"
        )
    start = reference.world_to_index(plane.position)
    corner = np.rint(start).astype(int)
    if np.abs(start - corner).max() > POSITION_TOLERANCE_VOXELS:
        raise MaskError(
            f"{path}: {plane.label} starts at voxel {start.round(3).tolist()}, "
            "between the voxels of the reference grid"
        )
    k, j, i = corner
    rows, columns = frame.shape
    lo_j, lo_i = max(j, 0), max(i, 0)
    hi_j, hi_i = min(j + rows, reference.shape[1]), min(i + columns, reference.shape[2])
    inside = 0 <= k < reference.shape[0] and lo_j < hi_j and lo_i < hi_i
    kept = frame[lo_j - j : hi_j - j, lo_i - i : hi_i - i] if inside else frame[:0, :0]
    dropped = np.count_nonzero(frame) - np.count_nonzero(kept)
    if dropped:
        warnings.warn(
            f"{path}: {plane.label} has {dropped} set pixels outside the reference grid; dropped",
            MedscaleWarning,
            stacklevel=4,
        )
    if inside:
        np.maximum(array[k, lo_j:hi_j, lo_i:hi_i], kept, out=array[k, lo_j:hi_j, lo_i:hi_i])


def _check_frame_of_reference(dataset: Any, reference: Image, path: Path) -> None:
    theirs = str(dataset.get("FrameOfReferenceUID", ""))
    mine = str(reference.meta.get("frame_of_reference_uid", ""))
    if mine and theirs and mine != theirs:
        warnings.warn(
            f"{path}: the segmentation is on frame of reference {theirs}, the "
            f"reference image on {mine}; the masks may not line up",
            MedscaleWarning,
            stacklevel=3,
        )
