"""PHI-seeded DICOM corpora to prove that de-identification leaks nothing and keeps links.

Every attribute of PS3.15 Table E.1-1 (`medscale.deid.profile_table.RULES`) is filled with a
distinctive value that names its patient and tag, along with nested sequences (inside table
sequences and inside sequences outside the table), private attributes (also in a private
sequence), an overlay, a curve and data set trailing padding. The textual seeded values and
every non-standard UID are listed in `PhiCorpus.seeded_values`, to be searched for in the raw
bytes of a de-identified copy.

Two builders:

- `build_phi_corpus`: real DICOM files (e.g. the IBSI-1 CT phantom series and its RTSTRUCT,
  and pydicom's test files) with PHI planted, optionally copied as several patients;
- `build_synthetic_phi_corpus`: small files made from scratch with pydicom (always available):
  a CT series with an RTSTRUCT on it, a later CT study of the same patient, a secondary
  capture with burned-in annotation and an ultrasound image of a second patient.

Group 0000 (command) and 0002 (file meta) rows of the table are not planted: they cannot be
in a stored data set (PS3.10 7.1); Media Storage SOP Instance UID carries the planted SOP
Instance UID anyway. Nor are the few rows whose tags pydicom's dictionary does not know yet
(no VR to write them with).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, UID_dictionary

from medscale.deid.profile_table import RULES

_ROOT = "1.2.999.7133"  # test-only UID root of planted values (not a registered root)


@dataclass(frozen=True)
class PhiCorpus:
    """A written corpus.

    Attributes
    ----------
    root : Path
        The corpus folder.
    files : tuple of Path
        The DICOM files written.
    seeded_values : tuple of str
        Every planted textual value and every non-standard UID of the corpus (sorted).
    n_planted : int
        Table E.1-1 attributes planted per file.
    """

    root: Path
    files: tuple[Path, ...]
    seeded_values: tuple[str, ...]
    n_planted: int

    def write_phi_list(self, path: str | Path) -> Path:
        """Write `seeded_values`, one per line, for ``medscale deid verify --phi-list``."""
        path = Path(path)
        path.write_text("\n".join(self.seeded_values) + "\n", encoding="utf-8")
        return path


def plant_phi(dataset: Dataset, *, patient: int) -> set[str]:
    """Fill every plantable Table E.1-1 attribute of `dataset` with a distinctive value.

    Existing UIDs of the study, series, instance and frame of reference are kept (other files
    refer to them). Values depend on the patient number and the tag only, so all files of one
    patient agree.

    Parameters
    ----------
    dataset : pydicom.Dataset
        Changed in place.
    patient : int
        Patient number, 0-9.

    Returns
    -------
    set of str
        The textual values planted (including nested ones).
    """
    seeded: set[str] = set()
    keep = {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"}
    for index, tag in enumerate(sorted(RULES)):
        group = tag >> 16
        if group in (0x0000, 0x0002) or not dictionary_has_tag(tag):
            continue
        vr = dictionary_VR(tag).split(" or ")[0]
        if pydicom.datadict.keyword_for_tag(tag) in keep and tag in dataset:
            continue
        if tag in (0x00100010, 0x00100020, 0x00100030):  # planted below, as one patient
            continue
        dataset.add_new(tag, vr, _value(vr, patient, index, tag, seeded))
    patient_name = _value("PN", patient, 1, 0x00100010, seeded)
    dataset.PatientName = patient_name
    dataset.PatientID = _value("LO", patient, 2, 0x00100020, seeded)
    dataset.PatientBirthDate = _value("DA", patient, 3, 0x00100030, seeded)
    _plant_nested(dataset, patient, seeded)
    _plant_private(dataset, patient, seeded)
    _plant_overlay_and_curve(dataset, patient, seeded)
    return seeded


def _token(patient: int, index: int, tag: int) -> str:
    return f"P{patient}A{index:03d}X{tag:08X}"


def _value(vr: str, patient: int, index: int, tag: int, seeded: set[str]) -> object:
    token = _token(patient, index, tag)
    day = dt.date(1931, 1, 1) + dt.timedelta(days=patient * 700 + index)
    texts: dict[str, str] = {
        "AE": token,
        "CS": token,
        "SH": token,
        "LO": f"{token} Phi",
        "UC": f"{token} Phi",
        "LT": f"{token} Phi text",
        "ST": f"{token} Phi text",
        "UT": f"{token} Phi text",
        "PN": f"Phi{token}^Given{patient}{index:03d}",
        "UR": f"http://phi.example/{token}",
        "DA": day.strftime("%Y%m%d"),
        "DT": day.strftime("%Y%m%d") + "101112",
        "TM": f"{index % 24:02d}{(index * 7) % 60:02d}{(index * 13) % 60:02d}.{patient}{index:05d}",
        "AS": f"{10 + (patient * 37 + index) % 89:03d}Y",
        "IS": str(7_000_000 + patient * 1000 + index),
        "DS": f"9{patient}{index:03d}.7531",
        "UI": f"{_ROOT}.{patient}.{index}",
    }
    if vr in texts:
        value = texts[vr]
        seeded.add(value)
        if vr == "PN":
            seeded.add(value.split("^")[0])
        return value
    if vr in {"US", "SS", "UL", "SL", "UV", "SV"}:
        return 4000 + index
    if vr in {"FL", "FD"}:
        return 4000.5 + index
    if vr == "AT":
        return tag
    if vr == "SQ" and RULES[tag].basic == "X/Z/U*":  # image references: UIDs only
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = f"{_ROOT}.{patient}.{index}.2"
        seeded.add(item.ReferencedSOPInstanceUID)
        return DicomSequence([item])
    if vr == "SQ":
        return DicomSequence([_item(patient, index, tag, seeded)])
    raw = f"{token} Phi bytes".encode("ascii")  # OB, OW, OD, OF, OL, OV, UN
    seeded.add(f"{token} Phi bytes")
    return raw + b"\0" * (-len(raw) % 8)


def _item(patient: int, index: int, tag: int, seeded: set[str]) -> Dataset:
    token = _token(patient, index, tag)
    item = Dataset()
    item.CodeValue = token
    item.CodingSchemeDesignator = "99PHI"
    item.CodeMeaning = f"{token} meaning"
    item.PersonName = f"PhiItem{token}^Nested"
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = f"{_ROOT}.{patient}.{index}.1"
    seeded.update(
        {token, f"{token} meaning", f"PhiItem{token}^Nested", f"{_ROOT}.{patient}.{index}.1"}
    )
    return item


def _plant_nested(dataset: Dataset, patient: int, seeded: set[str]) -> None:
    """A sequence outside the table holding identifiers two levels deep."""
    inner = Dataset()
    inner.PatientName = f"PhiDeep{patient}^Inner"
    inner.StudyDate = "19441231" if patient == 0 else f"194{patient}0607"
    inner.OperatorsName = f"PhiDeepOperator{patient}"
    middle = Dataset()
    middle.StudyInstanceUID = f"{_ROOT}.{patient}.900"
    middle.SeriesInstanceUID = f"{_ROOT}.{patient}.901"
    middle.PatientID = f"PhiNestedId{patient}"
    middle.PurposeOfReferenceCodeSequence = DicomSequence([inner])
    dataset.RelatedSeriesSequence = DicomSequence([middle])
    seeded.update(
        str(value)
        for value in (
            inner.PatientName,
            inner.StudyDate,
            inner.OperatorsName,
            middle.PatientID,
            middle.StudyInstanceUID,
            middle.SeriesInstanceUID,
        )
    )


def _plant_private(dataset: Dataset, patient: int, seeded: set[str]) -> None:
    block = dataset.private_block(0x0099, "MEDSCALE PHI TEST", create=True)
    values = [f"PhiPrivate{patient}Name^Hidden", f"PhiPrivate{patient}Id0042"]
    block.add_new(0x01, "LO", values[0])
    block.add_new(0x02, "LO", values[1])
    nested = Dataset()
    nested.PatientName = f"PhiPrivateSeq{patient}^Name"
    block.add_new(0x03, "SQ", DicomSequence([nested]))
    seeded.update(values + [str(nested.PatientName)])


def _plant_overlay_and_curve(dataset: Dataset, patient: int, seeded: set[str]) -> None:
    rows, columns = 8, 8
    dataset.add_new(0x60000010, "US", rows)
    dataset.add_new(0x60000011, "US", columns)
    dataset.add_new(0x60000022, "LO", f"PhiOverlay{patient}Description")
    dataset.add_new(0x60000040, "CS", "G")
    dataset.add_new(0x60000050, "SS", [1, 1])
    dataset.add_new(0x60000100, "US", 1)
    dataset.add_new(0x60000102, "US", 0)
    dataset.add_new(0x60003000, "OW", np.packbits(np.eye(8, dtype=bool)).tobytes())
    dataset.add_new(0x60004000, "LT", f"PhiOverlay{patient}Comment")
    dataset.add_new(0x50000022, "LO", f"PhiCurve{patient}Description")
    dataset.add_new(0x50003000, "OB", f"PhiCurve{patient}Data".encode().ljust(24, b"\0"))
    seeded.update(
        {
            f"PhiOverlay{patient}Description",
            f"PhiOverlay{patient}Comment",
            f"PhiCurve{patient}Description",
            f"PhiCurve{patient}Data",
        }
    )


def collect_uids(dataset: Dataset) -> set[str]:
    """Every UID value in `dataset` (recursively) that is not a UID of the DICOM standard."""
    found: set[str] = set()
    for element in dataset.iterall():
        if element.VR != "UI" or element.value in (None, ""):
            continue
        values = element.value if element.VM > 1 else [element.value]
        found.update(str(v) for v in values if str(v) not in UID_dictionary)
    return found


def reroot_uids(dataset: Dataset, copy_number: int) -> None:
    """Replace every non-standard UID by a copy-specific one, consistently across files."""

    def remap(uid: str) -> str:
        digest = int(hashlib.sha256(uid.encode()).hexdigest()[:24], 16)
        return f"{_ROOT}.8.{copy_number}.{digest}"

    for element in dataset.iterall():
        if element.VR != "UI" or element.value in (None, ""):
            continue
        if element.VM > 1:
            element.value = [
                v if str(v) in UID_dictionary else remap(str(v)) for v in element.value
            ]
        elif str(element.value) not in UID_dictionary:
            element.value = remap(str(element.value))


def build_phi_corpus(
    out_dir: str | Path, *, sources: Iterable[str | Path], n_copies: int = 1, first_patient: int = 0
) -> PhiCorpus:
    """Plant PHI into copies of real DICOM files.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write (created). Files go to ``<out_dir>/<patient folder>/<name>``; the
        patient folder is named after the planted patient name, as a hospital export might.
    sources : iterable of path
        DICOM files, or folders searched recursively for ``*.dcm``. Each top-level source is
        one patient; the same patient number is used for all files of that source.
    n_copies : int
        Copies of every source, each a distinct patient with its own UIDs (for benchmarks).
    first_patient : int
        Number of the first patient.

    Returns
    -------
    PhiCorpus
    """
    out_dir = Path(out_dir)
    files: list[Path] = []
    seeded: set[str] = set()
    source_paths = [Path(source) for source in sources]
    patient = first_patient
    for copy_number in range(n_copies):
        for source in source_paths:
            paths = sorted(source.rglob("*.dcm")) if source.is_dir() else [source]
            folder = out_dir / f"Phi{patient}_{source.stem}_copy{copy_number}"
            folder.mkdir(parents=True, exist_ok=True)
            for path in paths:
                dataset = pydicom.dcmread(path, force=True)
                reroot_uids(dataset, copy_number)
                seeded |= plant_phi(dataset, patient=patient % 10)
                seeded |= collect_uids(dataset)
                target = folder / path.name
                dataset.save_as(target, enforce_file_format=True)
                files.append(target)
            patient += 1
    return PhiCorpus(out_dir, tuple(files), tuple(sorted(seeded)), _n_plantable())


def _n_plantable() -> int:
    return sum(1 for tag in RULES if tag >> 16 not in (0x0000, 0x0002) and dictionary_has_tag(tag))


def build_synthetic_phi_corpus(
    out_dir: str | Path, *, n_slices: int = 3, size: int = 16
) -> PhiCorpus:
    """A small PHI-seeded corpus made from scratch (no data files needed).

    Patient 0: a CT series of `n_slices` slices with an RTSTRUCT referencing every slice, and
    a second CT study (one slice, a year later). Patient 1: a secondary capture with Burned In
    Annotation = YES and an ultrasound image.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(7)
    seeded: set[str] = set()
    written: list[Path] = []
    study_a, study_b = f"{_ROOT}.0.500", f"{_ROOT}.0.501"
    frame = f"{_ROOT}.0.502"
    series = f"{_ROOT}.0.503"
    slices = []
    for k in range(n_slices):
        image = _image(
            "1.2.840.10008.5.1.4.1.1.2",
            "CT",
            study_a,
            series,
            f"{series}.{k}",
            rng.integers(-1000, 1000, (size, size)).astype(np.int16),
        )
        image.FrameOfReferenceUID = frame
        image.ImagePositionPatient = [0.0, 0.0, float(k) * 2.0]
        image.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        image.PixelSpacing = [1.0, 1.0]
        image.SliceThickness = 2.0
        slices.append(image)
    later = _image(
        "1.2.840.10008.5.1.4.1.1.2",
        "CT",
        study_b,
        f"{_ROOT}.0.504",
        f"{_ROOT}.0.504.0",
        rng.integers(-1000, 1000, (size, size)).astype(np.int16),
    )
    later.FrameOfReferenceUID = f"{_ROOT}.0.505"
    capture = _image(
        "1.2.840.10008.5.1.4.1.1.7",
        "OT",
        f"{_ROOT}.1.600",
        f"{_ROOT}.1.601",
        f"{_ROOT}.1.601.0",
        rng.integers(0, 255, (size, size)).astype(np.uint8),
    )
    capture.BurnedInAnnotation = "YES"
    ultrasound = _image(
        "1.2.840.10008.5.1.4.1.1.6.1",
        "US",
        f"{_ROOT}.1.600",
        f"{_ROOT}.1.602",
        f"{_ROOT}.1.602.0",
        rng.integers(0, 255, (size, size)).astype(np.uint8),
    )
    rtstruct = _rtstruct(slices, study_a, frame)
    groups: list[tuple[int, str, Sequence[Dataset]]] = [
        (0, "CT", slices),
        (0, "CT_later", [later]),
        (0, "RTSTRUCT", [rtstruct]),
        (1, "SC", [capture]),
        (1, "US", [ultrasound]),
    ]
    for patient, name, datasets in groups:
        folder = out_dir / f"Phi{patient}_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        for number, dataset in enumerate(datasets):
            seeded |= plant_phi(dataset, patient=patient)
            if name == "CT_later":  # a later study: the date link must survive
                dataset.StudyDate = dataset.SeriesDate = "19320301"
                seeded.add("19320301")
            seeded |= collect_uids(dataset)
            target = folder / f"{name}_{number:03d}.dcm"
            dataset.save_as(target, enforce_file_format=True)
            written.append(target)
    return PhiCorpus(out_dir, tuple(written), tuple(sorted(seeded)), _n_plantable())


def _image(
    sop_class: str, modality: str, study: str, series: str, instance: str, pixels: np.ndarray
) -> Dataset:
    dataset = _base(sop_class, modality, study, series, instance)
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = dataset.BitsStored = pixels.dtype.itemsize * 8
    dataset.HighBit = dataset.BitsStored - 1
    dataset.PixelRepresentation = int(pixels.dtype.kind == "i")
    dataset.PixelData = pixels.tobytes()
    return dataset


def _base(sop_class: str, modality: str, study: str, series: str, instance: str) -> Dataset:
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    dataset.file_meta.MediaStorageSOPInstanceUID = UID(instance)
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = sop_class
    dataset.SOPInstanceUID = instance
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = series
    dataset.Modality = modality
    dataset.Manufacturer = "medscale synthetic"
    return dataset


def _rtstruct(slices: Sequence[Dataset], study: str, frame: str) -> Dataset:
    rtstruct = _base(
        "1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT", study, f"{_ROOT}.0.510", f"{_ROOT}.0.510.0"
    )
    rtstruct.FrameOfReferenceUID = frame
    contour_images = []
    for image in slices:
        item = Dataset()
        item.ReferencedSOPClassUID = image.SOPClassUID
        item.ReferencedSOPInstanceUID = image.SOPInstanceUID
        contour_images.append(item)
    series_item = Dataset()
    series_item.SeriesInstanceUID = slices[0].SeriesInstanceUID
    series_item.ContourImageSequence = DicomSequence(contour_images)
    study_item = Dataset()
    study_item.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study_item.ReferencedSOPInstanceUID = study
    study_item.RTReferencedSeriesSequence = DicomSequence([series_item])
    frame_item = Dataset()
    frame_item.FrameOfReferenceUID = frame
    frame_item.RTReferencedStudySequence = DicomSequence([study_item])
    rtstruct.ReferencedFrameOfReferenceSequence = DicomSequence([frame_item])
    roi = Dataset()
    roi.ROINumber = 1
    roi.ReferencedFrameOfReferenceUID = frame
    roi.ROIName = "GTV"
    roi.ROIGenerationAlgorithm = "MANUAL"
    rtstruct.StructureSetROISequence = DicomSequence([roi])
    contours = []
    for image in slices:
        contour = Dataset()
        contour.ContourImageSequence = DicomSequence([Dataset()])
        contour.ContourImageSequence[0].ReferencedSOPClassUID = image.SOPClassUID
        contour.ContourImageSequence[0].ReferencedSOPInstanceUID = image.SOPInstanceUID
        contour.ContourGeometricType = "CLOSED_PLANAR"
        z = float(image.ImagePositionPatient[2])
        contour.ContourData = [2.0, 2.0, z, 8.0, 2.0, z, 8.0, 8.0, z]
        contour.NumberOfContourPoints = 3
        contours.append(contour)
    roi_contour = Dataset()
    roi_contour.ReferencedROINumber = 1
    roi_contour.ContourSequence = DicomSequence(contours)
    rtstruct.ROIContourSequence = DicomSequence([roi_contour])
    return rtstruct
