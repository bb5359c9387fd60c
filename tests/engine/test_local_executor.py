"""The local executor keeps going when its worker processes die, and loses no result."""

import os
import signal
import time

import pytest

from medscale.errors import WorkerLostError
from medscale.parallel import InProcessExecutor, LocalExecutor

# `eval` is a picklable builtin: each item is an expression run in a worker process.
CRASH = "__import__('os')._exit(7)"


def _dies_until(counter_file, lives: int, value: int) -> str:
    """An expression that kills its worker the first `lives` times it runs, then is `value`."""
    return (
        f"(open({str(counter_file)!r}, 'a').write('x'), "
        f"__import__('os')._exit(9) if len(open({str(counter_file)!r}).read()) <= {lives} "
        f"else {value})[1]"
    )


@pytest.fixture
def executor():
    pool = LocalExecutor(2)
    yield pool
    pool.close()


def test_results_come_back_for_every_item(executor):
    results = sorted(executor.map_unordered(eval, [f"{i} * {i}" for i in range(10)], {}))
    assert results == sorted(i * i for i in range(10))


def test_map_keeps_the_input_order_with_chunks(executor):
    # the first items are the slowest: they finish last but are still yielded first
    items = [f"(__import__('time').sleep({0.2 if i < 3 else 0}), {i})[1]" for i in range(23)]
    assert list(executor.map(eval, items, {}, chunksize=3)) == list(range(23))


def test_a_case_that_kills_its_worker_is_reported_and_the_rest_finish(executor):
    lost = []
    items = ["1", "2", CRASH, "3", "4", "5", "6", "7"]

    def record(item, err):
        lost.append((item, type(err).__name__, type(err.__cause__).__name__, str(err)))
        return -1

    results = list(executor.map_unordered(eval, items, {}, lost=record))
    assert lost == [
        (
            CRASH,
            "WorkerLostError",
            "BrokenProcessPool",
            "its worker process died 3 times (killed, out of memory or crashed)",
        )
    ]
    assert sorted(r for r in results if r != -1) == [1, 2, 3, 4, 5, 6, 7]
    assert executor.restarts == 3  # a rebuilt pool per death: in the crowd, then twice alone


def test_without_a_lost_handler_the_loss_is_raised(executor):
    with pytest.raises(WorkerLostError, match="died 3 times"):
        list(executor.map_unordered(eval, ["1", CRASH], {}))


def test_a_case_whose_worker_dies_fewer_times_than_the_bound_finishes(executor, tmp_path):
    items = ["1", _dies_until(tmp_path / "count", 2, 99), "2", "3"]
    results = sorted(executor.map_unordered(eval, items, {}, lost=lambda item, err: -1))
    assert results == [1, 2, 3, 99]
    assert (tmp_path / "count").read_text() == "xxx"  # died twice, then ran once


def test_a_chunk_that_breaks_is_rerun_item_by_item(executor):
    items = [str(i) for i in range(6)] + [CRASH] + [str(i) for i in range(6, 12)]
    results = list(executor.map(eval, items, {}, lost=lambda item, err: "lost", chunksize=4))
    assert results == [*range(6), "lost", *range(6, 12)]


def test_a_worker_killed_between_maps_costs_nothing(executor):
    assert sorted(executor.map_unordered(eval, ["1", "2", "3", "4"], {})) == [1, 2, 3, 4]
    victim = next(iter(executor._pool._processes))
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)  # let the pool notice (or not: both paths must work)
    assert sorted(executor.map_unordered(eval, [f"{i}" for i in range(8)], {})) == list(range(8))


def test_max_deaths_is_checked():
    from medscale.errors import ConfigError

    with pytest.raises(ConfigError, match="max_deaths"):
        LocalExecutor(2, max_deaths=0)


def test_in_process_executor_runs_initializer_and_maps_in_order():
    state = {}
    executor = InProcessExecutor(initializer=state.update, initargs=({"ready": True},))
    assert state == {"ready": True}
    assert list(executor.map(eval, ["1", "2"], {})) == [1, 2]


class _CrashingCase:
    """A LocalExecutor whose worker dies under one case: every case travels as an expression
    for `eval` (a picklable builtin), the chosen one as ``os._exit``."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.inner = LocalExecutor(2)
        self.name, self.workers = self.inner.name, self.inner.workers

    def map_unordered(self, function, cases, settings, *, lost):
        cases = list(cases)
        by_expression = {}
        for case in cases:
            call = f"__import__('{function.__module__}', fromlist=['_']).{function.__name__}"
            expression = CRASH if case["case_id"] == self.case_id else f"{call}({case!r}, s)"
            by_expression[expression] = case
        return self.inner.map_unordered(
            eval,
            list(by_expression),
            {"s": settings},
            lost=lambda expression, err: lost(by_expression[expression], err),
        )

    def close(self):
        self.inner.close()


def test_an_engine_run_records_a_case_that_kills_its_worker(small_cohort, tmp_path, monkeypatch):
    from medscale.engine import RunSpec, read_failures, read_features, run
    from medscale.engine.stages import StageSettings

    monkeypatch.setattr("medscale.parallel.make_executor", lambda **_: _CrashingCase("case003"))
    spec = RunSpec(str(small_cohort), str(tmp_path / "run"), StageSettings(stages=("read",)))
    summary = run(spec)
    assert summary.cases_done == 5 and summary.cases_failed == 1
    assert read_features(tmp_path / "run")["case_id"].tolist() == [
        f"case{i:03d}" for i in (0, 1, 2, 4, 5)
    ]
    failure = read_failures(tmp_path / "run").iloc[0]
    assert (failure["case_id"], failure["stage"], failure["error_type"]) == (
        "case003",
        "worker",
        "BrokenProcessPool",
    )
    assert failure["message"] == (
        "case case003: its worker process died 3 times (killed, out of memory or crashed)"
    )


def test_every_stage_declares_worker_imports_that_resolve():
    from medscale.engine.stages import STAGES, WORKER_IMPORTS, StageSettings
    from medscale.parallel.worker import run_preload

    assert set(WORKER_IMPORTS) == set(STAGES)
    for names in WORKER_IMPORTS.values():
        run_preload(names)  # raises for a module or function that is not there
    chain = StageSettings(stages=("read", "extract"))
    assert chain.worker_imports == WORKER_IMPORTS["read"] + WORKER_IMPORTS["extract"]
    assert "medscale.segment" not in chain.worker_imports  # only what the run's stages need
