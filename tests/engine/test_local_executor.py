"""The local executor keeps going when a worker process dies under a case."""

from medscale.engine.executors import LocalExecutor

# `eval` is a picklable builtin: each item is an expression run in a worker process.
CRASH = "__import__('os')._exit(7)"


def test_results_come_back_for_every_item():
    executor = LocalExecutor(2)
    try:
        results = sorted(executor.map_unordered(eval, [f"{i} * {i}" for i in range(10)], {}))
    finally:
        executor.close()
    assert results == sorted(i * i for i in range(10))


def test_a_case_that_kills_its_worker_is_reported_and_the_rest_finish():
    executor = LocalExecutor(2)
    lost = []
    items = ["1", "2", CRASH, "3", "4", "5", "6", "7"]
    try:
        results = list(
            executor.map_unordered(
                eval, items, {}, lambda item, err: lost.append((item, type(err).__name__)) or -1
            )
        )
    finally:
        executor.close()
    assert lost == [(CRASH, "BrokenProcessPool")]
    assert sorted(r for r in results if r != -1) == [1, 2, 3, 4, 5, 6, 7]
