"""PACS access: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and DIMSE (C-ECHO, C-FIND, C-GET, C-MOVE,
C-STORE).

Endpoints and credentials come from the environment (`PacsConfig.from_env`), never from the
command line. Every call retries transient failures (connection refused or reset, HTTP 5xx /
429) with exponential backoff; anything else fails at once with a one-line `PacsError`.
Retrieval writes ``OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm`` atomically (a temporary name,
then `os.replace`) and skips instances whose file is already there, so an interrupted
retrieval can simply be run again and never leaves a partial file that looks whole.
"""

from __future__ import annotations

from medscale.pacs.config import PacsConfig
from medscale.pacs.dicomweb import DicomWebClient
from medscale.pacs.dimse import DimseClient
from medscale.pacs.files import (
    Rewrite,
    collect_dicom_files,
    instance_path,
    target_path,
    write_instance,
)
from medscale.pacs.studies import STUDY_FIELDS, StudyQuery

__all__ = [
    "STUDY_FIELDS",
    "DicomWebClient",
    "DimseClient",
    "PacsConfig",
    "Rewrite",
    "StudyQuery",
    "collect_dicom_files",
    "instance_path",
    "target_path",
    "write_instance",
]
