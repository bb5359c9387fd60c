"""The run folder's tables: streaming result parts, the failure table, and reading them back.

pyarrow lives here, not in `medscale.engine.driver`, so that a run can start its workers before
the driver pays for importing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from medscale.engine.stages import CaseResult

if TYPE_CHECKING:
    import pandas as pd

FEATURES = "features.parquet"
"""The features table of a run folder: a folder of Parquet parts, a case in exactly one."""
FAILURES = "failures.parquet"
"""The failure table of a run folder: one row per failed case."""

FAILURE_COLUMNS = ("case_id", "stage", "error_type", "message", "traceback_digest")
FAILURE_SCHEMA = pa.schema([(name, pa.string()) for name in (*FAILURE_COLUMNS, "traceback")])


def read_features(run_dir: str | Path) -> pd.DataFrame:
    """The features table of a run, one row per case, sorted by case_id."""
    import pandas as pd

    path = Path(run_dir) / FEATURES
    parts = sorted(path.glob("part-*.parquet")) if path.is_dir() else []
    if not parts:
        return pd.DataFrame(columns=["case_id"])
    table = pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True)
    return table.sort_values("case_id", kind="stable").reset_index(drop=True)


def read_failures(run_dir: str | Path) -> pd.DataFrame:
    """The failures of a run: case_id, stage, error_type, message, traceback_digest."""
    import pandas as pd

    path = Path(run_dir) / FAILURES
    if not path.is_file():
        return pd.DataFrame(columns=list(FAILURE_COLUMNS))
    return pd.read_parquet(path)


def case_dicts(cases: pa.Table, batch_rows: int = 1024) -> Iterator[dict[str, Any]]:
    """The manifest's rows as dicts, made a batch at a time (the table itself stays columnar)."""
    for batch in cases.to_batches(max_chunksize=batch_rows):
        yield from batch.to_pylist()


class ResultWriter:
    """Buffers finished cases and writes them as whole Parquet parts (atomic rename).

    Manifest columns are carried into every row with the manifest's types, so that every part
    has the same schema for them.
    """

    def __init__(self, out_dir: Path, *, manifest_schema: pa.Schema) -> None:
        self.features_dir = out_dir / FEATURES
        self.failures_path = out_dir / FAILURES
        self.features_dir.mkdir(parents=True, exist_ok=True)
        self._manifest_schema = manifest_schema
        self._rows: list[dict[str, Any]] = []
        self._failures = (
            _read_file(self.failures_path).to_pylist() if self.failures_path.is_file() else []
        )
        self._failures_changed = False
        existing = sorted(self.features_dir.glob("part-*.parquet"))
        self._next_part = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=0)
        for stale in self.features_dir.glob(".part-*.tmp"):
            stale.unlink()

    @property
    def pending(self) -> int:
        return len(self._rows)

    @property
    def failed_count(self) -> int:
        return len(self._failures)

    def finished_case_ids(self) -> set[str]:
        ids: set[str] = set()
        for part in self.features_dir.glob("part-*.parquet"):
            ids.update(_read_file(part, columns=["case_id"]).column(0).to_pylist())
        return ids

    def add(self, result: CaseResult) -> None:
        if result.row is not None:
            self._rows.append(result.row)
            # a case that failed before and now succeeded is no longer a failure
            if any(f["case_id"] == result.case_id for f in self._failures):
                self._failures = [f for f in self._failures if f["case_id"] != result.case_id]
                self._failures_changed = True
        elif result.failure is not None:
            self._failures = [f for f in self._failures if f["case_id"] != result.case_id]
            self._failures.append(result.failure)
            self._failures_changed = True

    def flush(self) -> None:
        if self._rows:
            table = pa.Table.from_pylist(self._rows)
            for field in self._manifest_schema:
                if field.name in table.column_names and table.schema.field(field.name) != field:
                    index = table.column_names.index(field.name)
                    table = table.set_column(index, field, table[field.name].cast(field.type))
            final = self.features_dir / f"part-{self._next_part:06d}.parquet"
            temporary = self.features_dir / f".part-{self._next_part:06d}.tmp"
            pq.write_table(table, temporary)
            os.replace(temporary, final)
            self._next_part += 1
            self._rows = []
        if self._failures_changed:
            table = pa.Table.from_pylist(self._failures, schema=FAILURE_SCHEMA)
            temporary = self.failures_path.with_suffix(".tmp")
            pq.write_table(table, temporary)
            os.replace(temporary, self.failures_path)
            self._failures_changed = False


def _read_file(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One Parquet file; unlike ``pq.read_table`` this does not import ``pyarrow.dataset``."""
    return pq.ParquetFile(path).read(columns=columns)
