"""The DICOM catalog: scan folders into Parquet (header-only, parallel, streaming), query with SQL.

>>> from medscale.catalog import scan, query                       # doctest: +SKIP
>>> result = scan("archive/", "archive.parquet", workers=4)        # doctest: +SKIP
>>> query("archive.parquet", "SELECT modality, count(*) FROM series GROUP BY 1")  # doctest: +SKIP

Tables: ``instances`` (one row per file, :data:`INSTANCE_SCHEMA`), ``errors`` (unreadable files,
:data:`ERROR_SCHEMA`, in ``<stem>_errors.parquet``), and the views ``series`` and ``studies``.
"""

from __future__ import annotations

from medscale.catalog.scanner import ScanResult, errors_path_for, scan
from medscale.catalog.schema import ERROR_SCHEMA, INSTANCE_SCHEMA
from medscale.catalog.views import (
    SERIES_SQL,
    STUDIES_SQL,
    connect,
    query,
    series_view,
    study_view,
    summary,
)

__all__ = [
    "ERROR_SCHEMA",
    "INSTANCE_SCHEMA",
    "SERIES_SQL",
    "STUDIES_SQL",
    "ScanResult",
    "connect",
    "errors_path_for",
    "query",
    "scan",
    "series_view",
    "study_view",
    "summary",
]
