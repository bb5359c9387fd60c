"""A catalog from header datasets that are not files (a PACS query, for instance).

The rows are the same as a folder scan's, built from pydicom datasets; the ``path`` column holds
a reference given by the caller (e.g. ``pacs:<SOPInstanceUID>`` or a WADO-RS URL), and
``size_bytes`` and ``mtime_ns`` are 0 and ``has_pixel_data`` null (there is no file). Only the
attributes present in each dataset are filled. Written atomically like a scan; the errors table
is written empty.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medscale.catalog.fallback import dataset_values
from medscale.catalog.scanner import ScanResult, errors_path_for
from medscale.catalog.schema import ERROR_SCHEMA, INSTANCE_SCHEMA, make_row


def catalog_from_datasets(
    datasets: Iterable[Any],
    catalog_path: str | os.PathLike[str],
    reference: Callable[[Any], str],
) -> ScanResult:
    """Write the ``instances`` (and an empty ``errors``) table from header datasets.

    Parameters
    ----------
    datasets : iterable of pydicom.Dataset
        One per instance.
    catalog_path : path
        The catalog Parquet file to write.
    reference : callable
        Dataset -> the string stored in the ``path`` column.
    """
    start = time.perf_counter()
    rows = []
    for dataset in datasets:
        values = dataset_values(dataset)
        values.update(path=reference(dataset), size_bytes=0, mtime_ns=0)
        rows.append(make_row(values))
    catalog = Path(catalog_path)
    errors_file = errors_path_for(catalog)
    catalog.parent.mkdir(parents=True, exist_ok=True)
    temporary = [p.with_name(f".{p.name}-{os.getpid()}") for p in (catalog, errors_file)]
    try:
        pq.write_table(pa.Table.from_pylist(rows, schema=INSTANCE_SCHEMA), temporary[0])
        pq.write_table(ERROR_SCHEMA.empty_table(), temporary[1])
        os.replace(temporary[1], errors_file)
        os.replace(temporary[0], catalog)
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)
    return ScanResult(
        catalog_path=catalog,
        errors_path=errors_file,
        n_files=len(rows),
        n_instances=len(rows),
        n_errors=0,
        read_count=len(rows),
        reused_count=0,
        removed_count=0,
        seconds=time.perf_counter() - start,
    )
