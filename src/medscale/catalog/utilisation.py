"""Scanner utilisation from a catalog, in DuckDB SQL over the Parquet (no row-by-row Python).

A scanner is one distinct (``station_name``, ``manufacturer``, ``manufacturer_model_name``,
``device_serial_number``). A study's interval is [first, last] acquisition time of its instances
on that scanner; the time of an instance is ``acquisition_datetime`` (AcquisitionDateTime, else
AcquisitionDate + AcquisitionTime, filled by the scanner), else ``acquisition_date`` +
``acquisition_time``. The catalog schema holds no ContentDate/ContentTime, so there is no
further fallback. A scanner's ``busy_minutes`` is the length of the union of its study
intervals, merged with window functions (gaps and islands), so overlapping studies count once.
Studies without any acquisition time count in ``studies`` but not in ``busy_minutes``
(``studies_without_times``).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from medscale.catalog.views import connect
from medscale.errors import InputError

SCANNER_COLUMNS = (
    "station_name",
    "manufacturer",
    "manufacturer_model_name",
    "device_serial_number",
)

_KEYS = ", ".join(SCANNER_COLUMNS)

#: One row per scanner: studies, timed studies, busy minutes (union of study intervals).
SCANNERS_SQL = f"""
WITH timed AS (
    SELECT {_KEYS}, study_instance_uid,
           coalesce(acquisition_datetime, acquisition_date + acquisition_time) AS t
    FROM instances
),
study_spans AS (
    SELECT {_KEYS}, study_instance_uid, min(t) AS s, max(t) AS e
    FROM timed GROUP BY ALL
),
ordered AS (
    SELECT *, max(e) OVER (
        PARTITION BY {_KEYS} ORDER BY s, e
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM study_spans WHERE s IS NOT NULL
),
flagged AS (
    SELECT *, sum(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END) OVER (
        PARTITION BY {_KEYS} ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
    FROM ordered
),
islands AS (
    SELECT {_KEYS}, island, min(s) AS s, max(e) AS e FROM flagged GROUP BY ALL
),
busy AS (
    SELECT {_KEYS}, sum(epoch(e) - epoch(s)) / 60.0 AS busy_minutes,
           count(*) AS busy_periods, min(s) AS first_acquisition, max(e) AS last_acquisition
    FROM islands GROUP BY ALL
),
counts AS (
    SELECT {_KEYS}, count(*) AS studies, count(s) AS studies_timed FROM study_spans GROUP BY ALL
)
SELECT {", ".join(f"c.{name}" for name in SCANNER_COLUMNS)},
       c.studies, c.studies - c.studies_timed AS studies_without_times,
       coalesce(b.busy_minutes, 0.0) AS busy_minutes, coalesce(b.busy_periods, 0) AS busy_periods,
       b.first_acquisition, b.last_acquisition
FROM counts c LEFT JOIN busy b ON {
    " AND ".join(f"c.{name} IS NOT DISTINCT FROM b.{name}" for name in SCANNER_COLUMNS)
}
ORDER BY c.studies DESC, {", ".join(f"c.{name} NULLS LAST" for name in SCANNER_COLUMNS)}
"""

#: Studies per modality (a study with two modalities counts under each).
MODALITY_SQL = """
SELECT modality, count(DISTINCT study_instance_uid) AS studies
FROM instances GROUP BY modality ORDER BY studies DESC, modality NULLS LAST
"""

_TIMES_SQL = """
SELECT count(*) AS n,
       count(coalesce(acquisition_datetime, acquisition_date + acquisition_time)) AS timed
FROM instances
"""


def utilisation(catalog_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Per-scanner studies and busy minutes, and studies per modality.

    Returns
    -------
    dict
        ``scanners``: list of dicts (the :data:`SCANNER_COLUMNS`, ``studies``,
        ``studies_without_times``, ``busy_minutes``, ``busy_periods``, ``first_acquisition``,
        ``last_acquisition`` as ISO strings); ``by_modality``: list of ``{modality, studies}``.

    Raises
    ------
    InputError
        No catalog, or no instance has an acquisition time.
    """
    connection = connect(catalog_path)
    try:
        n_rows, n_timed = connection.sql(_TIMES_SQL).fetchall()[0]
        if n_rows and not n_timed:
            raise InputError(
                f"{catalog_path}: no acquisition times in the catalog ({n_rows} instances, none "
                "with acquisition_datetime or acquisition_date + acquisition_time; "
                "AcquisitionDateTime (0008,002A) and AcquisitionTime (0008,0032) are missing): "
                "scanner busy time cannot be computed"
            )
        scanners = connection.sql(SCANNERS_SQL).to_arrow_table().to_pylist()
        modalities = connection.sql(MODALITY_SQL).to_arrow_table().to_pylist()
    finally:
        connection.close()
    for row in scanners:
        for key in ("first_acquisition", "last_acquisition"):
            if isinstance(row[key], dt.datetime):
                row[key] = row[key].isoformat()
        row["busy_minutes"] = float(row["busy_minutes"])
    return {"scanners": scanners, "by_modality": modalities}
