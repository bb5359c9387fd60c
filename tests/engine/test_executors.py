"""The same run on every executor gives the same table, bit for bit; Dask survives a dead worker.

The Dask tests start a real scheduler and two real worker processes on 127.0.0.1 and tear them
down afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from medscale.engine import RunSpec, read_failures, read_features, run
from medscale.engine.stages import StageSettings

pytest.importorskip("distributed", reason="the Dask executor needs the dask extra")

EXTRACT = StageSettings(stages=("read", "extract"), features="default")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_workers(address: str, count: int, timeout_s: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=timeout_s)


@pytest.fixture
def dask_cluster():
    """A scheduler and two single-threaded worker processes; yields (address, worker procs)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            ":0",
            "--no-show",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--dashboard-address",
                ":0",
                "--no-nanny",
                "--memory-limit",
                "2GiB",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        _wait_for_workers(address, 2)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _table(run_dir) -> pd.DataFrame:
    return read_features(run_dir).drop(columns=["image", "mask"])


def test_local_and_dask_give_identical_tables(tmp_path, dask_cluster, cohort_writer):
    address, _ = dask_cluster
    manifest = cohort_writer(tmp_path / "cohort", 8)
    in_process = run(RunSpec(str(manifest), str(tmp_path / "a"), EXTRACT, in_process=True))
    local = run(RunSpec(str(manifest), str(tmp_path / "b"), EXTRACT, workers=2))
    dask = run(RunSpec(str(manifest), str(tmp_path / "c"), EXTRACT, scheduler=address))
    assert in_process.cases_done == local.cases_done == dask.cases_done == 8
    assert dask.executor == "dask" and dask.workers == 2
    reference = _table(tmp_path / "a")
    assert reference.shape[1] > 50  # a real feature table, not a handful of columns
    pd.testing.assert_frame_equal(_table(tmp_path / "b"), reference, check_exact=True)
    pd.testing.assert_frame_equal(_table(tmp_path / "c"), reference, check_exact=True)


def test_dask_run_completes_when_a_worker_is_killed(tmp_path, dask_cluster, cohort_writer):
    address, workers = dask_cluster
    manifest = cohort_writer(tmp_path / "cohort", 24)
    results: dict[str, object] = {}

    def go() -> None:
        results["summary"] = run(
            RunSpec(str(manifest), str(tmp_path / "run"), EXTRACT, scheduler=address, flush_every=1)
        )

    thread = threading.Thread(target=go)
    thread.start()
    parts = tmp_path / "run" / "features.parquet"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    workers[0].send_signal(signal.SIGKILL)  # mid-run: some cases done, others in flight
    thread.join(timeout=300)
    assert not thread.is_alive()
    summary = results["summary"]
    assert summary.cases_done == 24 and summary.cases_failed == 0
    table = read_features(tmp_path / "run")
    assert table["case_id"].is_unique and len(table) == 24
    assert read_failures(tmp_path / "run").empty


def test_unreachable_scheduler_is_a_clear_error(tmp_path, cohort_writer, monkeypatch):
    from medscale import ConfigError
    from medscale.engine.executors import DaskExecutor

    monkeypatch.setattr(DaskExecutor, "connect_timeout", "1s")
    manifest = cohort_writer(tmp_path / "cohort", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run(RunSpec(str(manifest), str(tmp_path / "run"), EXTRACT, scheduler=address))
