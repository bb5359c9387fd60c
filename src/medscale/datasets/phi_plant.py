"""Planting distinctive PHI into a DICOM data set, for proving that de-identification works.

Every attribute of PS3.15 Table E.1-1 (`medscale.deid.profile_table.RULES`) that pydicom can
write is filled with a value naming its patient and tag (`plant_phi`), along with nested
sequences, private attributes, an overlay and a curve; `collect_uids` and `reroot_uids` list
and remap the non-standard UIDs of a data set. `medscale.datasets.phi_corpus` builds whole
corpora with these.

Group 0000 (command) and 0002 (file meta) rows of the table are not planted: they cannot be
in a stored data set (PS3.10 7.1). Nor are the few rows whose tags pydicom's dictionary does
not know yet (no VR to write them with).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pydicom
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID_dictionary

from medscale.deid.profile_table import RULES

UID_ROOT = "1.2.999.7133"
"""Test-only UID root of planted values (not a registered root)."""


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
        "UI": f"{UID_ROOT}.{patient}.{index}",
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
        item.ReferencedSOPInstanceUID = f"{UID_ROOT}.{patient}.{index}.2"
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
    item.ReferencedSOPInstanceUID = f"{UID_ROOT}.{patient}.{index}.1"
    seeded.update(
        {token, f"{token} meaning", f"PhiItem{token}^Nested", f"{UID_ROOT}.{patient}.{index}.1"}
    )
    return item


def _plant_nested(dataset: Dataset, patient: int, seeded: set[str]) -> None:
    """A sequence outside the table holding identifiers two levels deep."""
    inner = Dataset()
    inner.PatientName = f"PhiDeep{patient}^Inner"
    inner.StudyDate = "19441231" if patient == 0 else f"194{patient}0607"
    inner.OperatorsName = f"PhiDeepOperator{patient}"
    middle = Dataset()
    middle.StudyInstanceUID = f"{UID_ROOT}.{patient}.900"
    middle.SeriesInstanceUID = f"{UID_ROOT}.{patient}.901"
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
        return f"{UID_ROOT}.8.{copy_number}.{digest}"

    for element in dataset.iterall():
        if element.VR != "UI" or element.value in (None, ""):
            continue
        if element.VM > 1:
            element.value = [
                v if str(v) in UID_dictionary else remap(str(v)) for v in element.value
            ]
        elif str(element.value) not in UID_dictionary:
            element.value = remap(str(element.value))


def n_plantable() -> int:
    """How many Table E.1-1 attributes `plant_phi` fills in each data set."""
    return sum(1 for tag in RULES if tag >> 16 not in (0x0000, 0x0002) and dictionary_has_tag(tag))
