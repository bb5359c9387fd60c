"""Writing DICOM: CT/MR image series, single-frame radiographs (CR) and RTSTRUCT from a mask.

Geometry follows DICOM PS3.3 C.7.6.2 (Image Plane): ImageOrientationPatient holds the world
directions of array axes x (row direction) and y (column direction); ImagePositionPatient of
slice ``k`` is ``origin + k * spacing_z * direction[:, 0]``; PixelSpacing is (y, x) spacing.
For a series to read back unchanged, the slice axis must point along row x column (a
right-handed direction matrix, as medscale's default); other directions are written faithfully
but readers re-sort the slices.

Voxels are stored as 16-bit unsigned integers with RescaleSlope / RescaleIntercept (PS3.3
C.7.6.16.2.11): integer images exactly (intercept -1024 for CT values down to -1024), other
images linearly quantised to 65536 levels (error at most half the slope).

UIDs are made with `pydicom.uid.generate_uid` from deterministic entropy (the given UIDs, else
a hash of voxels, geometry and header), so writing the same input twice gives the same files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import ConfigError, DicomError, MaskError
from medscale.image import Image, Mask

log = logging.getLogger(__name__)

_SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
}
_RTSTRUCT_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
_UID_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID")
#: Patient and study attributes every written object carries (empty when unknown); an
#: RTSTRUCT copies them from its image series.
PATIENT_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "Manufacturer",
)


def _ds(values: Sequence[float] | np.ndarray) -> list[Any]:
    from pydicom.valuerep import DSfloat

    return [DSfloat(float(v), auto_format=True) for v in values]


def _uid(*parts: object) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=[str(p) for p in parts]))


def _content_key(image: Image, header: Mapping[str, object]) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(image.array).tobytes())
    digest.update(repr((image.spacing, image.origin, image.direction)).encode())
    digest.update(repr(sorted((k, str(v)) for k, v in header.items())).encode())
    return digest.hexdigest()


def _resolve_uids(
    image: Image, header: Mapping[str, object], uids: Mapping[str, str] | None
) -> dict[str, str]:
    """Study/Series/FrameOfReference UIDs: from `uids`, else `header`, else content-derived."""
    given = {**{k: str(header[k]) for k in _UID_KEYS if k in header}, **dict(uids or {})}
    key = _content_key(image, header)
    return {name: given.get(name) or _uid(key, name) for name in _UID_KEYS}


def _quantise(array: np.ndarray, modality: str) -> tuple[np.ndarray, float, float]:
    """(uint16 stored values, slope, intercept) with value = slope * stored + intercept."""
    values = np.asarray(array, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if np.array_equal(values, np.round(values)):
        intercept = 0.0 if low >= 0 else (-1024.0 if modality == "CT" and low >= -1024 else low)
        if high - intercept <= 65535:
            return (values - intercept).astype(np.uint16), 1.0, intercept
    slope = (high - low) / 65535.0 if high > low else 1.0
    stored = np.clip(np.round((values - low) / slope), 0, 65535).astype(np.uint16)
    return stored, slope, low


def _base_dataset(header: Mapping[str, object], sop_class: str, sop_uid: str) -> Any:
    from pydicom.datadict import dictionary_has_tag, tag_for_keyword
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    now = dt.datetime(2000, 1, 1)  # fixed, so output is reproducible; real dates come in header
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    for keyword, value in header.items():
        tag = tag_for_keyword(keyword)
        if tag is None or not dictionary_has_tag(tag):
            log.debug("header keyword %r is not a DICOM keyword; not written", keyword)
            continue
        setattr(ds, keyword, value)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    for keyword in PATIENT_STUDY_KEYWORDS:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _save(ds: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _set_pixels(ds: Any, stored: np.ndarray, slope: float, intercept: float) -> None:
    ds.Rows, ds.Columns = int(stored.shape[0]), int(stored.shape[1])
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = _ds([slope])[0], _ds([intercept])[0]
    ds.PixelData = np.ascontiguousarray(stored, dtype="<u2").tobytes()


def write_dicom_series(
    image: Image,
    folder: str | Path,
    *,
    header: Mapping[str, object] | None = None,
    uids: Mapping[str, str] | None = None,
    per_slice: Mapping[str, Sequence[object]] | None = None,
) -> list[Path]:
    """Write a 3-D image as a DICOM series, one file per slice (``slice_0000.dcm``, ...).

    Parameters
    ----------
    image : Image, shape (z, y, x)
        Voxel values (e.g. HU) and geometry; written with exact IPP / IOP / PixelSpacing.
    folder : path
        Created if needed; existing files of the same names are overwritten.
    header : mapping of DICOM keyword to value, optional
        Patient, study and equipment facts (PatientName, StudyDate, Manufacturer, ...);
        ``Modality`` picks the storage class, CT (default, or ``image.meta["modality"]``) or MR.
        Keys that are not DICOM keywords are ignored.
    uids : mapping, optional
        ``StudyInstanceUID``, ``SeriesInstanceUID``, ``FrameOfReferenceUID``; missing ones come
        from `header`, else are derived from the content. SOP instance UIDs derive from the
        series UID and the slice number.
    per_slice : mapping of DICOM keyword to a sequence, optional
        Values that differ from slice to slice (e.g. ``AcquisitionDateTime``), one per slice in
        array z order; they override `header`.

    Returns
    -------
    list of Path
        The slice files, in array z order.

    Raises
    ------
    ConfigError
        A modality other than CT or MR.
    """
    header = dict(header or {})
    modality = str(header.get("Modality") or image.meta.get("modality") or "CT").upper()
    if modality not in ("CT", "MR"):
        raise ConfigError(
            f"write_dicom_series writes CT or MR series, got Modality {modality!r}; "
            "use write_dicom_image for a single radiograph"
        )
    header["Modality"] = modality
    per_slice = dict(per_slice or {})
    for keyword, values in per_slice.items():
        if len(values) != image.shape[0]:
            raise ConfigError(
                f"per_slice {keyword}: {len(values)} values for {image.shape[0]} slices"
            )
    resolved = _resolve_uids(image, header, uids)
    stored, slope, intercept = _quantise(image.array, modality)
    direction = image.direction_matrix
    orientation = _ds([*direction[:, 2], *direction[:, 1]])
    spacing_z, spacing_y, spacing_x = image.spacing
    normal = np.cross(direction[:, 2], direction[:, 1])
    folder = Path(folder)
    paths = []
    for k in range(image.shape[0]):
        sop_uid = _uid(resolved["SeriesInstanceUID"], k)
        ds = _base_dataset(header, _SOP_CLASSES[modality], sop_uid)
        for name, value in resolved.items():
            setattr(ds, name, value)
        position = np.asarray(image.origin) + k * spacing_z * direction[:, 0]
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SeriesNumber = header.get("SeriesNumber", 1)
        ds.InstanceNumber = k + 1
        ds.PositionReferenceIndicator = ""
        ds.PatientPosition = header.get("PatientPosition", "HFS")
        ds.AcquisitionNumber = header.get("AcquisitionNumber", 1)
        ds.ImagePositionPatient = _ds(position)
        ds.ImageOrientationPatient = orientation
        ds.SliceLocation = _ds([float(position @ normal)])[0]
        ds.PixelSpacing = _ds([spacing_y, spacing_x])
        ds.SliceThickness = _ds([float(str(header.get("SliceThickness", spacing_z)))])[0]
        ds.SpacingBetweenSlices = _ds([spacing_z])[0]
        if modality == "CT":
            ds.RescaleType = "HU"
            ds.KVP = header.get("KVP", 120)
        for keyword, values in per_slice.items():
            setattr(ds, keyword, values[k])
        _set_pixels(ds, stored[k], slope, intercept)
        paths.append(_save(ds, folder / f"slice_{k:04d}.dcm"))
    log.debug("wrote %d slices to %s", len(paths), folder)
    return paths


def write_dicom_image(
    image: Image,
    path: str | Path,
    *,
    header: Mapping[str, object] | None = None,
    uids: Mapping[str, str] | None = None,
) -> Path:
    """Write a single-slice image (shape (1, y, x)) as a Computed Radiography DICOM file.

    PixelSpacing and ImagerPixelSpacing are the (y, x) spacing; the CR module has no patient
    position, so the image origin is not stored (readers give (0, 0, 0)).

    Raises
    ------
    ConfigError
        The image has more than one slice.
    """
    if not image.is_2d:
        raise ConfigError(
            f"write_dicom_image writes one slice, got shape {image.shape}; "
            "use write_dicom_series for volumes"
        )
    header = {**dict(header or {}), "Modality": "CR"}
    resolved = _resolve_uids(image, header, uids)
    stored, slope, intercept = _quantise(image.array[0], "CR")
    ds = _base_dataset(header, _SOP_CLASSES["CR"], _uid(resolved["SeriesInstanceUID"], 0))
    for name in ("StudyInstanceUID", "SeriesInstanceUID"):
        setattr(ds, name, resolved[name])
    ds.SeriesNumber, ds.InstanceNumber = header.get("SeriesNumber", 1), 1
    ds.PixelSpacing = _ds(image.spacing[1:])
    ds.ImagerPixelSpacing = _ds(image.spacing[1:])
    ds.RescaleType = "US"
    _set_pixels(ds, stored, slope, intercept)
    return _save(ds, Path(path))


def _slice_contours(mask_slice: np.ndarray) -> list[np.ndarray]:
    """Closed boundary polygons (n, 2) in continuous (y, x) voxel indices, at level 0.5."""
    from skimage import measure

    padded = np.pad(mask_slice.astype(np.float32), 1)
    contours = []
    for contour in measure.find_contours(padded, 0.5):
        points = contour[:-1] if np.allclose(contour[0], contour[-1]) else contour
        if len(points) >= 3:
            contours.append(points - 1.0)
    return contours


def write_rtstruct(
    mask: Mask, series_files: Sequence[str | Path], path: str | Path, *, roi_name: str = "lesion"
) -> Path:
    """Write `mask` as an RTSTRUCT ROI that references the DICOM series `series_files`.

    Each slice of the mask becomes one or more CLOSED_PLANAR contours traced with
    `skimage.measure.find_contours` at level 0.5 (the boundary half-way between voxel
    centres, holes as separate contours, to be filled even-odd), in world LPS mm, each
    referencing the image whose ImagePositionPatient matches the slice.

    Raises
    ------
    MaskError
        The mask is empty.
    DicomError
        A slice of the mask has no image in `series_files` at its position (within 0.01 mm),
        or the files are not one series.
    """
    from pydicom import dcmread
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as DicomSequence

    if mask.is_empty:
        raise MaskError(f"{path}: cannot write an RTSTRUCT for an empty mask")
    images = [dcmread(str(f), stop_before_pixels=True) for f in series_files]
    if not images or len({str(ds.SeriesInstanceUID) for ds in images}) != 1:
        raise DicomError(
            f"{path}: series_files must be the files of one DICOM series, got {len(images)} files"
        )
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in images])
    first = images[0]
    header = {k: first.get(k) for k in (*PATIENT_STUDY_KEYWORDS, "StudyInstanceUID") if k in first}
    sop_uid = _uid(first.SeriesInstanceUID, roi_name, mask.voxel_count, "rtstruct")
    ds = _base_dataset(header, _RTSTRUCT_CLASS, sop_uid)
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = _uid(first.SeriesInstanceUID, "rtstruct-series")
    ds.SeriesNumber, ds.InstanceNumber = 99, 1
    ds.StructureSetLabel, ds.StructureSetName = roi_name[:16], roi_name[:64]
    ds.StructureSetDate, ds.StructureSetTime = ds.ContentDate, ds.ContentTime
    ds.Manufacturer = "medscale"

    def image_ref(image_ds: Any) -> Any:
        item = Dataset()
        item.ReferencedSOPClassUID = image_ds.SOPClassUID
        item.ReferencedSOPInstanceUID = image_ds.SOPInstanceUID
        return item

    series_ref = Dataset()
    series_ref.SeriesInstanceUID = first.SeriesInstanceUID
    series_ref.ContourImageSequence = DicomSequence([image_ref(i) for i in images])
    study_ref = Dataset()
    study_ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management
    study_ref.ReferencedSOPInstanceUID = first.StudyInstanceUID
    study_ref.RTReferencedSeriesSequence = DicomSequence([series_ref])
    frame_ref = Dataset()
    frame_ref.FrameOfReferenceUID = first.FrameOfReferenceUID
    frame_ref.RTReferencedStudySequence = DicomSequence([study_ref])
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([frame_ref])

    roi = Dataset()
    roi.ROINumber, roi.ReferencedFrameOfReferenceUID = 1, first.FrameOfReferenceUID
    roi.ROIName, roi.ROIGenerationAlgorithm = roi_name, "MANUAL"
    ds.StructureSetROISequence = DicomSequence([roi])

    contours = []
    for k in np.flatnonzero(mask.array.any(axis=(1, 2))):
        slice_origin = mask.index_to_world([k, 0, 0])
        distance = np.linalg.norm(positions - slice_origin, axis=1)
        if distance.min() > 0.01:
            raise DicomError(
                f"{path}: mask slice {k} at {np.round(slice_origin, 3).tolist()} mm "
                "has no image of the series at that position; is the mask on the "
                "series grid?"
            )
        reference = image_ref(images[int(distance.argmin())])
        for polygon in _slice_contours(mask.array[k]):
            indices = np.column_stack([np.full(len(polygon), float(k)), polygon])
            item = Dataset()
            item.ContourImageSequence = DicomSequence([reference])
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(polygon)
            item.ContourData = _ds(mask.index_to_world(indices).ravel())
            contours.append(item)
    roi_contour = Dataset()
    roi_contour.ROIDisplayColor = [255, 0, 0]
    roi_contour.ReferencedROINumber = 1
    roi_contour.ContourSequence = DicomSequence(contours)
    ds.ROIContourSequence = DicomSequence([roi_contour])
    observation = Dataset()
    observation.ObservationNumber, observation.ReferencedROINumber = 1, 1
    observation.RTROIInterpretedType, observation.ROIInterpreter = "GTV", ""
    ds.RTROIObservationsSequence = DicomSequence([observation])
    return _save(ds, Path(path))
