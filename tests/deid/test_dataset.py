"""One data set: each action, recursion, private tags, overlays, options, marking."""

from __future__ import annotations

import datetime as dt

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medscale.deid import DeidSettings, Pseudonymizer, deidentify_dataset, review_reasons

PSEUDO = Pseudonymizer(b"k" * 32)


def _dataset() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.5"
    ds.FrameOfReferenceUID = "1.2.3.9"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "MRN-0042"
    ds.PatientBirthDate = "19610203"
    ds.PatientSex = "F"
    ds.PatientAge = "063Y"
    ds.PatientWeight = 61.5
    ds.AccessionNumber = "ACC778899"
    ds.StudyDate = "20240115"
    ds.SeriesDate = "20240116"
    ds.StudyTime = "101500"
    ds.InstitutionName = "St Elsewhere"
    ds.StationName = "CT-ROOM-3"
    ds.DeviceSerialNumber = "SN-98765"
    ds.StudyDescription = "CT chest for Jane Doe MRN-0042"
    ds.OperatorsName = "Tech^Tom"
    ds.Manufacturer = "ACME"
    ds.ReferringPhysicianName = "Who^Doctor"
    ds.add_new(0x00143076, "DA", "20240117")  # Date of Gain Calibration: not in the table
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.3.4.5.7"
    ds.ReferencedImageSequence = Sequence([item])
    inner = Dataset()
    inner.PatientName = "Doe^Jane"
    inner.StudyInstanceUID = "1.2.3.4"
    ds.RelatedSeriesSequence = Sequence([inner])  # not in the table: recursed
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Jane's private note")
    block.add_new(0x02, "DS", "1.5")
    ds.add_new(0x60003000, "OW", b"\1\0" * 8)
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x50000005, "US", 1)
    ds.BurnedInAnnotation = "YES"
    ds.Rows = ds.Columns = 2
    ds.PixelData = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    return ds


def test_basic_profile_actions():
    original = _dataset()
    out, result = deidentify_dataset(original, pseudonymizer=PSEUDO)
    assert original.PatientName == "Doe^Jane"  # the input is not changed
    assert out.PatientID == PSEUDO.patient_id("MRN-0042")
    assert out.PatientName == PSEUDO.patient_name("MRN-0042")
    assert out.PatientBirthDate == "" and out.PatientSex == "" and out.AccessionNumber == ""
    assert "PatientAge" not in out and "PatientWeight" not in out
    assert "StudyDescription" not in out and out.StudyDate == ""
    assert out.SeriesDate == "19000101"  # X/D -> dummy
    assert out.InstitutionName == "ANONYMIZED" and out.OperatorsName == "ANONYMOUS"
    assert out.Manufacturer == "ACME"  # not in the table: kept
    assert out[0x00143076].value == ""  # a date outside the table is emptied
    assert out.SOPInstanceUID == PSEUDO.uid("1.2.3.4.5.6")
    assert out.StudyInstanceUID == PSEUDO.uid("1.2.3.4")
    assert out.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    ref = out.ReferencedImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == PSEUDO.uid("1.2.3.4.5.7")
    assert ref.ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    nested = out.RelatedSeriesSequence[0]
    assert nested.PatientName == "" and nested.StudyInstanceUID == PSEUDO.uid("1.2.3.4")
    assert "OtherPatientIDsSequence" not in out
    assert not any(tag.is_private for tag in out.keys())
    assert not any(tag.group in (0x6000, 0x5000) for tag in out.keys())
    assert out.PixelData == original.PixelData
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert result.review == ("burned_in_annotation",)
    assert result.actions["private_removed"] == 3 and result.actions["overlay_curve_removed"] == 3
    assert result.actions["pseudonymized"] == 2


def test_options_retain_what_they_name():
    settings = DeidSettings.from_names(
        [
            "retain-patient-characteristics",
            "retain-device-identity",
            "retain-institution-identity",
            "retain-uids",
            "clean-descriptors",
        ]
    )
    out, _ = deidentify_dataset(_dataset(), pseudonymizer=PSEUDO, settings=settings)
    assert out.PatientSex == "F" and out.PatientAge == "063Y" and out.PatientWeight == 61.5
    assert out.StationName == "CT-ROOM-3" and out.DeviceSerialNumber == "SN-98765"
    assert out.InstitutionName == "St Elsewhere"
    assert out.SOPInstanceUID == "1.2.3.4.5.6"
    # clean descriptors: the patient's own identifiers are scrubbed from free text
    assert out.StudyDescription == "CT chest for X X X"
    codes = {item.CodeValue for item in out.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113108", "113109", "113112", "113110", "113105"}


def test_modified_dates_shift_per_patient_and_keep_intervals():
    settings = DeidSettings.from_names(["retain-modified-dates"])
    out, result = deidentify_dataset(_dataset(), pseudonymizer=PSEUDO, settings=settings)
    days = PSEUDO.date_shift_days("MRN-0042", max_days=settings.max_date_shift_days)
    expected = dt.date(2024, 1, 15) - dt.timedelta(days=days)
    assert out.StudyDate == expected.strftime("%Y%m%d")
    study = dt.datetime.strptime(out.StudyDate, "%Y%m%d")
    series = dt.datetime.strptime(out.SeriesDate, "%Y%m%d")
    assert (series - study).days == 1  # intervals kept
    assert out.StudyTime == "101500"
    assert out.PatientBirthDate == ""  # birth date has no temporal option: still emptied
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    assert result.actions["date_shifted"] >= 3
    other = _dataset()
    other.PatientID = "MRN-0043"
    out_other, _ = deidentify_dataset(other, pseudonymizer=PSEUDO, settings=settings)
    shift_other = PSEUDO.date_shift_days("MRN-0043", max_days=settings.max_date_shift_days)
    assert (out_other.StudyDate == out.StudyDate) == (shift_other == days)


def test_safe_private_attributes_are_kept_only_when_listed():
    settings = DeidSettings.from_names(
        ["retain-safe-private"], safe_private=frozenset({("ACME 1.0", 0x02)})
    )
    out, _ = deidentify_dataset(_dataset(), pseudonymizer=PSEUDO, settings=settings)
    private = {tag: out[tag].value for tag in out.keys() if tag.is_private}
    assert private == {0x00110010: "ACME 1.0", 0x00111002: "1.5"}


def test_review_reasons():
    ds = Dataset()
    ds.PixelData = b"\0\0"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.Modality = "US"
    assert review_reasons(ds) == ("ultrasound",)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.Modality = "OT"
    assert review_reasons(ds) == ("secondary_capture", "modality_ot")
    ds.SOPClassUID, ds.Modality = "1.2.840.10008.5.1.4.1.1.2", "CT"
    assert review_reasons(ds) == ()
