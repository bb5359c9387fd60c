"""Radiomics features as a DICOM Structured Report (TID 1500 Measurement Report), with highdicom.

Each feature is one numeric measurement (TID 300) of one measurement group: a TID 1411
volumetric ROI group referencing the DICOM SEG segment the features were computed on (with its
source series), or, without a SEG, a TID 1501 group whose source images are the series. A
feature's concept name is coded ``(IBSI code, "IBSI", feature id)``: the four-character IBSI
identifier (e.g. ``GYBY``) as code value and the medscale id, with its aggregation suffix (e.g.
``cm_joint_max_3D_avg``), as meaning. Features IBSI does not standardise are coded in the private
scheme ``99MEDSCALE`` with the id as value. Values are written both as NumericValue (DS) and as
FloatingPointValue (FD), so they read back exactly; a value that is not finite (NaN) is written
with the NumericValueQualifier "Not a number" (DCM 114000) and reads back as NaN (so does
±inf).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from medscale.errors import DicomError
from medscale.io.dicom_object import read_object

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

IBSI_SCHEME = "IBSI"
PRIVATE_SCHEME = "99MEDSCALE"
_SCHEMES = (IBSI_SCHEME, PRIVATE_SCHEME)


def write_feature_report(
    features: Mapping[str, float],
    codes: Mapping[str, str],
    source: str | Path | Sequence[str | Path],
    path: str | Path,
    *,
    seg: str | Path | None = None,
    segment_number: int = 1,
    roi_name: str = "ROI",
    series_number: int = 301,
) -> Path:
    """Write `features` as a TID 1500 measurement report referencing `source` (and `seg`).

    Parameters
    ----------
    features : mapping of feature id to value
    codes : mapping of feature id to IBSI code
        ``""`` or missing: the feature is coded in ``99MEDSCALE``.
    source : folder, file or list of files
        The DICOM image series the features were computed on.
    path : str or Path
        The SR file written (folder made).
    seg : str or Path, optional
        The DICOM SEG of the ROI; the measurement group references its segment
        `segment_number`.
    roi_name : str
        The tracking identifier of the measurement group.

    Raises
    ------
    DicomError
        The source or SEG is unreadable, or the SEG has no segment `segment_number`.
    """
    from pydicom.sr.codedict import codes as dcm_codes
    from pydicom.uid import generate_uid

    from medscale.io.seg_write import load_highdicom, source_datasets

    hd = load_highdicom()
    path = Path(path)
    images = source_datasets(source)
    evidence = list(images)
    entropy = [str(images[0].SeriesInstanceUID), roi_name, repr(sorted(features.items()))]
    tracking = hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=[*entropy, "tracking"]), identifier=roi_name
    )
    missing = {name for name, value in features.items() if not math.isfinite(float(value))}
    measurements = [
        _measurement(name, 0.0 if name in missing else value, codes.get(name, ""))
        for name, value in features.items()
    ]
    group: Any
    if seg is not None:
        try:
            seg_dataset = hd.seg.segread(seg)
        except Exception as err:  # noqa: BLE001 - reworded with the file name
            raise DicomError(f"{seg}: not a readable DICOM SEG ({err})") from err
        numbers = [int(item.SegmentNumber) for item in seg_dataset.SegmentSequence]
        if segment_number not in numbers:
            raise DicomError(f"{seg}: no segment {segment_number} (segments: {numbers})")
        evidence.append(seg_dataset)
        entropy.append(str(seg_dataset.SOPInstanceUID))
        group = hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            # (not ReferencedSegment.from_segmentation: highdicom 0.28 fails there on a SEG
            # whose SegmentIdentificationSequence is shared, as its own one-segment SEGs are)
            referenced_segment=hd.sr.ReferencedSegment(
                sop_class_uid=str(seg_dataset.SOPClassUID),
                sop_instance_uid=str(seg_dataset.SOPInstanceUID),
                segment_number=segment_number,
                source_series=hd.sr.SourceSeriesForSegmentation(str(images[0].SeriesInstanceUID)),
            ),
            measurements=measurements,
        )
    else:
        group = hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            measurements=measurements,
            source_images=[
                hd.sr.SourceImageForMeasurementGroup.from_source_image(ds) for ds in images
            ],
        )
    observer = hd.sr.ObserverContext(
        observer_type=dcm_codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["medscale device"]), name="medscale"
        ),
    )
    modality = str(images[0].get("Modality", ""))
    procedure = (
        dcm_codes.LN.CTUnspecifiedBodyRegion
        if modality == "CT"
        else hd.sr.CodedConcept("363679005", "SCT", "Imaging procedure")
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=procedure,
        imaging_measurements=[group],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sr = hd.sr.Comprehensive3DSR(
            evidence=evidence,
            content=report,
            series_instance_uid=generate_uid(entropy_srcs=[*entropy, "series"]),
            series_number=series_number,
            sop_instance_uid=generate_uid(entropy_srcs=[*entropy, "instance"]),
            instance_number=1,
            manufacturer="medscale",
            is_complete=True,
        )
    _mark_not_a_number(sr.ContentSequence, missing)
    path.parent.mkdir(parents=True, exist_ok=True)
    sr.save_as(path)
    return path


def _measurement(name: str, value: float, code: str) -> Any:
    import highdicom as hd

    if code:
        concept = hd.sr.CodedConcept(code, IBSI_SCHEME, name)
    else:
        concept = hd.sr.CodedConcept(name, PRIVATE_SCHEME, name)
    unit = hd.sr.CodedConcept("1", "UCUM", "no units")
    return hd.sr.Measurement(name=concept, value=float(value), unit=unit)


def _mark_not_a_number(content: Any, names: set[str]) -> None:
    """Empty the value of the NUM items named `names` and qualify them "Not a number".

    Done on the finished document: highdicom 0.28 cannot build or re-parse a NUM item without
    a value, though PS3.3 C.18.1 allows one (MeasuredValueSequence is type 2) with a qualifier.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes as dcm_codes

    for item in _walk(content):
        if item.get("ValueType") != "NUM":
            continue
        concept = item.ConceptNameCodeSequence[0]
        if concept.get("CodingSchemeDesignator") in _SCHEMES and concept.CodeMeaning in names:
            item.MeasuredValueSequence = []
            item.NumericValueQualifierCodeSequence = [
                hd.sr.CodedConcept.from_code(dcm_codes.DCM.NotANumber)
            ]


def read_feature_report(path: str | Path) -> dict[str, float]:
    """{feature id: value} of a measurement report written by `write_feature_report`.

    Every numeric item coded in ``IBSI`` or ``99MEDSCALE`` counts, in document order; NaN for
    an item without a value (qualifier "Not a number").

    Raises
    ------
    DicomError
        The file is not a readable SR.
    """
    dataset = read_object(Path(path), kind="a DICOM SR", sequence="ContentSequence")
    features: dict[str, float] = {}
    for item in _walk(dataset.ContentSequence):
        if item.get("ValueType") != "NUM" or "ConceptNameCodeSequence" not in item:
            continue
        concept = item.ConceptNameCodeSequence[0]
        if concept.get("CodingSchemeDesignator") not in _SCHEMES:
            continue
        values = item.get("MeasuredValueSequence")
        if not values:
            features[str(concept.CodeMeaning)] = math.nan
            continue
        value = values[0]
        number = value.get("FloatingPointValue")
        features[str(concept.CodeMeaning)] = float(
            number if number is not None else value.NumericValue
        )
    return features


def _walk(sequence: Any) -> Iterator[Any]:
    for item in sequence:
        yield item
        if "ContentSequence" in item:
            yield from _walk(item.ContentSequence)
