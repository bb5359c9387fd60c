"""The PHI-seeded corpus end to end: nothing leaks, every link survives, pixels are intact."""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest

from medscale.datasets.phi_corpus import build_phi_corpus, build_synthetic_phi_corpus
from medscale.deid import (
    DeidSettings,
    Pseudonymizer,
    check_references,
    deidentify_tree,
    verify_tree,
)
from medscale.deid.batch import AUDIT_NAME

KEY = bytes(range(100, 132))
OTHER_KEY = bytes(range(50, 82))


def printable_text(data: bytes) -> str:
    """Every run of >= 4 printable ASCII bytes, lower-cased (independent of `verify`)."""
    return "\n".join(run.decode().lower() for run in re.findall(rb"[\x20-\x7e]{4,}", data))


def leaked_values(folder: Path, values) -> dict[str, list[str]]:
    wanted = [value.lower() for value in values if len(value) >= 4]
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = printable_text(path.read_bytes())
        found = [value for value in wanted if value in text]
        if found:
            leaks[path.name] = found
    return leaks


def dicom_files(folder: Path) -> dict[str, pydicom.Dataset]:
    return {
        p.relative_to(folder).as_posix(): pydicom.dcmread(p) for p in sorted(folder.rglob("*.dcm"))
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    corpus = build_synthetic_phi_corpus(root / "in")
    deidentify_tree(root / "in", root / "out", key=KEY)
    return corpus, root


def test_corpus_is_seeded(synthetic):
    corpus, root = synthetic
    assert len(corpus.files) == 7 and corpus.n_planted >= 455
    assert len(corpus.seeded_values) > 1000
    ds = pydicom.dcmread(corpus.files[0])
    assert sum(1 for tag in ds.keys() if tag.is_private) >= 3
    # every seeded value is really in the input: the leak checks can fail
    found = {
        value
        for values in leaked_values(root / "in", corpus.seeded_values).values()
        for value in values
    }
    assert found == {value.lower() for value in corpus.seeded_values if len(value) >= 4}
    assert len(verify_tree(root / "in", phi_values=corpus.seeded_values)) > 1000


def test_no_seeded_value_survives(synthetic):
    corpus, root = synthetic
    assert leaked_values(root / "out", corpus.seeded_values) == {}
    assert verify_tree(root / "out", phi_values=corpus.seeded_values) == []


def test_references_resolve_and_patients_stay_linked(synthetic):
    corpus, root = synthetic
    files = dicom_files(root / "out")
    assert len(files) == 7
    by_modality = {}
    for ds in files.values():
        by_modality.setdefault(ds.Modality, []).append(ds)
    ct, (rtstruct,) = by_modality["CT"], by_modality["RTSTRUCT"]
    sop_uids = {ds.SOPInstanceUID for ds in files.values()}
    series = {ds.SeriesInstanceUID for ds in ct if ds.StudyInstanceUID == rtstruct.StudyInstanceUID}
    frames = {ds.FrameOfReferenceUID for ds in ct if ds.SeriesInstanceUID in series}
    assert len(series) == 1 and len(frames) == 1
    referenced = [
        item.ReferencedSOPInstanceUID
        for roi in rtstruct.ROIContourSequence
        for contour in roi.ContourSequence
        for item in contour.ContourImageSequence
    ]
    frame_item = rtstruct.ReferencedFrameOfReferenceSequence[0]
    study_item = frame_item.RTReferencedStudySequence[0]
    series_item = study_item.RTReferencedSeriesSequence[0]
    referenced += [item.ReferencedSOPInstanceUID for item in series_item.ContourImageSequence]
    assert len(referenced) == 6 and set(referenced) <= sop_uids
    assert frame_item.FrameOfReferenceUID in frames and rtstruct.FrameOfReferenceUID in frames
    assert series_item.SeriesInstanceUID in series
    assert study_item.ReferencedSOPInstanceUID == rtstruct.StudyInstanceUID
    assert rtstruct.StructureSetROISequence[0].ReferencedFrameOfReferenceUID in frames
    # both studies of patient 0 keep one pseudonymous identity; patient 1 has another
    patients = {ds.PatientID for ds in by_modality["CT"] + [rtstruct]}
    assert len(patients) == 1 and len({ds.StudyInstanceUID for ds in ct}) == 2
    assert {ds.PatientID for ds in by_modality["US"] + by_modality["OT"]} != patients
    for ds in files.values():
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.PatientIdentityRemoved == "YES"


def test_every_reference_that_resolved_still_resolves(synthetic):
    corpus, root = synthetic
    before, after = check_references(root / "in"), check_references(root / "out")
    assert before.n_resolved >= 10  # contour images, series, study and frame links
    assert after.n_resolved == before.n_resolved  # (unresolvable planted ones are removed)


def test_pixel_data_is_identical(synthetic):
    corpus, root = synthetic
    pseudo = Pseudonymizer(KEY)
    outputs = {ds.SOPInstanceUID: ds for ds in dicom_files(root / "out").values()}
    compared = 0
    for path in corpus.files:
        source = pydicom.dcmread(path)
        if "PixelData" in source:
            assert outputs[pseudo.uid(source.SOPInstanceUID)].PixelData == source.PixelData
            compared += 1
    assert compared == 6


def test_same_key_gives_identical_output_other_key_does_not(synthetic, tmp_path):
    corpus, root = synthetic
    deidentify_tree(root / "in", tmp_path / "again", key=KEY, workers=2)
    first = {p.relative_to(root / "out"): p.read_bytes() for p in (root / "out").rglob("*.dcm")}
    again = {
        p.relative_to(tmp_path / "again"): p.read_bytes()
        for p in (tmp_path / "again").rglob("*.dcm")
    }
    assert first == again and len(first) == 7
    assert (root / "out" / AUDIT_NAME).read_text() == (tmp_path / "again" / AUDIT_NAME).read_text()
    deidentify_tree(root / "in", tmp_path / "other", key=OTHER_KEY)
    other = {p.relative_to(tmp_path / "other") for p in (tmp_path / "other").rglob("*.dcm")}
    assert not other & set(first)


def test_modified_dates_keep_the_interval_between_studies(synthetic, tmp_path):
    corpus, root = synthetic
    settings = DeidSettings.from_names(["retain-modified-dates"])
    deidentify_tree(root / "in", tmp_path / "dates", key=KEY, settings=settings)
    source_dates = {pydicom.dcmread(p).StudyDate for p in corpus.files if "_CT" in str(p)}
    out_dates = {
        ds.StudyDate for ds in dicom_files(tmp_path / "dates").values() if ds.Modality == "CT"
    }
    assert len(source_dates) == 2 and len(out_dates) == 2 and not source_dates & out_dates
    import datetime as dt

    def span(dates):
        low, high = sorted(dt.datetime.strptime(d, "%Y%m%d") for d in dates)
        return (high - low).days

    assert span(out_dates) == span(source_dates)


def test_ibsi_ct_phantom_and_rtstruct(shared_data, tmp_path):
    from pydicom.data import get_testdata_file

    sources = [
        shared_data / "ibsi1" / "ct_phantom" / "dicom",
        get_testdata_file("CT_small.dcm"),
        get_testdata_file("MR_small.dcm"),
        get_testdata_file("rtplan.dcm"),
    ]
    corpus = build_phi_corpus(tmp_path / "in", sources=sources)
    summary = deidentify_tree(tmp_path / "in", tmp_path / "out", key=KEY, workers=2)
    assert summary.by_status["ok"] == len(corpus.files) == 64
    assert leaked_values(tmp_path / "out", corpus.seeded_values) == {}
    assert verify_tree(tmp_path / "out", phi_values=corpus.seeded_values) == []
    before = check_references(tmp_path / "in")
    assert before.n_resolved >= 60
    assert check_references(tmp_path / "out").n_resolved == before.n_resolved
    files = dicom_files(tmp_path / "out")
    (rtstruct,) = [ds for ds in files.values() if ds.Modality == "RTSTRUCT"]
    ct_uids = {
        ds.SOPInstanceUID
        for ds in files.values()
        if ds.Modality == "CT" and ds.StudyInstanceUID == rtstruct.StudyInstanceUID
    }
    assert len(ct_uids) == 60
    referenced = {
        item.ReferencedSOPInstanceUID
        for frame in rtstruct.ReferencedFrameOfReferenceSequence
        for study in frame.RTReferencedStudySequence
        for series in study.RTReferencedSeriesSequence
        for item in series.ContourImageSequence
    }
    referenced |= {
        item.ReferencedSOPInstanceUID
        for roi in rtstruct.ROIContourSequence
        for contour in roi.ContourSequence
        for item in contour.get("ContourImageSequence", [])
    }
    assert len(referenced) >= 26 and referenced <= ct_uids
    frames = {ds.FrameOfReferenceUID for ds in files.values() if ds.SOPInstanceUID in ct_uids}
    assert len(frames) == 1
    assert rtstruct.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID in frames
    pseudo = Pseudonymizer(KEY)
    by_uid = {ds.SOPInstanceUID: ds for ds in files.values()}
    for path in corpus.files[:60]:
        source = pydicom.dcmread(path)
        assert by_uid[pseudo.uid(source.SOPInstanceUID)].PixelData == source.PixelData
