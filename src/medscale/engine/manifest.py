"""The manifest: one row per case (``case_id``, ``image``, ``mask``, optional other columns).

Read with pyarrow (no pandas on the batch driver's start-up path); every column other than the
paths is carried through to the outputs with its type.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from medscale.errors import InputError

PATH_COLUMNS = ("image", "mask")


def read_manifest(
    path: str | Path, *, required: tuple[str, ...] = ("case_id", "image")
) -> pa.Table:
    """Read and check a manifest (CSV or Parquet); relative paths become absolute.

    Paths in the ``image`` and ``mask`` columns are taken relative to the manifest's folder.
    ``case_id`` (and ``patient_id`` when present) are read as strings; every other column keeps
    the type inferred from the whole file. ``.to_pandas()`` gives a DataFrame.

    Raises
    ------
    InputError
        The file is unreadable, a required column is missing, or case ids repeat.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found")
    try:
        table = _read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: cannot read the manifest ({err})") from err
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path}: not a UTF-8 CSV or a Parquet manifest (undecodable byte at {err.start})"
        ) from err
    missing = [column for column in required if column not in table.column_names]
    if missing:
        raise InputError(
            f"{path}: the manifest lacks the column(s) {missing}; "
            f"it has {table.column_names} (required: {list(required)})"
        )
    if table.schema.field("case_id").type != pa.string():  # a cast imports pyarrow.compute
        table = _set_column(table, "case_id", table["case_id"].cast(pa.string()))
    case_ids = table["case_id"].to_pylist()
    if None in case_ids or "" in case_ids:
        raise InputError(f"{path}: every row needs a case_id (row {_first_empty(case_ids) + 2})")
    seen: set[str] = set()
    repeated: set[str] = set()
    for case in case_ids:
        (repeated if case in seen else seen).add(case)
    duplicated = sorted(repeated)
    if duplicated:
        raise InputError(
            f"{path}: case ids must be unique; repeated: {duplicated[:10]}"
            f"{' ...' if len(duplicated) > 10 else ''}"
        )
    base = path.resolve().parent
    for column in PATH_COLUMNS:
        if column in table.column_names:
            resolved = [
                None if value in (None, "") else str(_resolve(base, str(value)))
                for value in table[column].to_pylist()
            ]
            table = _set_column(table, column, pa.array(resolved, pa.string()))
    return table


def _read_table(path: Path) -> pa.Table:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pcsv

    header = path.open(encoding="utf-8").readline().strip().split(",")
    as_text = {name: pa.string() for name in ("case_id", "patient_id", *PATH_COLUMNS)}
    options = pcsv.ConvertOptions(
        column_types={name: kind for name, kind in as_text.items() if name in header},
        strings_can_be_null=True,
    )
    return pcsv.read_csv(path, convert_options=options)


def _set_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def _first_empty(values: list[object]) -> int:
    return next(i for i, value in enumerate(values) if value in (None, ""))


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate
