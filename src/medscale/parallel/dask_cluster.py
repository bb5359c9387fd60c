"""A Dask distributed cluster as an executor: a scheduler's address, or a LocalCluster.

Nothing an item depends on lives only in worker memory: each task carries its item and its
arguments in its own definition (a few kB), so the scheduler can always run it again. (Data
``scatter``-ed to the workers cannot be recomputed: once the workers holding it are lost, or
the scheduler's memory manager has dropped its extra copies, every task needing it is
forgotten, and its future cancelled.)

A task whose worker dies is rerun elsewhere by Dask itself, until it has been on
``distributed.scheduler.allowed-failures`` + 1 workers that died (``KilledWorker``: Dask's
verdict that the task kills its workers; the item is then lost). A future cancelled under the
run (its task forgotten by the scheduler, a reconnection) is submitted again, up to `retries`
times, then its item is lost; either way the map goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from medscale.errors import ConfigError, WorkerLostError
from medscale.parallel.local import (
    IN_FLIGHT_PER_WORKER,
    Executor,
    LostHandler,
    MapCall,
    ResultOrder,
)

log = logging.getLogger(__name__)

# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
# adaptive mmap threshold: every image-sized array is then mapped and zeroed afresh, and a case
# takes ~45% longer (benchmarks/results/engine.md). Our LocalCluster unsets it; on a cluster of
# your own, set the same key to null in the workers' Dask configuration.
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}

RETRIES = 3
"""Times an item whose future was cancelled is submitted again before it is lost."""


class DaskExecutor(Executor):
    """A Dask distributed cluster: an existing scheduler address, or a LocalCluster of N workers.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); without it a LocalCluster of
        `local_workers` single-threaded worker processes is started on 127.0.0.1.
    local_workers : int, optional
        Workers of the LocalCluster (default: the CPU count).
    retries : int
        Times an item whose future was cancelled is submitted again before it is lost.

    Raises
    ------
    ConfigError
        The dask extra is missing, or the scheduler cannot be reached.

    Notes
    -----
    Tasks are impure (``pure=False``), so that each item runs even if items repeat.
    """

    name = "dask"
    connect_timeout = "15s"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        local_workers: int | None = None,
        retries: int = RETRIES,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:  # pragma: no cover - the dask extra is installed in CI
            raise ConfigError(
                "the Dask executor needs the dask extra: pip install 'medscale[dask]'"
            ) from err
        self.retries = retries
        self.resubmitted = 0
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as err:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {scheduler} ({err}); "
                    "check the address, or use --dask-local N for a cluster on this machine"
                ) from err
        else:
            import dask

            with dask.config.set(WORKER_ENVIRONMENT):
                self._cluster = LocalCluster(
                    n_workers=local_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            self._client = Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def _stream(self, call: MapCall, *, ordered: bool) -> Iterator[Any]:
        from distributed import Future, KilledWorker, as_completed

        function, items, args, lost, _ = call  # each item is its own task: no chunks
        source = enumerate(items)
        limit = max(self.workers, IN_FLIGHT_PER_WORKER) * IN_FLIGHT_PER_WORKER
        queue = as_completed()
        in_flight: dict[Future, tuple[int, Any, int]] = {}  # future -> (sequence, item, attempts)
        order = ResultOrder(ordered=ordered)
        taken = 0

        def submit(seq: int, item: Any, attempts: int) -> None:
            future = self._client.submit(function, item, *args, pure=False)
            in_flight[future] = (seq, item, attempts)
            queue.add(future)

        def fill() -> None:
            nonlocal taken
            while taken - order.yielded < limit:
                pair = next(source, None)
                if pair is None:
                    return
                taken += 1
                submit(*pair, 1)

        fill()
        try:
            for future in queue:
                seq, item, attempts = in_flight.pop(future)
                try:
                    result = future.result()
                except KilledWorker as err:
                    result = _lost(lost, item, err, "it was running on Dask workers that died")
                except _cancelled_errors() as err:
                    future.release()
                    if attempts <= self.retries:
                        log.warning(
                            "a Dask future was cancelled (%s); submitting its item again", err
                        )
                        self.resubmitted += 1
                        submit(seq, item, attempts + 1)
                        continue
                    times = f"{attempts} time{'s' if attempts > 1 else ''}"
                    result = _lost(lost, item, err, f"its Dask future was cancelled {times}")
                future.release()
                yield from order.release(seq, result)
                fill()
        finally:
            if in_flight:
                self._client.cancel(list(in_flight))

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _cancelled_errors() -> tuple[type[BaseException], ...]:
    """The errors of a future that was cancelled (``FutureCancelledError`` is one), or whose
    result could not be fetched from its worker."""
    from concurrent.futures import CancelledError

    from distributed.comm import CommClosedError

    return (CancelledError, CommClosedError)


def _lost(lost: LostHandler | None, item: Any, err: BaseException, what: str) -> Any:
    error = WorkerLostError(f"{what} ({type(err).__name__}: {err})")
    if lost is None:
        raise error from err
    error.__cause__ = err
    return lost(item, error)
