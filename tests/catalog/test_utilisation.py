"""Scanner utilisation: busy minutes as the union of study intervals, CLI --json, missing times."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medscale.catalog import INSTANCE_SCHEMA
from medscale.catalog.utilisation import utilisation
from medscale.cli.main import main
from medscale.errors import InputError

DAY = dt.datetime(2024, 3, 1, 8, 0)


def _row(study: str, minute: float | None, station: str, modality: str = "CT") -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(INSTANCE_SCHEMA.names)
    row.update(
        path=f"/a/{study}/{minute}.dcm",
        size_bytes=10,
        mtime_ns=0,
        sop_instance_uid=f"{study}.{minute}",
        study_instance_uid=study,
        series_instance_uid=f"{study}.1",
        patient_id="P" + study,
        modality=modality,
        manufacturer="ACME",
        manufacturer_model_name="Scan 1",
        station_name=station,
        device_serial_number="SN-" + station,
    )
    if minute is not None:
        row["acquisition_datetime"] = DAY + dt.timedelta(minutes=minute)
    return row


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=INSTANCE_SCHEMA), path)
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    rows = [
        # scanner A: [0,30] U [20,50] U [60,70] = 60 minutes; [25,28] lies inside; 1 untimed study
        _row("s1", 0, "A"), _row("s1", 15, "A"), _row("s1", 30, "A"),
        _row("s2", 20, "A"), _row("s2", 50, "A"),
        _row("s3", 60, "A"), _row("s3", 70, "A"),
        _row("s4", 25, "A", "MR"), _row("s4", 28, "A", "MR"),
        _row("s5", None, "A"),
        # scanner B: [0,10] and [100,100.5] are disjoint: 10.5 minutes
        _row("s6", 0, "B"), _row("s6", 10, "B"),
        _row("s7", 100, "B"), _row("s7", 100.5, "B"),
    ]  # fmt: skip
    return _write(tmp_path / "cat.parquet", rows)


def test_busy_minutes_are_the_union_of_study_intervals(catalog: Path) -> None:
    found = utilisation(catalog)
    by_station = {row["station_name"]: row for row in found["scanners"]}
    a, b = by_station["A"], by_station["B"]
    assert (a["studies"], a["studies_without_times"], a["busy_periods"]) == (5, 1, 2)
    assert a["busy_minutes"] == pytest.approx(60.0)
    assert (b["studies"], b["busy_periods"]) == (2, 2)
    assert b["busy_minutes"] == pytest.approx(10.5)
    assert a["manufacturer"] == "ACME" and a["device_serial_number"] == "SN-A"
    assert a["first_acquisition"] == "2024-03-01T08:00:00"
    assert a["last_acquisition"] == "2024-03-01T09:10:00"
    assert {row["modality"]: row["studies"] for row in found["by_modality"]} == {"CT": 6, "MR": 1}


def test_date_plus_time_fallback(tmp_path: Path) -> None:
    rows = [_row("s1", None, "A"), _row("s1", None, "A")]
    rows[0].update(acquisition_date=dt.date(2024, 3, 1), acquisition_time=dt.time(8, 0))
    rows[1].update(acquisition_date=dt.date(2024, 3, 1), acquisition_time=dt.time(8, 45))
    found = utilisation(_write(tmp_path / "c.parquet", rows))
    assert found["scanners"][0]["busy_minutes"] == pytest.approx(45.0)


def test_cli_json_round_trip(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["catalog", "utilisation", "--catalog", str(catalog), "--json"])
    assert code in (0, None)
    payload = json.loads(capsys.readouterr().out)
    assert payload == json.loads(json.dumps(utilisation(catalog)))
    assert sorted(row["busy_minutes"] for row in payload["scanners"]) == [10.5, 60.0]
    assert all("studies" in row for row in payload["scanners"])


def test_missing_times_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = _write(tmp_path / "notimes.parquet", [_row("s1", None, "A")])
    with pytest.raises(InputError, match="no acquisition times"):
        utilisation(catalog)
    code = main(["catalog", "utilisation", "--catalog", str(catalog), "--json"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no acquisition times" in err and "Traceback" not in err
