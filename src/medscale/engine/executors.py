"""Where cases run: in the driver, in local worker processes, or on a Dask cluster.

Every executor has one method, ``map_unordered(function, items, settings, lost)``, yielding
results as they finish while keeping at most a few cases per worker in flight, so that memory is
bounded by the number of workers, not by the cohort size; ``lost`` turns a case that kills its
worker into a result. Only paths and small dicts travel; images are
read where they are processed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from medscale.errors import ConfigError

if TYPE_CHECKING:  # imported where used: a one-worker run never needs multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2

# Called with (item, error) for a case that kills its worker on its own; returns its result.
LostHandler = Callable[[Any, BaseException], Any]


class InProcessExecutor:
    """Runs every case in the driver process, one after another.

    Used for ``--in-process`` (debugging, profiling) and for one worker.
    """

    name = "in-process"
    workers = 1

    def map_unordered(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        settings: Any,
        lost: LostHandler | None = None,
    ) -> Iterator[Any]:
        for item in items:
            yield function(item, settings)

    def close(self) -> None:
        return None


def _warm_up() -> None:
    """Worker initializer: exit with the driver, and import the imaging stack at once.

    The imports (SciPy, SimpleITK, the feature families: ~0.5 s) then overlap the driver's
    reading of the manifest. A driver killed outright (SIGKILL, out of memory) cannot stop its
    workers, so each worker watches its parent and exits when it is gone.
    """
    import importlib
    import threading

    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch_parent, name="medscale-parent-watch", daemon=True).start()

    from medscale.features.registry import FAMILY_MODULES

    for name in ("medscale.engine.stages", "medscale.io", "medscale.features.extract"):
        importlib.import_module(name)
    for name in FAMILY_MODULES.values():
        importlib.import_module(name)


def _ready() -> None:
    """A task that does nothing: submitting one per worker starts the workers now."""


class LocalExecutor:
    """Local worker processes (the default): ``workers`` processes, spawned fresh.

    The workers start, and import what the stages need, as soon as the executor is made.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_up,
        )
        for _ in range(self.workers):
            pool.submit(_ready)
        return pool

    def map_unordered(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        settings: Any,
        lost: LostHandler | None = None,
    ) -> Iterator[Any]:
        """Results as they finish; cases whose worker died are retried one at a time.

        A worker killed under a case (out of memory, a crash in native code) breaks the whole
        pool, and every case then in flight with it. Those cases are rerun alone, each in turn,
        in a fresh pool: the innocent ones finish, and the one that breaks the pool on its own
        is handed to `lost` (recorded as a failure) instead of being retried again.
        """
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pending: dict[Future[Any], Any] = {}
        suspects: list[Any] = []
        iterator = iter(items)
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            while True:
                if suspects and not pending:
                    yield self._run_alone(function, suspects.pop(0), settings, lost)
                    continue
                while not suspects and len(pending) < limit:
                    item = next(iterator, None)
                    if item is None:
                        break
                    pending[self._pool.submit(function, item, settings)] = item
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        suspects.append(item)
                        continue
                    yield result
                if suspects:
                    log.warning("a worker process died; rerunning its cases one at a time")
                    suspects.extend(pending.values())
                    pending.clear()
                    self._restart()
        finally:
            for future in pending:
                future.cancel()

    def _run_alone(
        self, function: Callable[..., Any], item: Any, settings: Any, lost: LostHandler | None
    ) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(function, item, settings).result()
        except BrokenProcessPool as err:
            self._restart()
            if lost is None:
                raise
            return lost(item, err)

    def _restart(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
# adaptive mmap threshold: every image-sized array is then mapped and zeroed afresh, and a case
# takes ~45% longer (benchmarks/results/engine.md). Our LocalCluster unsets it; on a cluster of
# your own, set the same key to null in the workers' Dask configuration.
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class DaskExecutor:
    """A Dask distributed cluster: an existing scheduler address, or a LocalCluster of N workers.

    Tasks are pure (``pure=False`` so that each case runs even if inputs repeat) and retried
    on another worker when a worker dies (Dask's own resilience); results come back as they finish.
    """

    name = "dask"
    connect_timeout = "15s"

    def __init__(self, scheduler: str | None = None, *, local_workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:  # pragma: no cover - the dask extra is installed in CI
            raise ConfigError(
                "the Dask executor needs the dask extra: pip install 'medscale[dask]'"
            ) from err
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

    def map_unordered(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        settings: Any,
        lost: LostHandler | None = None,
    ) -> Iterator[Any]:
        from distributed import KilledWorker, as_completed

        iterator = iter(items)
        limit = max(self.workers, IN_FLIGHT_PER_WORKER) * IN_FLIGHT_PER_WORKER
        settings_future = self._client.scatter(settings, broadcast=True)
        queue = as_completed()
        cases: dict[Any, Any] = {}  # future key -> case

        def submit(item: Any) -> None:
            future = self._client.submit(function, item, settings_future, pure=False)
            cases[future.key] = item
            queue.add(future)

        for item in iterator:
            submit(item)
            if len(cases) >= limit:
                break
        for future in queue:
            item = cases.pop(future.key)
            try:
                result = future.result()
            except KilledWorker as err:  # the case took down workers several times
                if lost is None:
                    raise
                result = lost(item, err)
            future.release()
            yield result
            following = next(iterator, None)
            if following is not None:
                submit(following)

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
    if in_process or workers == 1:
        # One worker is the driver itself: measured faster than one spawned worker, whose
        # second import of the imaging stack outweighs the overlap (0.1-0.2 s per run).
        # A crash in native code then ends the run; finished cases stay (--resume).
        return InProcessExecutor()
    return LocalExecutor(workers)
