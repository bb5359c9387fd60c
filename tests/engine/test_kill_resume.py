"""The driver killed with SIGKILL mid-run, then --resume: exactly one row per case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import yaml

from medscale.engine import read_features


def test_sigkill_then_resume_gives_one_row_per_case(tmp_path, cohort_writer):
    manifest = cohort_writer(tmp_path / "cohort", 30)
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        yaml.safe_dump(
            {
                "manifest": str(manifest),
                "out": "run",
                "stages": ["read", "extract"],
                "features": "default",
                "flush_every": 1,
            }
        )
    )
    command = [sys.executable, "-m", "medscale.cli.main", "run", str(run_file), "--workers", "1"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "run" / "features.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 4:
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    done_before = len(read_features(tmp_path / "run"))
    assert 4 <= done_before < 30, "the driver must be killed mid-run"
    resumed = subprocess.run(
        [*command, "--resume", "--json"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    table = read_features(tmp_path / "run")
    assert len(table) == 30 and table["case_id"].is_unique
    assert sorted(table["case_id"]) == [f"case{i:03d}" for i in range(30)]


def test_ctrl_c_stops_cleanly_and_keeps_finished_cases(tmp_path, cohort_writer):
    import json

    manifest = cohort_writer(tmp_path / "cohort", 40)
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        yaml.safe_dump(
            {
                "manifest": str(manifest),
                "out": "run",
                "stages": ["read", "extract"],
                "features": "default",
                "flush_every": 1,
            }
        )
    )
    command = [sys.executable, "-m", "medscale.cli.main", "run", str(run_file), "--workers", "2"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = tmp_path / "run" / "features.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.02)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    kept = read_features(tmp_path / "run")
    assert summary["interrupted"] is True and 3 <= len(kept) < 40
    assert summary["cases_done"] == len(kept) and kept["case_id"].is_unique


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_exit_when_the_driver_is_killed(tmp_path, cohort_writer):
    import pytest

    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        pytest.skip("needs Linux /proc to find the worker processes")
    manifest = cohort_writer(tmp_path / "cohort", 40)
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        yaml.safe_dump(
            {
                "manifest": str(manifest),
                "out": "run",
                "stages": ["read", "extract"],
                "features": "default",
                "flush_every": 1,
            }
        )
    )
    command = [sys.executable, "-m", "medscale.cli.main", "run", str(run_file), "--workers", "2"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "run" / "features.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 2:
        time.sleep(0.02)
    workers = [pid for pid in _children(driver.pid) if _alive(pid)]
    assert workers, "the driver should have worker processes"
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "orphaned workers kept running"
