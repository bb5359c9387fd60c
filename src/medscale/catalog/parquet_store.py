"""The Parquet files of a catalog: row-group writing, and re-reading for ``scan(update=True)``.

`RowGroupWriter` gathers batches into row groups of a fixed number of rows; `previous_index`
lists the (size, mtime) of every file an existing catalog holds, and `carry_over` streams the
rows of unchanged files into the new catalog without reading those files again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medscale.errors import InputError

logger = logging.getLogger(__name__)


class RowGroupWriter:
    """A ParquetWriter that gathers batches into row groups of a fixed number of rows."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_size: int) -> None:
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.schema, self.row_group_size = schema, row_group_size
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = self.n_rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        batches = batch.to_batches() if isinstance(batch, pa.Table) else [batch]
        for part in batches:
            if part.num_rows:
                self.pending.append(part)
                self.pending_rows += part.num_rows
        while self.pending_rows >= self.row_group_size:
            self._flush(self.row_group_size)

    def _flush(self, n_rows: int) -> None:
        table = pa.Table.from_batches(self.pending, schema=self.schema)
        self.writer.write_table(table.slice(0, n_rows), row_group_size=n_rows)
        rest = table.slice(n_rows)
        self.pending, self.pending_rows = rest.to_batches(), rest.num_rows
        self.n_rows += n_rows

    def close(self) -> None:
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.writer.close()


def previous_index(catalog: Path, errors_file: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) by path of every file in an existing catalog and its errors table."""
    index: dict[str, tuple[int, int]] = {}
    if not catalog.is_file():
        logger.info("no catalog at %s yet: a full scan", catalog)
        return index
    for path in (catalog, errors_file):
        if not path.is_file():
            continue
        table = _read_columns(path, ["path", "size_bytes", "mtime_ns"])
        index.update(
            zip(
                table["path"].to_pylist(),
                zip(table["size_bytes"].to_pylist(), table["mtime_ns"].to_pylist(), strict=True),
                strict=True,
            )
        )
    return index


def _read_columns(path: Path, columns: list[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as err:
        raise InputError(
            f"cannot read the existing catalog {path}: {err}; delete it or scan without --update"
        ) from err


def carry_over(
    catalog: Path,
    errors_file: Path,
    unchanged: set[str],
    instances: RowGroupWriter,
    failures: RowGroupWriter,
) -> int:
    """Stream the previous rows of unchanged files into the new writers; return their count."""
    keep = pa.array(sorted(unchanged), type=pa.string())
    count = 0
    for path, writer in ((catalog, instances), (errors_file, failures)):
        if not path.is_file():
            continue
        source = pq.ParquetFile(path)
        if not source.schema_arrow.remove_metadata().equals(writer.schema.remove_metadata()):
            raise InputError(
                f"the existing catalog {path} has another layout; scan without "
                f"--update to rebuild it"
            )
        for batch in source.iter_batches(batch_size=writer.row_group_size):
            kept = batch.filter(pc.is_in(batch.column("path"), value_set=keep))
            count += kept.num_rows
            writer.write(kept.cast(writer.schema) if kept.schema != writer.schema else kept)
    return count
