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

Derived objects (:data:`DERIVED_MODALITIES`: RTSTRUCT, SEG, SR, ...) are no acquisitions and
are left out. The instance rows are read once, into a temporary table of study spans (one row
per scanner, modality and study); every figure below is SQL over that table:

- **working day**: a scanner's day (the date of a study's start) runs from its first study's
  start to its last study's end; ``idle_minutes`` is the time in it not covered by a study.
- **gap**: for each study after the first of its scanner's day, its start minus the latest end
  of the earlier studies that day, 0 when they overlap. The gaps of a day sum to its idle time;
  ``median_gap_minutes`` / ``max_gap_minutes`` summarise them per scanner.
- **heatmap**: studies per ISO weekday (1 = Monday) and hour of their start; ``by_hour`` the
  same per scanner, modality, date and hour.
- **repeats**: a study of a patient and modality that starts within ``repeat_days`` days after
  the previous study of the same patient and modality (its start: acquisition time, else
  StudyDate + StudyTime).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from medscale.catalog.views import connect
from medscale.errors import ConfigError, InputError

SCANNER_COLUMNS = (
    "station_name",
    "manufacturer",
    "manufacturer_model_name",
    "device_serial_number",
)

#: Modalities of derived objects, not acquisitions (segmentations, structure sets, reports,
#: presentation states, ...): left out of every figure, so that their creator is no scanner.
DERIVED_MODALITIES = ("RTSTRUCT", "RTPLAN", "RTDOSE", "RTRECORD", "SEG", "SR", "PR", "KO", "REG")

#: Default window (days) of `utilisation`'s repeat examinations.
REPEAT_DAYS = 30

_KEYS = ", ".join(SCANNER_COLUMNS)
_ACQUISITIONS = (
    "(SELECT * FROM instances WHERE modality IS NULL OR modality NOT IN ("
    + ", ".join(f"'{name}'" for name in DERIVED_MODALITIES)
    + "))"
)
_SAME_SCANNER = " AND ".join(f"c.{name} IS NOT DISTINCT FROM b.{name}" for name in SCANNER_COLUMNS)

#: One row per scanner, modality and study: its span (s, e) and its start for repeats.
SPANS_SQL = f"""
CREATE TEMP TABLE spans AS
SELECT {_KEYS}, modality, study_instance_uid, any_value(patient_id) AS patient_id,
       min(t) AS s, max(t) AS e,
       min(coalesce(t, study_date + coalesce(study_time, TIME '00:00:00'))) AS started
FROM (
    SELECT {_KEYS}, modality, study_instance_uid, patient_id, study_date, study_time,
           coalesce(acquisition_datetime, acquisition_date + acquisition_time) AS t
    FROM {_ACQUISITIONS}
)
GROUP BY ALL
"""

_STUDY_SPANS = f"""
study_spans AS (
    SELECT {_KEYS}, study_instance_uid, min(s) AS s, max(e) AS e FROM spans GROUP BY ALL
)"""

#: Timed study spans with their day and the latest end of the scanner's earlier studies that day.
_DAILY = f"""
daily AS (
    SELECT *, CAST(s AS DATE) AS day, max(e) OVER (
        PARTITION BY {_KEYS}, CAST(s AS DATE) ORDER BY s, e
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM study_spans WHERE s IS NOT NULL
)"""

#: One row per scanner: studies, timed studies, busy minutes (union of study intervals).
SCANNERS_SQL = f"""
WITH {_STUDY_SPANS},
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
),
{_DAILY},
gapped AS (
    SELECT *, CASE WHEN prev_end IS NOT NULL
                   THEN greatest(epoch(s) - epoch(prev_end), 0) / 60.0 END AS gap
    FROM daily
),
gaps AS (
    SELECT {_KEYS}, count(DISTINCT day) AS working_days, sum(gap) AS idle_minutes,
           median(gap) AS median_gap_minutes, max(gap) AS max_gap_minutes, count(gap) AS n_gaps
    FROM gapped GROUP BY ALL
)
SELECT {", ".join(f"c.{name}" for name in SCANNER_COLUMNS)},
       c.studies, c.studies - c.studies_timed AS studies_without_times,
       coalesce(b.busy_minutes, 0.0) AS busy_minutes, coalesce(b.busy_periods, 0) AS busy_periods,
       b.first_acquisition, b.last_acquisition,
       coalesce(g.working_days, 0) AS working_days,
       coalesce(g.idle_minutes, 0.0) AS idle_minutes,
       g.median_gap_minutes, g.max_gap_minutes, coalesce(g.n_gaps, 0) AS n_gaps
FROM counts c
LEFT JOIN busy b ON {_SAME_SCANNER}
LEFT JOIN gaps g ON {_SAME_SCANNER.replace("b.", "g.")}
ORDER BY c.studies DESC, {", ".join(f"c.{name} NULLS LAST" for name in SCANNER_COLUMNS)}
"""

#: Per scanner and working day: studies, span of the day, busy and idle minutes.
DAYS_SQL = f"""
WITH {_STUDY_SPANS},
{_DAILY},
days AS (
    SELECT {_KEYS}, day, count(*) AS studies, min(s) AS day_start, max(e) AS day_end,
           (epoch(max(e)) - epoch(min(s))) / 60.0 AS working_minutes,
           coalesce(sum(CASE WHEN prev_end IS NOT NULL
                             THEN greatest(epoch(s) - epoch(prev_end), 0) END), 0) / 60.0
               AS idle_minutes
    FROM daily GROUP BY ALL
)
SELECT *, working_minutes - idle_minutes AS busy_minutes FROM days
ORDER BY {", ".join(f"{name} NULLS LAST" for name in SCANNER_COLUMNS)}, day
"""

#: Studies per modality (a study with two modalities counts under each).
MODALITY_SQL = """
SELECT modality, count(DISTINCT study_instance_uid) AS studies
FROM spans GROUP BY modality ORDER BY studies DESC, modality NULLS LAST
"""

#: Studies per scanner, modality, date and hour of their start (timed studies).
BY_HOUR_SQL = f"""
SELECT {_KEYS}, modality, CAST(s AS DATE) AS day, hour(s) AS hour, count(*) AS studies
FROM spans WHERE s IS NOT NULL GROUP BY ALL
ORDER BY {", ".join(f"{name} NULLS LAST" for name in SCANNER_COLUMNS)}, modality NULLS LAST,
         day, hour
"""

#: The weekday x hour heatmap: distinct studies by the weekday and hour of their start.
HEATMAP_SQL = """
WITH starts AS (SELECT study_instance_uid, min(s) AS s FROM spans GROUP BY ALL)
SELECT isodow(s) AS weekday, hour(s) AS hour, count(*) AS studies
FROM starts WHERE s IS NOT NULL GROUP BY ALL ORDER BY weekday, hour
"""

#: Repeat examinations: per modality, studies within $days days of the patient's previous one.
REPEATS_SQL = """
WITH per_study AS (
    SELECT patient_id, modality, study_instance_uid, min(started) AS started
    FROM spans WHERE patient_id IS NOT NULL AND started IS NOT NULL GROUP BY ALL
),
ordered AS (
    SELECT *, lag(started) OVER (
        PARTITION BY patient_id, modality ORDER BY started, study_instance_uid) AS previous
    FROM per_study
),
repeats AS (
    SELECT * FROM ordered
    WHERE previous IS NOT NULL AND epoch(started) - epoch(previous) <= $days * 86400.0
)
SELECT modality, count(*) AS repeats, count(DISTINCT patient_id) AS patients,
       median(epoch(started) - epoch(previous)) / 86400.0 AS median_interval_days
FROM repeats GROUP BY modality ORDER BY repeats DESC, modality NULLS LAST
"""

_TIMES_SQL = f"""
SELECT count(*) AS n,
       count(coalesce(acquisition_datetime, acquisition_date + acquisition_time)) AS timed
FROM {_ACQUISITIONS}
"""


def parse_date_range(text: str) -> tuple[dt.date | None, dt.date | None]:
    """``YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``, ``YYYYMMDD-`` or ``-YYYYMMDD`` (DICOM range syntax).

    Examples
    --------
    >>> parse_date_range("20240101-20240131")
    (datetime.date(2024, 1, 1), datetime.date(2024, 1, 31))
    >>> parse_date_range("20240105")
    (datetime.date(2024, 1, 5), datetime.date(2024, 1, 5))
    """
    first, dash, last = text.strip().partition("-")

    def day(part: str) -> dt.date | None:
        if not part:
            return None
        try:
            return dt.datetime.strptime(part, "%Y%m%d").date()
        except ValueError:
            raise ConfigError(
                f"study date {text!r}: expected YYYYMMDD or YYYYMMDD-YYYYMMDD (either end open)"
            ) from None

    start, end = day(first), day(last) if dash else day(first)
    if (start is None and end is None) or (start and end and start > end):
        raise ConfigError(f"study date {text!r}: not a range of days (start after end or empty)")
    return start, end


def utilisation(
    catalog_path: str | os.PathLike[str],
    *,
    repeat_days: float = REPEAT_DAYS,
    study_dates: tuple[dt.date | None, dt.date | None] | None = None,
    station: str | None = None,
) -> dict[str, Any]:
    """Per-scanner studies, busy and idle minutes and gaps; per-hour counts; repeat exams.

    Parameters
    ----------
    catalog_path : path
        A catalog written by `medscale.catalog.scan`.
    repeat_days : float
        Window of a repeat examination (days, > 0).
    study_dates : (date or None, date or None), optional
        Only studies that start on these days (inclusive; None: open end).
    station : str, optional
        Only the scanner(s) of this ``station_name``.

    Returns
    -------
    dict
        ``scanners``: list of dicts (the :data:`SCANNER_COLUMNS`, ``studies``,
        ``studies_without_times``, ``busy_minutes``, ``busy_periods``, ``first_acquisition``,
        ``last_acquisition`` as ISO strings, ``working_days``, ``idle_minutes``,
        ``median_gap_minutes``, ``max_gap_minutes``, ``n_gaps``); ``by_modality``: list of
        ``{modality, studies}``; ``by_day``: per scanner and day ``{..., day, studies,
        day_start, day_end, working_minutes, idle_minutes, busy_minutes}``; ``by_hour``: per
        scanner, modality, day and hour ``{..., studies}``; ``heatmap``: ``{weekday, hour,
        studies}``; ``repeats``: ``{within_days, n_repeats, by_modality: [{modality, repeats,
        patients, median_interval_days}]}``.

    Raises
    ------
    InputError
        No catalog, no instance has an acquisition time, or no study is left after the
        `study_dates` / `station` filters (the message says what the catalog does hold).
    ConfigError
        `repeat_days` not positive.
    """
    if not repeat_days > 0:
        raise ConfigError(f"repeat_days must be positive, got {repeat_days}")
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
        connection.execute(SPANS_SQL)
        if study_dates is not None or station is not None:
            _keep_only(connection, catalog_path, study_dates, station)

        def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
            result = connection.execute(sql, params or None)
            names = [column[0] for column in result.description]
            return [_plain(dict(zip(names, row, strict=True))) for row in result.fetchall()]

        scanners = rows(SCANNERS_SQL)
        found: dict[str, Any] = {
            "scanners": scanners,
            "by_modality": rows(MODALITY_SQL),
            "by_day": rows(DAYS_SQL),
            "by_hour": rows(BY_HOUR_SQL),
            "heatmap": rows(HEATMAP_SQL),
        }
        repeats = rows(REPEATS_SQL, days=float(repeat_days))
    finally:
        connection.close()
    for row in scanners:
        row["busy_minutes"] = float(row["busy_minutes"])
        row["idle_minutes"] = float(row["idle_minutes"])
    found["repeats"] = {
        "within_days": repeat_days,
        "n_repeats": sum(row["repeats"] for row in repeats),
        "by_modality": repeats,
    }
    return found


def _keep_only(
    connection: Any,
    catalog_path: str | os.PathLike[str],
    study_dates: tuple[dt.date | None, dt.date | None] | None,
    station: str | None,
) -> None:
    """Drop the spans outside the date range / other scanners; refuse when none is left."""
    start, end = study_dates or (None, None)
    if station is not None:
        held = connection.execute(
            "SELECT count(*), min(CAST(started AS DATE)), max(CAST(started AS DATE)) "
            "FROM spans WHERE station_name = $station",
            {"station": station},
        ).fetchall()[0]
        if not held[0]:
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT DISTINCT station_name FROM spans WHERE station_name IS NOT NULL "
                    "ORDER BY 1"
                ).fetchall()
            ]
            raise InputError(
                f"{catalog_path}: no scanner with station name {station!r} "
                f"(the catalog has: {', '.join(names) or 'none named'})"
            )
        connection.execute(
            "DELETE FROM spans WHERE station_name IS DISTINCT FROM $station", {"station": station}
        )
    connection.execute(
        "DELETE FROM spans WHERE started IS NULL "
        "OR ($start IS NOT NULL AND CAST(started AS DATE) < $start) "
        "OR ($end IS NOT NULL AND CAST(started AS DATE) > $end)",
        {"start": start, "end": end},
    )
    (left,) = connection.execute("SELECT count(*) FROM spans").fetchall()[0]
    if not left:
        span = f"{start or 'the first day'} to {end or 'the last day'}"
        who = f"scanner {station!r} has" if station else "the catalog has"
        extent = connection.execute(
            f"SELECT min(CAST(coalesce(acquisition_datetime, acquisition_date + acquisition_time) "
            f"AS DATE)), max(CAST(coalesce(acquisition_datetime, acquisition_date + "
            f"acquisition_time) AS DATE)) FROM {_ACQUISITIONS}"
            + (" WHERE station_name = $station" if station else ""),
            {"station": station} if station else None,
        ).fetchall()[0]
        raise InputError(
            f"{catalog_path}: {who} no studies from {span} "
            f"(its acquisitions run from {extent[0]} to {extent[1]})"
        )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO strings (JSON-ready)."""
    return {
        key: value.isoformat() if isinstance(value, dt.date | dt.time) else value
        for key, value in row.items()
    }
