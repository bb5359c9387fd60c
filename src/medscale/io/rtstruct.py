"""RTSTRUCT (DICOM RT Structure Set, PS3.3 A.19 / C.8.8.5-6) regions of interest as masks.

An ROI is named in StructureSetROISequence (ROIName, ROINumber) and drawn in
ROIContourSequence (ReferencedROINumber): closed planar polygons whose vertices are LPS world
coordinates (ContourData, mm). They are mapped onto a reference image grid and filled slice by
slice.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import MaskError, MedscaleWarning
from medscale.image import Image, Mask
from medscale.io.dicom_object import read_object

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
#: A contour may lie this far (in slices) from the nearest slice centre before it is an error.
MAX_SLICE_OFFSET = 0.5
#: ... and this far before a warning says that the grids may not match.
SLICE_OFFSET_WARNING = 0.1


def is_rtstruct(path: str | Path) -> bool:
    """True when `path` is a readable DICOM RT Structure Set file."""
    from medscale.io.dicom import object_kind

    kind = object_kind(path)
    return kind is not None and (kind[0] == RTSTRUCT_SOP_CLASS or kind[1] == "RTSTRUCT")


def list_rois(path: str | Path) -> list[str]:
    """The ROI names of an RTSTRUCT, in StructureSetROISequence order."""
    return list(_roi_numbers(_read(Path(path)), Path(path)))


def read_rtstruct_mask(
    path: str | Path, reference: Image, roi: str | None = None, *, clip: bool = False
) -> Mask:
    """Rasterise one RTSTRUCT ROI on the grid of `reference`.

    Parameters
    ----------
    path : str or Path
        The RTSTRUCT file.
    reference : Image
        The image the contours were drawn on (its grid receives the mask).
    roi : str, optional
        ROIName to read (an exact match first, then ignoring case); may be omitted when the
        structure set holds a single ROI.
    clip : bool, default False
        Drop, with a warning, contours that lie off the reference grid (more than half a slice
        beyond its first or last slice) instead of raising `MaskError`.

    Returns
    -------
    Mask
        On the grid of `reference`; ``meta`` holds ``roi`` and ``source``.

    Raises
    ------
    MaskError
        Unknown ROI (the message lists the ROIs), several ROIs and no `roi`, an ROI without
        contours, a contour off the grid by more than half a slice (unless `clip`) or not in
        one slice plane, or an empty mask.
    DicomError
        The file is not a readable RTSTRUCT.

    Notes
    -----
    Each CLOSED_PLANAR contour is mapped to continuous voxel indices with the inverse of the
    reference affine, snapped to the nearest slice, and filled by the pixel-centre rule: a
    voxel belongs to the polygon when its centre lies inside (an even-odd scanline test on the
    centres, the rule of ``skimage.draw.polygon``; see `_fill`). Contours on the same slice
    are combined with exclusive-or (even-odd rule), so a contour drawn inside another is a
    hole and disjoint contours add up.

    Why the pixel-centre rule: on the IBSI CT phantom (ROI GTV-1) it reproduces the IBSI NIfTI
    mask exactly (Dice 1.0, 125 256 voxels each, no voxel differs). Also setting the voxels
    that the outline crosses overshoots (Dice 0.98694, 3 315 extra voxels), and an area
    fraction >= 50 % rule (8 x 8 supersampling) gives Dice 0.99879 (207 extra, 97 missing).
    The test is in ``tests/io/test_rtstruct.py``.

    References
    ----------
    DICOM PS3.3 C.8.8.6 (ROI Contour module), C.8.8.5 (Structure Set module).
    """
    path = Path(path)
    dataset = _read(path)
    numbers = _roi_numbers(dataset, path)
    name = _choose_roi(numbers, roi, path)
    _check_frame_of_reference(dataset, reference, path)
    contours = _contours(dataset, numbers[name], name, path)
    if not contours:
        raise MaskError(f"{path}: ROI {name!r} has no closed planar contours")
    array = np.zeros(reference.shape, dtype=bool)
    for points in contours:
        slice_index, rows, columns = _to_grid(points, reference, name, path, clip=clip)
        if slice_index is None:
            continue
        array[slice_index] ^= _fill(rows, columns, reference.shape[1:])
    mask = Mask(
        array,
        reference.spacing,
        reference.origin,
        reference.direction,
        {"roi": name, "source": str(path)},
    )
    if mask.is_empty:
        raise MaskError(
            f"{path}: ROI {name!r} covers no voxel of the reference grid "
            f"{reference!r}; is it the image the contours were drawn on?"
        )
    log.debug("%s: ROI %s -> %d voxels", path, name, mask.voxel_count)
    return mask


def _read(path: Path) -> Any:
    return read_object(path, kind="an RTSTRUCT", sequence="StructureSetROISequence")


def _roi_numbers(dataset: Any, path: Path) -> dict[str, int]:
    return {str(item.ROIName): int(item.ROINumber) for item in dataset.StructureSetROISequence}


def _choose_roi(numbers: dict[str, int], roi: str | None, path: Path) -> str:
    if roi is None:
        if len(numbers) != 1:
            raise MaskError(f"{path}: {len(numbers)} ROIs, pick one by name: {sorted(numbers)}")
        return next(iter(numbers))
    if roi in numbers:
        return roi
    folded = {name.casefold(): name for name in numbers}
    if roi.casefold() in folded:
        return folded[roi.casefold()]
    raise MaskError(f"{path}: no ROI named {roi!r}; the ROIs are {sorted(numbers)}")


def _check_frame_of_reference(dataset: Any, reference: Image, path: Path) -> None:
    theirs = {
        str(item.FrameOfReferenceUID)
        for item in dataset.get("ReferencedFrameOfReferenceSequence", [])
        if "FrameOfReferenceUID" in item
    }
    mine = str(reference.meta.get("frame_of_reference_uid", ""))
    if mine and theirs and mine not in theirs:
        warnings.warn(
            f"{path}: the structure set is on frame of reference {sorted(theirs)}, "
            f"the reference image on {mine}; the contours may not line up",
            MedscaleWarning,
            stacklevel=3,
        )


def _contours(dataset: Any, number: int, name: str, path: Path) -> list[np.ndarray]:
    """The CLOSED_PLANAR polygons of ROI `number`, each (n, 3) LPS mm."""
    polygons = []
    for item in dataset.get("ROIContourSequence", []):
        if int(item.ReferencedROINumber) != number:
            continue
        for contour in item.get("ContourSequence", []):
            kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
            data = _contour_data(contour)
            if kind != "CLOSED_PLANAR" or data.size < 9:
                log.debug(
                    "%s: ROI %s: %s contour of %d values ignored", path, name, kind, data.size
                )
                continue
            polygons.append(data.reshape(-1, 3))
    return polygons


def _contour_data(contour: Any) -> np.ndarray:
    """ContourData as floats, parsed straight from the raw DS bytes when possible (fast)."""
    if "ContourData" not in contour:
        return np.empty(0)
    element = contour.get_item("ContourData")
    raw = getattr(element, "value", None)
    if isinstance(raw, bytes):
        text = raw.decode("ascii", errors="replace").strip(" \x00")
        return np.array(text.split("\\"), dtype=float) if text else np.empty(0)
    return np.asarray(contour.ContourData, dtype=float)


def _to_grid(
    points: np.ndarray, reference: Image, name: str, path: Path, *, clip: bool
) -> tuple[int | None, np.ndarray, np.ndarray]:
    """Slice index and (row, column) vertex coordinates of one contour on the grid."""
    indices = reference.world_to_index(points)
    depth = float(np.mean(indices[:, 0]))
    slice_index = int(np.rint(depth))
    spread = np.abs(indices[:, 0] - slice_index).max()
    if spread > MAX_SLICE_OFFSET:
        raise MaskError(
            f"{path}: ROI {name!r} has a contour that is not in one slice plane of "
            f"the reference grid (its points span {spread:.2f} slices from slice "
            f"{slice_index}); is the reference the image it was drawn on?"
        )
    if not 0 <= slice_index < reference.shape[0]:
        message = (
            f"{path}: ROI {name!r} has a contour at slice position {depth:.2f}, off the "
            f"reference grid (slices 0..{reference.shape[0] - 1}) by more than half a "
            "slice"
        )
        if not clip:
            raise MaskError(message + "; pass clip=True to drop such contours")
        warnings.warn(message + "; dropped", MedscaleWarning, stacklevel=3)
        return None, indices[:, 1], indices[:, 2]
    if abs(depth - slice_index) > SLICE_OFFSET_WARNING:
        warnings.warn(
            f"{path}: ROI {name!r} has a contour {abs(depth - slice_index):.2f} slice "
            f"from the centre of slice {slice_index}; the reference grid may not be "
            "the one the contours were drawn on",
            MedscaleWarning,
            stacklevel=3,
        )
    return slice_index, indices[:, 1], indices[:, 2]


def _fill(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of a (rows, columns) grid whose centres lie inside the polygon (even-odd rule).

    A scanline fill on the pixel centres: for every pixel row ``y``, the polygon edges that
    cross ``y`` (half-open in y, so a vertex on the line counts once) give the crossing
    columns ``x``; each crossing toggles the pixels with centre ``c >= x``, and a pixel is
    inside when it has been toggled an odd number of times. Vectorised over rows x edges.
    """
    filled = np.zeros(shape, dtype=bool)
    lowest, highest = max(int(np.ceil(rows.min())), 0), min(int(np.floor(rows.max())), shape[0] - 1)
    if lowest > highest:
        return filled
    scanlines = np.arange(lowest, highest + 1, dtype=float)[:, None]  # (R, 1)
    r0, r1 = rows[None, :], np.roll(rows, -1)[None, :]  # (1, V): edge from vertex v to v+1
    c0, c1 = columns[None, :], np.roll(columns, -1)[None, :]
    crossing = (r0 <= scanlines) != (r1 <= scanlines)
    line, edge = np.nonzero(crossing)
    t = (scanlines[line, 0] - r0[0, edge]) / (r1[0, edge] - r0[0, edge])
    x = c0[0, edge] + t * (c1[0, edge] - c0[0, edge])
    first_column = np.clip(np.ceil(x), 0, shape[1]).astype(int)
    toggles = np.zeros((scanlines.shape[0], shape[1] + 1), dtype=np.int32)
    np.add.at(toggles, (line, first_column), 1)
    filled[lowest : highest + 1] = (np.cumsum(toggles[:, :-1], axis=1) & 1).astype(bool)
    return filled
