"""Radiomics features as a TID 1500 DICOM SR, written with highdicom and read back exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medscale.errors import DicomError
from medscale.features.ibsi_codes import ibsi_code, ibsi_codes
from medscale.image import Image, Mask
from medscale.io.dicom import read_dicom
from medscale.io.dicom_write import write_dicom_series
from medscale.io.seg_write import write_seg
from medscale.io.sr import read_feature_report, write_feature_report

pydicom = pytest.importorskip("pydicom")
pytest.importorskip("highdicom")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    rng = np.random.default_rng(11)
    values = rng.integers(0, 200, size=(5, 16, 16)).astype(np.int16)
    folder = tmp_path_factory.mktemp("series")
    write_dicom_series(Image(values, spacing=(2.0, 1.0, 1.0)), folder)
    image = read_dicom(folder)
    array = np.zeros(image.shape, bool)
    array[1:4, 3:12, 4:13] = True
    mask = Mask.like(image, array)
    seg = write_seg(mask, folder, folder.parent / "seg.dcm")
    return image, mask, folder, seg


FEATURES = {
    "morph_volume": 243.0,
    "stat_mean": 101.37037037037037,
    "cm_joint_max_3D_avg": 0.0123456789012345678,
    "ih_entropy": 1e-300,
    "morph_2d_area": 81.0,  # not an IBSI feature: private scheme
    "stat_skewness": math.nan,
}


def test_codes_from_the_registry():
    assert ibsi_code("cm_joint_max_3D_avg") == "GYBY"
    assert ibsi_code("morph_volume") == "RNU0"
    assert ibsi_codes(["stat_mean", "nonsense"]) == {"stat_mean": "Q4LE", "nonsense": ""}


def test_round_trip_exact_with_seg(case, tmp_path):
    image, _, folder, seg = case
    path = write_feature_report(
        FEATURES, ibsi_codes(FEATURES), folder, tmp_path / "sr.dcm", seg=seg, roi_name="GTV"
    )
    back = read_feature_report(path)
    assert list(back) == list(FEATURES)
    for name, value in FEATURES.items():
        assert back[name] == value or (math.isnan(value) and math.isnan(back[name])), name
    sr = pydicom.dcmread(path)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert sr.StudyInstanceUID == image.meta["study_uid"]
    text = str(sr)
    seg_uid = pydicom.dcmread(seg).SOPInstanceUID
    assert seg_uid in text and image.meta["series_uid"] in text
    evidence = {
        item.SeriesInstanceUID
        for study in sr.CurrentRequestedProcedureEvidenceSequence
        for item in study.ReferencedSeriesSequence
    }
    assert image.meta["series_uid"] in evidence
    schemes = {}
    for item in _num_items(sr.ContentSequence):
        code = item.ConceptNameCodeSequence[0]
        schemes[code.CodeMeaning] = (code.CodingSchemeDesignator, code.CodeValue)
    assert schemes["cm_joint_max_3D_avg"] == ("IBSI", "GYBY")
    assert schemes["morph_2d_area"] == ("99MEDSCALE", "morph_2d_area")


def test_round_trip_without_seg(case, tmp_path):
    _, _, folder, _ = case
    path = write_feature_report(
        {"stat_mean": 2.5}, {"stat_mean": "Q4LE"}, folder, tmp_path / "s.dcm"
    )
    assert read_feature_report(path) == {"stat_mean": 2.5}


def test_bad_inputs(case, tmp_path):
    _, _, folder, seg = case
    with pytest.raises(DicomError, match="no segment 3"):
        write_feature_report({"a": 1.0}, {}, folder, tmp_path / "x.dcm", seg=seg, segment_number=3)
    with pytest.raises(DicomError, match="not a DICOM SR"):
        read_feature_report(seg)


def _num_items(sequence):
    for item in sequence:
        if item.get("ValueType") == "NUM":
            yield item
        if "ContentSequence" in item:
            yield from _num_items(item.ContentSequence)
