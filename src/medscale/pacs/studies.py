"""A protocol-neutral study query and the study-level fields both protocols report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from medscale.errors import ConfigError

#: Study attributes every `find` returns (QIDO-RS includefield / C-FIND return keys).
STUDY_FIELDS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "StudyDate",
    "StudyDescription",
    "AccessionNumber",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
_DATE_RANGE = re.compile(r"^(\d{8})?-(\d{8})?$|^\d{8}$")


@dataclass(frozen=True)
class StudyQuery:
    """Study-level matching keys; None matches everything."""

    patient_id: str | None = None
    modality: str | None = None
    study_date: str | None = None  # YYYYMMDD or a DICOM range A-B (either end may be open)
    study_uid: str | None = None

    def __post_init__(self) -> None:
        if self.study_date is not None and not _DATE_RANGE.match(self.study_date):
            raise ConfigError(
                f"study date {self.study_date!r}: expected YYYYMMDD or YYYYMMDD-YYYYMMDD"
            )

    def keys(self) -> dict[str, str]:
        """The matching keys by DICOM keyword."""
        pairs = {
            "PatientID": self.patient_id,
            "ModalitiesInStudy": self.modality,
            "StudyDate": self.study_date,
            "StudyInstanceUID": self.study_uid,
        }
        return {k: v for k, v in pairs.items() if v}


def study_record(dataset: Any) -> dict[str, Any]:
    """A JSON-ready dict of `STUDY_FIELDS` from a pydicom Dataset (absent ones: None)."""
    record: dict[str, Any] = {}
    for name in STUDY_FIELDS:
        value = getattr(dataset, name, None)
        if value is None or value == "":
            record[name] = [] if name == "ModalitiesInStudy" else None
        elif name == "ModalitiesInStudy":
            record[name] = [str(v) for v in value] if _multi(value) else [str(value)]
        elif name.startswith("NumberOf"):
            record[name] = int(value)
        else:
            record[name] = str(value)
    return record


def _multi(value: Any) -> bool:
    return isinstance(value, list | tuple) or type(value).__name__ == "MultiValue"
