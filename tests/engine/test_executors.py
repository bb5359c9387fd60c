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

EXTRACT = StageSettings(stages=("read", "extract"), config="default")


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


@pytest.fixture
def threaded_cluster():
    """A LocalCluster of two single-threaded workers in this process: the test reaches them."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster


def _slow_square(value: int) -> int:
    time.sleep(0.02)
    return value * value


def _cancel_in_flight(executor) -> None:
    """Cancel every future the executor's client holds, as a scheduler that forgot them would."""
    from distributed import Future

    client = executor._client
    futures = [Future(key, client) for key in list(client.futures)]
    client.cancel(futures, force=True)


def test_no_task_depends_on_data_held_only_by_workers(threaded_cluster):
    from medscale.parallel.dask_cluster import DaskExecutor

    executor = DaskExecutor(threaded_cluster.scheduler_address)
    try:
        stream = executor.map_unordered(_slow_square, range(10), lost=None)
        first = next(stream)

        def unsafe(dask_scheduler) -> list[str]:
            return [
                str(ts.key)
                for ts in dask_scheduler.tasks.values()
                if ts.dependencies or ts.run_spec is None
            ]

        assert executor._client.run_on_scheduler(unsafe) == []
        assert sorted([first, *stream]) == [i * i for i in range(10)]
    finally:
        executor.close()


def test_a_cancelled_future_is_submitted_again(threaded_cluster):
    from medscale.parallel.dask_cluster import DaskExecutor

    executor = DaskExecutor(threaded_cluster.scheduler_address)
    results = []
    try:
        for result in executor.map_unordered(_slow_square, range(12)):
            if not results:
                _cancel_in_flight(executor)
            results.append(result)
    finally:
        executor.close()
    assert executor.resubmitted >= 1
    assert sorted(results) == [i * i for i in range(12)]  # each item exactly once


def test_a_future_cancelled_beyond_the_retries_is_lost_with_the_reason(threaded_cluster):
    from medscale.parallel.dask_cluster import DaskExecutor

    executor = DaskExecutor(threaded_cluster.scheduler_address, retries=0)
    results, lost = [], []

    def record(item, err):
        lost.append((item, type(err.__cause__).__name__, str(err)))
        return None

    try:
        for result in executor.map_unordered(_slow_square, range(12), lost=record):
            if not results:
                _cancel_in_flight(executor)
            results.append(result)
    finally:
        executor.close()
    assert lost and all(cause == "FutureCancelledError" for _, cause, _ in lost)
    assert all("its Dask future was cancelled 1 time (" in message for *_, message in lost)
    done = sorted(r for r in results if r is not None)
    assert sorted(done + [item * item for item, *_ in lost]) == [i * i for i in range(12)]


def test_dask_map_keeps_the_input_order(threaded_cluster):
    from medscale.parallel.dask_cluster import DaskExecutor

    executor = DaskExecutor(threaded_cluster.scheduler_address)
    try:
        assert list(executor.map(_slow_square, range(9))) == [i * i for i in range(9)]
    finally:
        executor.close()


def test_unreachable_scheduler_is_a_clear_error(tmp_path, cohort_writer, monkeypatch):
    from medscale import ConfigError
    from medscale.parallel.dask_cluster import DaskExecutor

    monkeypatch.setattr(DaskExecutor, "connect_timeout", "1s")
    manifest = cohort_writer(tmp_path / "cohort", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run(RunSpec(str(manifest), str(tmp_path / "run"), EXTRACT, scheduler=address))
