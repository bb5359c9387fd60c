"""PHI-seeded DICOM corpora to prove that de-identification leaks nothing and keeps links.

Every attribute of PS3.15 Table E.1-1 (`medscale.deid.profile_table.RULES`) is filled with a
distinctive value that names its patient and tag, along with nested sequences (inside table
sequences and inside sequences outside the table), private attributes (also in a private
sequence), an overlay, a curve and data set trailing padding (see
`medscale.datasets.phi_plant`, whose functions are re-exported here). The textual seeded values and
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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian

from medscale.datasets.phi_plant import (
    UID_ROOT,
    collect_uids,
    n_plantable,
    plant_phi,
    reroot_uids,
)

__all__ = [
    "PhiCorpus",
    "build_phi_corpus",
    "build_synthetic_phi_corpus",
    "collect_uids",
    "plant_phi",
    "reroot_uids",
]


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
    return PhiCorpus(out_dir, tuple(files), tuple(sorted(seeded)), n_plantable())


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
    study_a, study_b = f"{UID_ROOT}.0.500", f"{UID_ROOT}.0.501"
    frame = f"{UID_ROOT}.0.502"
    series = f"{UID_ROOT}.0.503"
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
        f"{UID_ROOT}.0.504",
        f"{UID_ROOT}.0.504.0",
        rng.integers(-1000, 1000, (size, size)).astype(np.int16),
    )
    later.FrameOfReferenceUID = f"{UID_ROOT}.0.505"
    capture = _image(
        "1.2.840.10008.5.1.4.1.1.7",
        "OT",
        f"{UID_ROOT}.1.600",
        f"{UID_ROOT}.1.601",
        f"{UID_ROOT}.1.601.0",
        rng.integers(0, 255, (size, size)).astype(np.uint8),
    )
    capture.BurnedInAnnotation = "YES"
    ultrasound = _image(
        "1.2.840.10008.5.1.4.1.1.6.1",
        "US",
        f"{UID_ROOT}.1.600",
        f"{UID_ROOT}.1.602",
        f"{UID_ROOT}.1.602.0",
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
    return PhiCorpus(out_dir, tuple(written), tuple(sorted(seeded)), n_plantable())


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
        "1.2.840.10008.5.1.4.1.1.481.3",
        "RTSTRUCT",
        study,
        f"{UID_ROOT}.0.510",
        f"{UID_ROOT}.0.510.0",
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
