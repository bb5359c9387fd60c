"""SQL over a catalog: DuckDB views ``instances``, ``series``, ``studies`` and ``errors``.

The views read the Parquet files in place (nothing is loaded first), so a query over a catalog
of millions of instances touches only the columns and row groups it needs.

``series`` (one row per SeriesInstanceUID) and ``studies`` (one row per StudyInstanceUID) are
defined by :data:`SERIES_SQL` and :data:`STUDIES_SQL`. In both, ``n_files`` counts files and
``n_instances`` distinct SOPInstanceUIDs (they differ when the archive holds duplicates);
``first_acquisition``/``last_acquisition`` are the min/max of ``acquisition_datetime``; the
device is ``manufacturer`` + ``manufacturer_model_name``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from medscale.catalog.scanner import errors_path_for
from medscale.catalog.schema import ERROR_SCHEMA
from medscale.errors import InputError

if TYPE_CHECKING:
    import duckdb

logger = logging.getLogger(__name__)

Output = Literal["pandas", "arrow"]

SERIES_SQL = """
SELECT
    series_instance_uid,
    min(study_instance_uid) AS study_instance_uid,
    min(patient_id) AS patient_id,
    min(modality) AS modality,
    min(manufacturer) AS manufacturer,
    min(manufacturer_model_name) AS manufacturer_model_name,
    min(station_name) AS station_name,
    min(device_serial_number) AS device_serial_number,
    min(institution_name) AS institution_name,
    min(series_number) AS series_number,
    min(series_description) AS series_description,
    min(body_part_examined) AS body_part_examined,
    min(series_date) AS series_date,
    min(series_time) AS series_time,
    count(*) AS n_files,
    count(DISTINCT sop_instance_uid) AS n_instances,
    sum(coalesce(number_of_frames, 1))::BIGINT AS n_frames,
    sum(size_bytes)::BIGINT AS size_bytes,
    min(acquisition_datetime) AS first_acquisition,
    max(acquisition_datetime) AS last_acquisition,
    min(rows) AS rows,
    min(columns) AS columns,
    min(pixel_spacing_row_mm) AS pixel_spacing_row_mm,
    min(pixel_spacing_column_mm) AS pixel_spacing_column_mm,
    min(slice_thickness_mm) AS slice_thickness_mm,
    min(transfer_syntax_uid) AS transfer_syntax_uid
FROM instances
GROUP BY series_instance_uid
"""

STUDIES_SQL = """
SELECT
    study_instance_uid,
    min(patient_id) AS patient_id,
    min(study_date) AS study_date,
    min(study_time) AS study_time,
    min(study_description) AS study_description,
    min(institution_name) AS institution_name,
    string_agg(DISTINCT modality, '/' ORDER BY modality) AS modalities,
    string_agg(DISTINCT concat_ws(' ', manufacturer, manufacturer_model_name), '; '
               ORDER BY concat_ws(' ', manufacturer, manufacturer_model_name)) AS devices,
    count(DISTINCT series_instance_uid) AS n_series,
    count(*) AS n_files,
    count(DISTINCT sop_instance_uid) AS n_instances,
    sum(size_bytes)::BIGINT AS size_bytes,
    min(acquisition_datetime) AS first_acquisition,
    max(acquisition_datetime) AS last_acquisition
FROM instances
GROUP BY study_instance_uid
"""


def connect(catalog_path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the four catalog views defined.

    Raises
    ------
    InputError
        No catalog at ``catalog_path``.
    """
    import duckdb

    catalog = Path(catalog_path)
    if not catalog.is_file():
        raise InputError(
            f"no catalog at {str(catalog)!r}: create it with "
            f"`medscale scan DIR --catalog {catalog}`"
        )
    connection = duckdb.connect(":memory:")
    errors_file = errors_path_for(catalog)
    try:
        connection.execute(
            f"CREATE VIEW instances AS SELECT * FROM read_parquet({_quote(catalog)})"
        )
        if errors_file.is_file():
            connection.execute(
                f"CREATE VIEW errors AS SELECT * FROM read_parquet({_quote(errors_file)})"
            )
    except duckdb.Error as err:
        connection.close()
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{catalog}: not a readable Parquet catalog ({detail})") from err
    if not errors_file.is_file():
        logger.debug("no errors table at %s: the errors view is empty", errors_file)
        connection.register("errors_empty", ERROR_SCHEMA.empty_table())
        connection.execute("CREATE VIEW errors AS SELECT * FROM errors_empty")
    connection.execute(f"CREATE VIEW series AS {SERIES_SQL}")
    connection.execute(f"CREATE VIEW studies AS {STUDIES_SQL}")
    return connection


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def query(catalog_path: str | os.PathLike[str], sql: str, *, output: Output = "pandas") -> Any:
    """Run DuckDB SQL over a catalog's ``instances``, ``series``, ``studies`` and ``errors``.

    Parameters
    ----------
    catalog_path : path
        The catalog written by :func:`~medscale.catalog.scan`.
    sql : str
        One SQL statement, e.g. ``"SELECT modality, count(*) FROM instances GROUP BY 1"``.
    output : {"pandas", "arrow"}
        Return a pandas DataFrame or a pyarrow Table.

    Raises
    ------
    InputError
        No catalog, or the SQL is invalid (DuckDB's message is kept).

    Examples
    --------
    >>> query("archive.parquet", "SELECT count(*) AS n FROM series")  # doctest: +SKIP
    """
    if output not in ("pandas", "arrow"):
        raise InputError(f"query output must be 'pandas' or 'arrow', got {output!r}")
    connection = connect(catalog_path)
    try:
        return _run(connection, sql, output, catalog_path)
    finally:
        connection.close()


def _run(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    output: Output,
    catalog_path: str | os.PathLike[str],
) -> Any:
    import duckdb

    try:
        relation = connection.sql(sql)
        if relation is None:
            raise InputError(f"the SQL returns no table: {sql!r}")
        return relation.df() if output == "pandas" else relation.to_arrow_table()
    except duckdb.Error as err:
        message = " ".join(str(err).split())
        raise InputError(f"query on {catalog_path} failed: {message}") from err


def series_view(catalog_path: str | os.PathLike[str], *, output: Output = "pandas") -> Any:
    """One row per series (:data:`SERIES_SQL`), ordered by study then series number."""
    return query(
        catalog_path,
        "SELECT * FROM series ORDER BY study_instance_uid, series_number, series_instance_uid",
        output=output,
    )


def study_view(catalog_path: str | os.PathLike[str], *, output: Output = "pandas") -> Any:
    """One row per study (:data:`STUDIES_SQL`), ordered by patient then study date."""
    return query(
        catalog_path,
        "SELECT * FROM studies ORDER BY patient_id, study_date, study_instance_uid",
        output=output,
    )


def summary(catalog_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts of a catalog: totals, and per modality, per device and per study.

    Returns
    -------
    dict
        ``totals`` (dict: files, instances, series, studies, patients, errors, size_bytes)
        and DataFrames ``by_modality``, ``by_device``, ``by_study`` (largest first) and
        ``by_error_type``.
    """
    totals_sql = """
        SELECT (SELECT count(*) FROM instances) AS files,
               (SELECT count(DISTINCT sop_instance_uid) FROM instances) AS instances,
               (SELECT count(DISTINCT series_instance_uid) FROM instances) AS series,
               (SELECT count(DISTINCT study_instance_uid) FROM instances) AS studies,
               (SELECT count(DISTINCT patient_id) FROM instances) AS patients,
               (SELECT count(*) FROM errors) AS errors,
               (SELECT coalesce(sum(size_bytes), 0) FROM instances) AS size_bytes
    """
    tables = {
        "by_modality": """
            SELECT modality, count(DISTINCT study_instance_uid) AS studies,
                   count(DISTINCT series_instance_uid) AS series, count(*) AS files
            FROM instances GROUP BY modality ORDER BY files DESC, modality""",
        "by_device": """
            SELECT manufacturer, manufacturer_model_name, station_name,
                   count(DISTINCT study_instance_uid) AS studies, count(*) AS files
            FROM instances GROUP BY ALL ORDER BY files DESC, 1, 2, 3""",
        "by_study": """
            SELECT study_instance_uid, patient_id, study_date, modalities, n_series, n_files
            FROM studies ORDER BY n_files DESC, study_instance_uid""",
        "by_error_type": """
            SELECT error_type, count(*) AS files FROM errors GROUP BY 1 ORDER BY 2 DESC, 1""",
    }
    connection = connect(catalog_path)
    try:
        totals = _run(connection, totals_sql, "pandas", catalog_path).iloc[0]
        found: dict[str, Any] = {"totals": {name: int(value) for name, value in totals.items()}}
        for name, sql in tables.items():
            found[name] = _run(connection, sql, "pandas", catalog_path)
    finally:
        connection.close()
    return found
