"""Read a DICOM image (one file, or a folder holding a series) into an `Image`.

Geometry follows DICOM PS3.3 C.7.6.2 (Image Plane module) and, for enhanced multi-frame
objects, C.7.6.16 (Per-frame / Shared Functional Groups): every frame is a *plane* with a
position (ImagePositionPatient, the centre of its first pixel, LPS mm), row and column
direction cosines (ImageOrientationPatient) and a pixel spacing (PixelSpacing = row spacing,
column spacing, i.e. y then x). Planes are sorted along the slice normal
``n = row_cosine x column_cosine`` and must be evenly spaced; the image direction has the
columns ``(n, column_cosine, row_cosine)`` for the array axes (z, y, x).
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import DicomError, MedscaleWarning
from medscale.image import Image
from medscale.io.dicom_planes import Plane, planes_of, stack_geometry

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: Modalities of instances that carry no image of the series (ignored when reading images).
NON_IMAGE_MODALITIES = frozenset({"RTSTRUCT", "RTPLAN", "SEG", "SR", "PR", "KO", "REG", "DOC"})
INSTALL_HINT = "pip install medscale[dicom]"
#: Values larger than this (pixel data) are read from the file only when used.
DEFER_BYTES = 4096


@dataclass(frozen=True)
class SeriesInfo:
    """A short summary of one series found in a folder (see `list_series`)."""

    series_uid: str
    description: str
    modality: str
    n_instances: int
    files: tuple[Path, ...]

    def __str__(self) -> str:
        return (
            f"{self.series_uid} ({self.modality or '?'}, "
            f"{self.description or 'no description'!r}, {self.n_instances} instances)"
        )


def read_dicom(
    path: str | Path, *, series_uid: str | None = None, allow_uneven: bool = False
) -> Image:
    """Read a DICOM image file, or the image series in a folder (searched recursively).

    Parameters
    ----------
    path : str or Path
        A DICOM file (single- or multi-frame) or a folder of DICOM files.
    series_uid : str, optional
        Which series to read when the folder holds several (SeriesInstanceUID).
    allow_uneven : bool, default False
        Accept missing slices or uneven slice spacing with a `MedscaleWarning`; the z spacing is
        then the median spacing, so positions beyond a gap are approximate.

    Returns
    -------
    Image
        Voxels after the modality LUT: ``stored * RescaleSlope + RescaleIntercept`` (PS3.3
        C.11.1.1.2). The stored dtype is kept when there is no rescale, int16 / int32 when the
        rescaled values stay integral, float32 otherwise. Colour images become grey (ITU-R
        BT.601 luma, with a warning). ``meta`` holds ``modality``, ``units`` ("HU" for CT),
        ``series_uid``, ``study_uid``, ``patient_id``, ``frame_of_reference_uid``,
        ``series_description``, ``transfer_syntax`` and ``source``.

    Raises
    ------
    DicomError
        Nothing readable, several series and no `series_uid`, unknown `series_uid`, mixed
        orientations or pixel sizes, or a compressed transfer syntax without its codec.
    GeometryError
        Missing slices or uneven spacing (unless `allow_uneven`), or duplicate positions.
    """
    path = Path(path)
    series = _scan(path)
    if series_uid is not None:
        if series_uid not in series:
            raise DicomError(f"{path}: no series {series_uid!r}; found: " + _listing(series))
        chosen = series[series_uid]
    elif len(series) > 1:
        raise DicomError(
            f"{path}: {len(series)} series found, pick one with series_uid= "
            "(or --series-uid): " + _listing(series)
        )
    else:
        chosen = next(iter(series.values()))
    return _read_series(path, chosen, allow_uneven=allow_uneven)


def list_series(path: str | Path) -> list[SeriesInfo]:
    """Summaries of the image series in a DICOM file or folder (non-image instances ignored)."""
    path = Path(path)
    return [_summary(uid, headers) for uid, headers in _scan(path).items()]


# -- scanning -------------------------------------------------------------------------------
def _scan(path: Path) -> dict[str, list[Any]]:
    """Image datasets (pixel data deferred) grouped by SeriesInstanceUID, in file-name order."""
    if not path.exists():
        raise DicomError(f"{path}: no such file or folder")
    files = (
        [path]
        if path.is_file()
        else sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    )  # hidden files and folders (.DS_Store, .git) are not part of a series
    series: dict[str, list[Any]] = defaultdict(list)
    for file in files:
        header = _read_header(file, strict=path.is_file())
        if header is None:
            continue
        modality = str(header.get("Modality", "")).upper()
        if modality in NON_IMAGE_MODALITIES:
            log.debug("%s: %s instance, not part of the image", file, modality)
            continue
        if "Rows" not in header:
            if _is_non_image_class(header):
                log.debug("%s: %s, not an image", file, _sop_class(header).name)
            else:
                _skip(
                    file,
                    "no Rows / Columns: truncated, or not an image instance",
                    strict=path.is_file(),
                )
            continue
        series[str(header.get("SeriesInstanceUID", "unknown"))].append(header)
    if not series:
        what = "file" if path.is_file() else "folder"
        raise DicomError(f"{path}: no readable DICOM image in this {what}")
    return dict(series)


def _read_header(file: Path, *, strict: bool) -> Any | None:
    import pydicom

    try:
        header = pydicom.dcmread(file, defer_size=DEFER_BYTES)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported and skipped
        _skip(
            file,
            f"not a readable DICOM file ({type(err).__name__}: {err})",
            strict=strict,
            cause=err,
        )
        return None
    header.filename = str(file)
    return header


def _sop_class(header: Any) -> Any:
    file_meta = getattr(header, "file_meta", {})
    return header.get("SOPClassUID") or file_meta.get("MediaStorageSOPClassUID")


def _is_non_image_class(header: Any) -> bool:
    """True for a known SOP class that holds no image (DICOMDIR, reports, plans, ...)."""
    sop_class = _sop_class(header)
    name = str(getattr(sop_class, "name", ""))
    return bool(sop_class) and name != str(sop_class) and "Image" not in name


def _skip(file: Path, reason: str, *, strict: bool, cause: Exception | None = None) -> None:
    """Warn that `file` is left out of the image, or raise when it was asked for alone."""
    if strict:
        raise DicomError(f"{file}: {reason}") from cause
    warnings.warn(f"{file}: skipped, {reason}", MedscaleWarning, stacklevel=5)


def _summary(uid: str, headers: list[Any]) -> SeriesInfo:
    first = headers[0]
    return SeriesInfo(
        uid,
        str(first.get("SeriesDescription", "")),
        str(first.get("Modality", "")),
        len(headers),
        tuple(Path(h.filename) for h in headers),
    )


def _listing(series: dict[str, list[Any]]) -> str:
    return "; ".join(str(_summary(uid, headers)) for uid, headers in series.items())


# -- pixels ---------------------------------------------------------------------------------
def _read_series(path: Path, headers: list[Any], *, allow_uneven: bool) -> Image:
    planes: list[Plane] = []
    frames: dict[str, np.ndarray] = {}
    first_dataset = None
    for header in headers:
        dataset, pixels = _load_pixels(header, strict=path.is_file())
        if dataset is None:
            continue
        if first_dataset is None:
            first_dataset = dataset
        frames[header.filename] = pixels
        planes.extend(planes_of(dataset, n_frames=len(pixels)))
    if first_dataset is None:
        raise DicomError(f"{path}: no DICOM image with readable pixel data")
    unplaced = [
        h.filename
        for h in headers
        if "ImagePositionPatient" not in h and "PerFrameFunctionalGroupsSequence" not in h
    ]
    if len(headers) > 1 and unplaced:
        raise DicomError(
            f"{path}: {len(unplaced)} of {len(headers)} files have no "
            f"ImagePositionPatient (e.g. {unplaced[0]}); the slices cannot be "
            "placed in space"
        )
    order, spacing, origin, direction = stack_geometry(
        planes, allow_uneven=allow_uneven, label=str(path)
    )
    ordered = [planes[i] for i in order]
    shapes = {frames[p.file][p.frame].shape for p in ordered}
    if len(shapes) > 1:
        raise DicomError(f"{path}: slices have different sizes {sorted(shapes)}")
    array = _rescale(ordered, [frames[p.file][p.frame] for p in ordered], label=str(path))
    return Image(array, spacing, origin, direction, _meta(first_dataset, path))


def _load_pixels(dataset: Any, *, strict: bool) -> tuple[Any | None, np.ndarray]:
    """The dataset and its frames as an array (frames, rows, columns), grey."""
    file = Path(dataset.filename)
    try:
        pixels = dataset.pixel_array
    except (NotImplementedError, RuntimeError, ImportError) as err:
        syntax = _transfer_syntax(dataset)
        if "raised by all available plugins" in str(err):  # codecs there, the data is broken
            reasons = "; ".join(line.strip() for line in str(err).splitlines()[1:] if line.strip())
            raise DicomError(
                f"{file}: corrupt or truncated {syntax} pixel data (decoders: {reasons})"
            ) from err
        raise DicomError(
            f"{file}: cannot decode pixel data in transfer syntax {syntax} "
            f"({err}); install the codecs with `{INSTALL_HINT}`"
        ) from err
    except Exception as err:  # noqa: BLE001 - truncated / corrupt pixel data
        _skip(file, f"unreadable pixel data ({err})", strict=strict, cause=err)
        return None, np.empty(0)
    n_frames = int(dataset.get("NumberOfFrames", 1) or 1)
    samples = int(dataset.get("SamplesPerPixel", 1))
    if str(dataset.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        pixels, samples = apply_color_lut(pixels, dataset), 3
    if samples > 1:
        from medscale.io.png import luma_bt601

        warnings.warn(
            f"{file}: colour image ({dataset.PhotometricInterpretation}) converted "
            "to grey with ITU-R BT.601 luma",
            MedscaleWarning,
            stacklevel=4,
        )
        pixels = luma_bt601(pixels)
    return dataset, pixels.reshape(n_frames, *pixels.shape[-2:])


def _transfer_syntax(dataset: Any) -> str:
    uid = getattr(dataset, "file_meta", {}).get("TransferSyntaxUID")
    return f"{uid.name} ({uid})" if uid else "unknown"


def _rescale(planes: list[Plane], frames: list[np.ndarray], *, label: str) -> np.ndarray:
    """Apply each plane's slope and intercept; pick the smallest faithful dtype."""
    stored = np.stack(frames)
    slopes = np.array([p.slope for p in planes])
    intercepts = np.array([p.intercept for p in planes])
    if np.all(slopes == 1) and np.all(intercepts == 0):
        return stored
    integral = np.all(slopes == np.round(slopes)) and np.all(intercepts == np.round(intercepts))
    if not (integral and np.issubdtype(stored.dtype, np.integer)):
        return _apply(stored, slopes, intercepts, np.float32)
    low, high = float(stored.min()), float(stored.max())
    ends = np.concatenate([low * slopes + intercepts, high * slopes + intercepts, [low, high]])
    for dtype in (np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if ends.min() >= info.min and ends.max() <= info.max:
            return _apply(stored, slopes, intercepts, dtype)
    raise DicomError(f"{label}: rescaled values {ends.min()}..{ends.max()} exceed int64")


def _apply(
    stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray, dtype: Any
) -> np.ndarray:
    """``stored * slope + intercept`` per slice, computed in `dtype` (large enough)."""
    values = stored.astype(dtype)
    if np.all(slopes == slopes[0]) and np.all(intercepts == intercepts[0]):
        if slopes[0] != 1:
            values *= values.dtype.type(slopes[0])
        values += values.dtype.type(intercepts[0])
        return values
    values *= slopes.astype(dtype)[:, None, None]
    values += intercepts.astype(dtype)[:, None, None]
    return values


def _meta(dataset: Any, path: Path) -> dict[str, Any]:
    modality = str(dataset.get("Modality", ""))
    units = {"CT": "HU"}.get(modality, "")
    if modality == "RTDOSE":
        units = str(dataset.get("DoseUnits", "GY")).replace("GY", "Gy")
    elif modality == "PT":
        units = str(dataset.get("Units", ""))
    syntax = dataset.file_meta.get("TransferSyntaxUID") if hasattr(dataset, "file_meta") else None
    return {
        "modality": modality,
        "units": units,
        "series_uid": str(dataset.get("SeriesInstanceUID", "")),
        "study_uid": str(dataset.get("StudyInstanceUID", "")),
        "patient_id": str(dataset.get("PatientID", "")),
        "frame_of_reference_uid": str(dataset.get("FrameOfReferenceUID", "")),
        "series_description": str(dataset.get("SeriesDescription", "")),
        "transfer_syntax": str(syntax.name) if syntax else "",
        "source": str(path),
    }


def object_kind(path: str | Path) -> tuple[str, str] | None:
    """(SOPClassUID, Modality) of a DICOM file from its header; None when it is not readable.

    Both values are "" when absent. `rtstruct.is_rtstruct` and `seg.is_seg` decide from these.
    """
    import pydicom

    path = Path(path)
    if not path.is_file():
        return None
    try:
        header = pydicom.dcmread(
            path, stop_before_pixels=True, specific_tags=["SOPClassUID", "Modality"]
        )
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a DICOM object
        return None
    return str(header.get("SOPClassUID", "")), str(header.get("Modality", ""))
