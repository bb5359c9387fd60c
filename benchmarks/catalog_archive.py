"""A synthetic DICOM archive for the catalog benchmark, written fast from byte templates.

Three templates of realistic size, each parsed and encoded once with pydicom:

- CT: pydicom's ``CT_small.dcm`` header (explicit VR LE, ~250 elements, private groups)
  with a 512 x 512 int16 image (~520 KB);
- MR: pydicom's ``MR_small.dcm`` header with a 256 x 256 int16 image (~130 KB);
- CT phantom: an IBSI-1 CT phantom slice (implicit VR LE, 204 x 201, ~83 KB), when the
  shared data are present (otherwise the CT template takes its share).

Every variable attribute (Study/Series/SOP Instance UID, PatientID, dates, times,
InstanceNumber, device) is written into the template with a fixed-length placeholder, so each
new file is the template's bytes with those ranges overwritten: no DICOM encoding per file.
Files are grouped into series of 40 instances, two series per study, one study per patient,
under ``root/P<patient>/<study>/<series>/IM<nnnnnn>.dcm``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file

UID_ROOT = "1.2.826.0.1.3680043.10.543."
SERIES_SIZE = 40
DEVICES = [
    ("SIEMENS", "SOMATOM Force", "CTAWP01"),
    ("GE MEDICAL SYSTEMS", "Revolution", "GECT2"),
    ("Philips", "Ingenia", "PHMR01"),
]
# placeholder text of each variable attribute (unique in the template) -> field name
PLACEHOLDERS = {
    f"{UID_ROOT}1888888888881": "study_uid",
    f"{UID_ROOT}2888888888882": "series_uid",
    f"{UID_ROOT}3888888888883": "sop_uid",
    "PX888881": "patient_id",
    "18010101": "study_date",
    "18020202": "acquisition_date",
    "235857": "acquisition_time",
    "987654": "instance_number",
}


@dataclass(frozen=True)
class Template:
    """Encoded bytes of one template and where each placeholder sits in them."""

    name: str
    data: bytes
    offsets: dict[str, list[int]]


def _encode(dataset: pydicom.Dataset, name: str) -> Template:
    dataset.StudyInstanceUID = f"{UID_ROOT}1888888888881"
    dataset.SeriesInstanceUID = f"{UID_ROOT}2888888888882"
    dataset.SOPInstanceUID = f"{UID_ROOT}3888888888883"
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientID = "PX888881"
    dataset.StudyDate = dataset.SeriesDate = "18010101"
    dataset.AcquisitionDate = "18020202"
    dataset.AcquisitionTime = "235857"
    dataset.InstanceNumber = "987654"
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"medscale-template-{os.getpid()}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    path.unlink()
    offsets = {
        field: [m.start() for m in re.finditer(re.escape(text.encode()), data)]
        for text, field in PLACEHOLDERS.items()
    }
    for field, found in offsets.items():
        expected = 2 if field in ("sop_uid", "study_date") else 1
        if len(found) != expected:
            raise RuntimeError(f"template {name}: placeholder {field} found {len(found)} times")
    return Template(name, data, offsets)


def make_templates(shared_data: Path | None) -> list[list[Template]]:
    """Per kind (CT, MR, phantom), one encoded template per device."""
    rng = np.random.default_rng(0)
    kinds = []
    for kind, source, shape in (
        ("ct", get_testdata_file("CT_small.dcm"), (512, 512)),
        ("mr", get_testdata_file("MR_small.dcm"), (256, 256)),
    ):
        variants = []
        for manufacturer, model, station in DEVICES:
            dataset = pydicom.dcmread(source)
            dataset.Rows, dataset.Columns = shape
            dataset.PixelData = rng.integers(0, 2000, shape, dtype=np.int16).tobytes()
            dataset.Manufacturer, dataset.ManufacturerModelName = manufacturer, model
            dataset.StationName = station
            variants.append(_encode(dataset, f"{kind}-{station}"))
        kinds.append(variants)
    if shared_data is not None:
        slice_path = shared_data / "ibsi1" / "ct_phantom" / "dicom" / "image" / "DCM_IMG_00030.dcm"
        variants = []
        for manufacturer, model, station in DEVICES:
            dataset = pydicom.dcmread(slice_path)
            dataset.Manufacturer, dataset.ManufacturerModelName = manufacturer, model
            dataset.StationName = station
            variants.append(_encode(dataset, f"phantom-{station}"))
        kinds.append(variants)
    return kinds


def write_archive(
    root: Path, n_files: int, templates: list[list[Template]], *, first_index: int = 0
) -> int:
    """Write ``n_files`` files under ``root``; file numbers start at ``first_index``.

    Returns the number of bytes written.
    """
    written = 0
    base_date = dt.date(2020, 1, 1)
    for index in range(first_index, first_index + n_files):
        series, instance = divmod(index, SERIES_SIZE)
        study = series // 2
        kind = templates[series % len(templates)]
        template = kind[study % len(kind)]
        day = base_date + dt.timedelta(days=study % 1500)
        seconds = 8 * 3600 + (study % 600) * 60 + instance
        values = {
            "study_uid": f"{UID_ROOT}1{study:012d}",
            "series_uid": f"{UID_ROOT}2{series:012d}",
            "sop_uid": f"{UID_ROOT}3{index:012d}",
            "patient_id": f"PX{study:06d}",
            "study_date": day.strftime("%Y%m%d"),
            "acquisition_date": day.strftime("%Y%m%d"),
            "acquisition_time": f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}",
            "instance_number": f"{instance + 1:06d}",
        }
        data = bytearray(template.data)
        for field, offsets in template.offsets.items():
            encoded = values[field].encode()
            for offset in offsets:
                data[offset : offset + len(encoded)] = encoded
        folder = root / f"P{study:06d}" / f"study{study:06d}" / f"series{series:06d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IM{instance:06d}.dcm").write_bytes(data)
        written += len(data)
    return written
