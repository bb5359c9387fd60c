"""Where cases run: in the driver, in local worker processes, or on a Dask cluster.

Every executor has one method, ``map_unordered(function, items, settings)``, yielding results
as they finish while keeping at most a few cases per worker in flight, so that memory is bounded
by the number of workers, not by the cohort size. Only paths and small dicts travel; images are
read where they are processed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from medscale.errors import ConfigError

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2


class InProcessExecutor:
    """Runs every case in the driver process, one after another: for debugging."""

    name = "in-process"
    workers = 1

    def map_unordered(
        self, function: Callable[..., Any], items: Iterable[Any], settings: Any
    ) -> Iterator[Any]:
        for item in items:
            yield function(item, settings)

    def close(self) -> None:
        return None


class LocalExecutor:
    """Local worker processes (the default): ``workers`` processes, spawned fresh."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        import multiprocessing

        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def map_unordered(
        self, function: Callable[..., Any], items: Iterable[Any], settings: Any
    ) -> Iterator[Any]:
        pending: set[Future[Any]] = set()
        iterator = iter(items)
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            while True:
                while len(pending) < limit:
                    item = next(iterator, None)
                    if item is None:
                        break
                    pending.add(self._pool.submit(function, item, settings))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """A Dask distributed cluster: an existing scheduler address, or a LocalCluster of N workers.

    Tasks are pure (``pure=False`` so that each case runs even if inputs repeat) and retried
    on another worker when a worker dies (Dask's own resilience); results come back as they finish.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, local_workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:  # pragma: no cover - the dask extra is installed in CI
            raise ConfigError(
                "the Dask executor needs the dask extra: pip install 'medscale[dask]'"
            ) from err
        self._cluster = None
        if scheduler:
            self._client = Client(scheduler, timeout="30s")
        else:
            self._cluster = LocalCluster(
                n_workers=local_workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def map_unordered(
        self, function: Callable[..., Any], items: Iterable[Any], settings: Any
    ) -> Iterator[Any]:
        from distributed import as_completed

        iterator = iter(items)
        limit = max(self.workers, len(self._client.scheduler_info().get("workers", {}))) * 2
        limit = max(limit, IN_FLIGHT_PER_WORKER)
        settings_future = self._client.scatter(settings, broadcast=True)
        queue = as_completed()
        in_flight = 0
        for item in iterator:
            queue.add(self._client.submit(function, item, settings_future, pure=False, retries=2))
            in_flight += 1
            if in_flight >= limit:
                break
        for future in queue:
            result = future.result()
            future.release()
            yield result
            item = next(iterator, None)
            if item is not None:
                queue.add(
                    self._client.submit(function, item, settings_future, pure=False, retries=2)
                )

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    in_process: bool = False,
) -> InProcessExecutor | LocalExecutor | DaskExecutor:
    """The executor the options ask for (local processes by default)."""
    chosen = sum(bool(x) for x in (scheduler, dask_local, in_process))
    if chosen > 1:
        raise ConfigError("choose one of --scheduler, --dask-local and --in-process")
    if scheduler:
        return DaskExecutor(scheduler)
    if dask_local:
        return DaskExecutor(local_workers=dask_local)
    if in_process:
        return InProcessExecutor()
    return LocalExecutor(workers)
