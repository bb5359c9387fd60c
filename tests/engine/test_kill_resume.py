"""The driver killed with SIGKILL mid-run, then --resume: exactly one row per case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from medscale.engine import read_features


def run_command(tmp_path: Path, cohort_writer, n_cases: int, workers: int) -> list[str]:
    """`medscale run` on a fresh cohort of `n_cases`, flushing every case, into tmp_path/run."""
    manifest = cohort_writer(tmp_path / "cohort", n_cases)
    run_file = tmp_path / "run.yaml"
    document = {
        "manifest": str(manifest),
        "out": "run",
        "stages": ["read", "extract"],
        "config": "default",
        "flush_every": 1,
    }
    run_file.write_text(yaml.safe_dump(document))
    return [
        sys.executable,
        "-m",
        "medscale.cli.main",
        "run",
        str(run_file),
        "--workers",
        str(workers),
    ]


def wait_for_parts(tmp_path: Path, count: int, timeout_s: float = 120) -> None:
    """Wait until the run in tmp_path/run has written `count` result parts."""
    parts = tmp_path / "run" / "features.parquet"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < count:
        time.sleep(0.02)


def test_sigkill_then_resume_gives_one_row_per_case(tmp_path, cohort_writer):
    command = run_command(tmp_path, cohort_writer, 30, workers=1)
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_parts(tmp_path, 4)
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

    command = run_command(tmp_path, cohort_writer, 40, workers=2)
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_parts(tmp_path, 3)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    kept = read_features(tmp_path / "run")
    assert summary["interrupted"] is True and 3 <= len(kept) < 40
    assert summary["cases_done"] == len(kept) and kept["case_id"].is_unique


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_exit_when_the_driver_is_killed(tmp_path, cohort_writer):
    import pytest

    if not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"):
        pytest.skip("needs Linux /proc to find the worker processes")
    command = run_command(tmp_path, cohort_writer, 40, workers=2)
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_parts(tmp_path, 2)
    workers = [pid for pid in _children(driver.pid) if _alive(pid)]
    assert workers, "the driver should have worker processes"
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "orphaned workers kept running"
