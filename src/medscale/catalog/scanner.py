"""Scan a folder of DICOM files into a Parquet catalog, in parallel and streaming.

Layout on disk, for a catalog ``OUT.parquet``:

- ``OUT.parquet``: the ``instances`` table, one row per DICOM file
  (:data:`~medscale.catalog.schema.INSTANCE_SCHEMA`);
- ``OUT_errors.parquet``: the ``errors`` table, one row per file that could not be read
  (:data:`~medscale.catalog.schema.ERROR_SCHEMA`). Every file under the root is in exactly one
  of the two.

Both are written to hidden temporary files beside them and moved into place with
:func:`os.replace` when the scan ends (errors first, then instances), so a reader never sees a
half-written catalog and an interrupted scan leaves the previous one intact.

Memory stays flat in the number of files: workers return one chunk of rows at a time, the
parent writes them as Parquet row groups of ``row_group_size`` rows, and never holds more than
a few chunks plus one row group. What does grow with the archive is the list of file paths
(about 200 bytes per file) and, for ``update=True``, the (path, size, mtime) index of the
previous catalog. The Parquet writing and the update carry-over are
`medscale.catalog.parquet_store`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from medscale.catalog.header import UnreadableFileError, read_row
from medscale.catalog.parquet_store import RowGroupWriter, carry_over, previous_index
from medscale.catalog.schema import ERROR_SCHEMA, INSTANCE_SCHEMA
from medscale.errors import InputError, MedscaleError, WorkerLostError
from medscale.parallel import LocalExecutor

logger = logging.getLogger(__name__)

Entry = tuple[str, int, int]  # path, size in bytes, mtime in ns
ProgressCallback = Callable[[int, int], None]

DEFAULT_ROW_GROUP_SIZE = 8192
MAX_CHUNK_SIZE = 512


@dataclass(frozen=True)
class ScanResult:
    """What a scan did.

    Attributes
    ----------
    catalog_path, errors_path : Path
        The instances and errors Parquet files written.
    n_files : int
        Files found under the root (the catalog's own files excluded).
    n_instances, n_errors : int
        Rows written to the instances and errors tables.
    read_count : int
        Files opened and parsed by this scan (all files, or with ``update=True`` only the new
        and changed ones).
    reused_count : int
        Rows (instances or errors) carried over unchanged from the previous catalog.
    removed_count : int
        Rows of the previous catalog dropped because their file was deleted or changed.
    seconds : float
        Wall time of the scan, s.
    """

    catalog_path: Path
    errors_path: Path
    n_files: int
    n_instances: int
    n_errors: int
    read_count: int
    reused_count: int
    removed_count: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        """Files read per second of wall time (0 when nothing was read)."""
        return self.read_count / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings, plus ``files_per_second``)."""
        out = asdict(self)
        out.update(
            catalog_path=str(self.catalog_path),
            errors_path=str(self.errors_path),
            files_per_second=self.files_per_second,
        )
        return out


def errors_path_for(catalog_path: str | os.PathLike[str]) -> Path:
    """Where the errors table of a catalog lives: ``<stem>_errors.parquet`` beside it."""
    catalog = Path(catalog_path)
    return catalog.with_name(f"{catalog.stem}_errors.parquet")


def read_chunk(entries: list[Entry]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Read the headers of a chunk of files (runs in a worker process).

    Returns
    -------
    (instances, errors) : pyarrow.RecordBatch
        One row per readable file, one row per unreadable file; never raises for one file.
    """
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for path, size, mtime_ns in entries:
        try:
            rows.append(read_row(path, size, mtime_ns))
        except UnreadableFileError as err:
            errors.append(_error_row(path, size, mtime_ns, err.error_type, err.reason))
        except Exception as err:  # noqa: BLE001 - a scan never aborts on one bad file
            logger.debug("%s: unexpected reader failure", path, exc_info=True)
            errors.append(
                _error_row(path, size, mtime_ns, "unreadable", f"{type(err).__name__}: {err}")
            )
    return (
        pa.RecordBatch.from_pylist(rows, schema=INSTANCE_SCHEMA),
        pa.RecordBatch.from_pylist(errors, schema=ERROR_SCHEMA),
    )


def _error_row(path: str, size: int, mtime_ns: int, error_type: str, reason: str) -> dict:
    reason = " ".join(str(reason).split()) or error_type
    return {
        "path": path,
        "size_bytes": size,
        "mtime_ns": mtime_ns,
        "error_type": error_type,
        "reason": reason,
    }


def list_files(root: Path, *, exclude: Callable[[str], bool]) -> list[Entry]:
    """Every regular file under ``root`` (recursively, links to files followed), sorted by path."""
    entries: list[Entry] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        stack.append(item.path)
                    elif item.is_file() and not exclude(item.path):
                        stat = item.stat()
                        entries.append((item.path, stat.st_size, stat.st_mtime_ns))
        except OSError as err:
            logger.warning("cannot list %s: %s", folder, err)
    entries.sort()
    return entries


def scan(
    root: str | os.PathLike[str],
    catalog_path: str | os.PathLike[str],
    *,
    update: bool = False,
    workers: int | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    chunk_size: int | None = None,
    progress: ProgressCallback | None = None,
) -> ScanResult:
    """Index every file under ``root`` into a Parquet catalog, reading headers only.

    Parameters
    ----------
    root : path
        The folder to scan, recursively.
    catalog_path : path
        The instances Parquet file to write; errors go to :func:`errors_path_for` of it.
    update : bool
        Re-use the existing catalog: read only files that are new or whose size or mtime
        changed, drop rows of deleted files. Without an existing catalog, a full scan.
    workers : int, optional
        Worker processes (default: the number of CPU cores); 1 reads in this process.
    row_group_size : int
        Rows per Parquet row group (memory bound of the writer).
    chunk_size : int, optional
        Files per task sent to a worker; default: a quarter of each worker's share, between
        16 and 512 (large enough that inter-process traffic is negligible).
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of files read so far and to read.

    Returns
    -------
    ScanResult

    Raises
    ------
    InputError
        ``root`` is not a folder, or a size parameter is not positive.
    MedscaleError
        A worker process died three times under the same chunk of files (for example killed
        for memory); a chunk whose worker died fewer times is read again.

    Notes
    -----
    Unreadable files (not DICOM, truncated) are rows of the errors table with the reason;
    a scan never stops on one file. Instance rows are in path order, except after
    ``update=True``: rows carried over come first (in their previous order), then the rows
    of the files read.
    """
    start = time.perf_counter()
    root_path, catalog = Path(root), Path(catalog_path).absolute()
    if not root_path.is_dir():
        raise InputError(f"scan root {str(root)!r} is not a folder")
    checked = {
        "row_group_size": row_group_size,
        "chunk_size": 1 if chunk_size is None else chunk_size,
        "workers": 1 if workers is None else workers,
    }
    for name, value in checked.items():
        if value < 1:
            raise InputError(f"scan: {name} must be >= 1, got {value}")
    errors_file = errors_path_for(catalog)
    catalog.parent.mkdir(parents=True, exist_ok=True)
    own = {str(catalog), str(errors_file)}
    hidden = (f".{catalog.name}.tmp", f".{errors_file.name}.tmp")

    def exclude(path: str) -> bool:
        return path in own or os.path.basename(path).startswith(hidden)

    entries = list_files(root_path.absolute(), exclude=exclude)
    previous = previous_index(catalog, errors_file) if update else {}
    unchanged = {path for path, size, mtime in entries if previous.get(path) == (size, mtime)}
    to_read = [entry for entry in entries if entry[0] not in unchanged]
    logger.info(
        "scan %s: %d files, %d to read, %d unchanged",
        root,
        len(entries),
        len(to_read),
        len(unchanged),
    )

    temporary = (
        catalog.with_name(f"{hidden[0]}-{os.getpid()}"),
        errors_file.with_name(f"{hidden[1]}-{os.getpid()}"),
    )
    instances = RowGroupWriter(temporary[0], INSTANCE_SCHEMA, row_group_size)
    failures = RowGroupWriter(temporary[1], ERROR_SCHEMA, row_group_size)
    try:
        reused = (
            carry_over(catalog, errors_file, unchanged, instances, failures) if unchanged else 0
        )
        if progress is not None:
            progress(0, len(to_read))
        done = 0
        for rows, errors, n_files in _read_all(to_read, workers=workers, chunk_size=chunk_size):
            instances.write(rows)
            failures.write(errors)
            done += n_files
            if progress is not None:
                progress(done, len(to_read))
        instances.close()
        failures.close()
        os.replace(temporary[1], errors_file)
        os.replace(temporary[0], catalog)
    except BaseException:
        for writer in (instances, failures):
            writer.writer.close()
        for path in temporary:
            Path(path).unlink(missing_ok=True)
        raise
    result = ScanResult(
        catalog_path=catalog,
        errors_path=errors_file,
        n_files=len(entries),
        n_instances=instances.n_rows,
        n_errors=failures.n_rows,
        read_count=len(to_read),
        reused_count=reused,
        removed_count=len(previous) - reused,
        seconds=time.perf_counter() - start,
    )
    logger.info(
        "scan %s: %d instances, %d errors, %d read in %.2f s",
        root,
        result.n_instances,
        result.n_errors,
        result.read_count,
        result.seconds,
    )
    return result


def _read_all(
    entries: list[Entry],
    *,
    workers: int | None,
    chunk_size: int | None,
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch, int]]:
    """Yield (instances, errors, n_files) per chunk, in path order; at most 2 chunks per worker
    in flight."""
    n_workers = workers or os.cpu_count() or 1
    if chunk_size is None:
        chunk_size = min(MAX_CHUNK_SIZE, max(16, -(-len(entries) // (4 * n_workers))))
    chunks = [entries[i : i + chunk_size] for i in range(0, len(entries), chunk_size)]
    n_workers = min(n_workers, max(len(chunks), 1))
    if n_workers <= 1:
        for chunk in chunks:
            yield (*read_chunk(chunk), len(chunk))
        return
    read_chunk([])  # pays the lazy imports (pyarrow's pandas shim) once, before the fork
    executor = LocalExecutor(n_workers, start_method="fork" if os.name == "posix" else None)
    try:
        results = executor.map(read_chunk, chunks, lost=_chunk_lost)
        for chunk, (rows, errors) in zip(chunks, results, strict=True):
            yield rows, errors, len(chunk)
    finally:
        executor.close()


def _chunk_lost(chunk: list[Entry], err: WorkerLostError) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """A chunk whose worker kept dying (a worker killed for memory, a crash in a reader)."""
    raise MedscaleError(
        f"scan failed: a worker process died reading {len(chunk)} files from {chunk[0][0]} "
        f"({err}); try fewer workers"
    ) from err
