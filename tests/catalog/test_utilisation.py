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
from medscale.errors import ConfigError, InputError

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


def test_idle_time_and_gaps_within_the_working_day(catalog: Path) -> None:
    found = utilisation(catalog)
    by_station = {row["station_name"]: row for row in found["scanners"]}
    a, b = by_station["A"], by_station["B"]
    # A by start: s1 [0,30], s2 [20,50], s4 [25,28], s3 [60,70]: gaps 0, 0, 10
    assert (a["working_days"], a["n_gaps"]) == (1, 3)
    assert a["idle_minutes"] == pytest.approx(10.0)
    assert a["median_gap_minutes"] == pytest.approx(0.0)
    assert a["max_gap_minutes"] == pytest.approx(10.0)
    # B: [0,10] then [100,100.5]: one gap of 90
    assert b["idle_minutes"] == pytest.approx(90.0) and b["n_gaps"] == 1
    assert b["median_gap_minutes"] == pytest.approx(90.0) == b["max_gap_minutes"]
    days = {row["station_name"]: row for row in found["by_day"]}
    assert days["A"]["day"] == "2024-03-01" and days["A"]["studies"] == 4  # s5 has no time
    assert days["A"]["working_minutes"] == pytest.approx(70.0)
    assert days["A"]["busy_minutes"] == pytest.approx(60.0)  # = the scanner's union
    assert days["B"]["working_minutes"] == pytest.approx(100.5)
    assert days["B"]["busy_minutes"] == pytest.approx(10.5)


def test_studies_per_hour_and_heatmap(catalog: Path) -> None:
    found = utilisation(catalog)
    # starts: A s1 8:00, s2 8:20, s4 (MR) 8:25, s3 9:00; B s6 8:00, s7 9:40; 2024-03-01 a Friday
    assert found["heatmap"] == [
        {"weekday": 5, "hour": 8, "studies": 4},
        {"weekday": 5, "hour": 9, "studies": 2},
    ]
    per_hour = {
        (r["station_name"], r["modality"], r["hour"]): r["studies"] for r in found["by_hour"]
    }
    assert per_hour == {("A", "CT", 8): 2, ("A", "MR", 8): 1, ("A", "CT", 9): 1,
                        ("B", "CT", 8): 1, ("B", "CT", 9): 1}  # fmt: skip
    assert {r["day"] for r in found["by_hour"]} == {"2024-03-01"}


def _at(study: str, when: dt.datetime, station: str, patient: str, modality: str = "CT") -> dict:
    row = _row(study, 0, station, modality)
    row.update(acquisition_datetime=when, patient_id=patient, sop_instance_uid=f"{study}.{when}")
    return row


def test_several_days_and_repeat_examinations(tmp_path: Path) -> None:
    d1, d2 = dt.datetime(2024, 3, 4, 8), dt.datetime(2024, 3, 5, 10)
    m = dt.timedelta(minutes=1)
    rows = [
        # scanner C, day 1: [8:00, 8:30] and [9:00, 9:10] (gap 30); day 2: [10:00, 10:20]
        _at("c1", d1, "C", "X"), _at("c1", d1 + 30 * m, "C", "X"),
        _at("c2", d1 + 60 * m, "C", "Y"), _at("c2", d1 + 70 * m, "C", "Y"),
        _at("c3", d2, "C", "X"), _at("c3", d2 + 20 * m, "C", "X"),
        # X: CT on 4 Mar, 5 Mar (1 day: repeat), 20 Mar (15 days: repeat), 30 Apr (41 days)
        _at("c4", dt.datetime(2024, 3, 20, 9), "D", "X"),
        _at("c5", dt.datetime(2024, 4, 30, 9), "D", "X"),
        # X's MR is another modality: no repeat; Y's MR twice the same day: a repeat
        _at("m1", dt.datetime(2024, 3, 6, 9), "E", "X", "MR"),
        _at("m2", dt.datetime(2024, 3, 7, 9), "E", "Y", "MR"),
        _at("m3", dt.datetime(2024, 3, 7, 11), "E", "Y", "MR"),
        # a segmentation of c1 is no acquisition: no scanner, no study
        {**_at("seg", d1, "C", "X", "SEG"), "station_name": None},
    ]  # fmt: skip
    catalog = _write(tmp_path / "days.parquet", rows)
    found = utilisation(catalog)
    c = next(row for row in found["scanners"] if row["station_name"] == "C")
    assert (c["studies"], c["working_days"], c["n_gaps"]) == (3, 2, 1)
    assert c["idle_minutes"] == pytest.approx(30.0)  # the night is not idle time
    assert c["busy_minutes"] == pytest.approx(60.0)
    assert c["max_gap_minutes"] == pytest.approx(30.0)
    c_days = [r for r in found["by_day"] if r["station_name"] == "C"]
    assert [(r["day"], r["studies"], r["idle_minutes"]) for r in c_days] == [
        ("2024-03-04", 2, 30.0), ("2024-03-05", 1, 0.0)]  # fmt: skip
    assert {row["station_name"] for row in found["scanners"]} == {"C", "D", "E"}
    assert {r["modality"]: r["studies"] for r in found["by_modality"]} == {"CT": 5, "MR": 3}
    repeats = found["repeats"]
    assert repeats["within_days"] == 30 and repeats["n_repeats"] == 3
    by_modality = {r["modality"]: r for r in repeats["by_modality"]}
    assert (by_modality["CT"]["repeats"], by_modality["CT"]["patients"]) == (2, 1)
    assert (by_modality["MR"]["repeats"], by_modality["MR"]["patients"]) == (1, 1)
    assert by_modality["MR"]["median_interval_days"] == pytest.approx(2 / 24)
    assert utilisation(catalog, repeat_days=45)["repeats"]["n_repeats"] == 4
    assert utilisation(catalog, repeat_days=0.5)["repeats"]["n_repeats"] == 1
    with pytest.raises(ConfigError, match="repeat_days"):
        utilisation(catalog, repeat_days=0)


def test_repeats_use_the_study_date_without_acquisition_times(tmp_path: Path) -> None:
    rows = [_at("t1", dt.datetime(2024, 3, 10, 9), "A", "Z"), _row("u1", None, "A")]
    rows[1].update(patient_id="Z", study_date=dt.date(2024, 3, 1))
    found = utilisation(_write(tmp_path / "r.parquet", rows))
    assert found["repeats"]["n_repeats"] == 1
    assert found["repeats"]["by_modality"][0]["median_interval_days"] == pytest.approx(9 + 9 / 24)


def test_cli_text_and_repeat_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        _at("a", dt.datetime(2024, 3, 4, 8), "A", "X"),
        _at("b", dt.datetime(2024, 3, 9, 8), "A", "X"),
    ]
    catalog = _write(tmp_path / "t.parquet", rows)
    args = ["catalog", "utilisation", "--catalog", str(catalog)]
    assert main([*args, "--repeat-days", "3", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out)["repeats"]["n_repeats"] == 0
    assert main(args) in (0, None)
    out = capsys.readouterr().out
    assert "studies per weekday and hour" in out and "Mon" in out and "Sat" in out
    assert "within 30 days): 1" in out
    assert main([*args, "--repeat-days", "0"]) == 2


def test_date_range_and_scanner_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from medscale.catalog.utilisation import parse_date_range

    d1, d2 = dt.datetime(2024, 3, 4, 8), dt.datetime(2024, 3, 5, 10)
    m = dt.timedelta(minutes=1)
    rows = [
        _at("c1", d1, "C", "X"), _at("c1", d1 + 30 * m, "C", "X"),
        _at("c2", d2, "C", "Y"), _at("c2", d2 + 20 * m, "C", "Y"),
        _at("d1", d2, "D", "Z"), _at("d1", d2 + 5 * m, "D", "Z"),
    ]  # fmt: skip
    catalog = _write(tmp_path / "range.parquet", rows)
    day2 = parse_date_range("20240305")
    found = utilisation(catalog, study_dates=day2)
    assert {(r["station_name"], r["studies"], r["busy_minutes"]) for r in found["scanners"]} == {
        ("C", 1, 20.0), ("D", 1, 5.0)}  # fmt: skip
    only_c = utilisation(catalog, station="C", study_dates=parse_date_range("-20240304"))
    assert [(r["station_name"], r["busy_minutes"]) for r in only_c["scanners"]] == [("C", 30.0)]
    assert (
        utilisation(catalog, study_dates=parse_date_range("20240304-"))["scanners"][0]["studies"]
        == 2
    )
    # a scanner with no studies in the range: one line saying what the catalog holds
    with pytest.raises(
        InputError,
        match=r"scanner 'D' has no studies from 2024-03-04 to "
        r"2024-03-04 \(its acquisitions run from 2024-03-05 to 2024-03-05\)",
    ):
        utilisation(catalog, station="D", study_dates=parse_date_range("20240304"))
    with pytest.raises(
        InputError, match=r"no scanner with station name 'Q' \(the catalog has: C, D\)"
    ):
        utilisation(catalog, station="Q")
    for bad in ("2024", "20240305-20240304", "-", "20241301"):
        with pytest.raises(ConfigError, match="study date"):
            parse_date_range(bad)
    args = [
        "catalog",
        "utilisation",
        "--catalog",
        str(catalog),
        "--study-date",
        "20240101-20240102",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the catalog has no studies from 2024-01-01 to 2024-01-02" in err[0]
    assert main([*args[:4], "--study-date", "March"]) == 2
