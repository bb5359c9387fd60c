"""Executors on this machine: the calling process itself, or a pool of worker processes.

`LocalExecutor` survives its workers: a worker killed under an item (out of memory, a crash in
native code, a signal) breaks the whole process pool and every item then in flight with it. The
pool is rebuilt, and those items are rerun alone, one at a time: the innocent ones finish, and
one that kills its worker ``max_deaths`` times is handed to ``lost`` instead of being retried
again, so the map goes on.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from medscale.errors import ConfigError, WorkerLostError
from medscale.parallel.worker import apply_each, ready, run_preload, start_worker

if TYPE_CHECKING:  # imported where used: a one-worker run never needs multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2
"""Tasks sent ahead per worker: one running, one waiting, so a worker never idles."""

MAX_WORKER_DEATHS = 3
"""Deaths of its worker after which an item is lost (one in the crowd, the rest run alone)."""

# Called with (item, error) for an item whose worker kept dying; returns its result.
LostHandler = Callable[[Any, WorkerLostError], Any]

Unit = list[tuple[int, Any]]  # a task: (sequence number, item) pairs


class MapCall(NamedTuple):
    """One map: ``function(item, *args)`` for each of `items` (see `Executor.map_unordered`)."""

    function: Callable[..., Any]
    items: Iterable[Any]
    args: tuple[Any, ...]
    lost: LostHandler | None
    chunksize: int


class ResultOrder:
    """Hands on results as they finish, or in their sequence order, holding the early ones.

    Parameters
    ----------
    ordered : bool
        Yield in sequence order (0, 1, 2 ...) rather than as the results come.
    """

    def __init__(self, *, ordered: bool) -> None:
        self.ordered = ordered
        self.yielded = 0
        self._waiting: dict[int, Any] = {}  # finished results not yet yielded (ordered only)

    def release(self, seq: int, result: Any) -> Iterator[Any]:
        """The results that can go now that item `seq` has given `result`."""
        if not self.ordered:
            self.yielded += 1
            yield result
            return
        self._waiting[seq] = result
        while self.yielded in self._waiting:
            self.yielded += 1
            yield self._waiting.pop(self.yielded - 1)


class Executor:
    """What every executor offers: `map_unordered`, `map` and `close` (see `medscale.parallel`).

    A subclass writes one generator, ``_stream(call, *, ordered)`` of a `MapCall`; the two maps
    are that generator, yielding as the items finish or in their order.
    """

    name = "executor"
    workers = 1

    def map_unordered(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        *args: Any,
        lost: LostHandler | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """``function(item, *args)`` for each item, yielded as they finish.

        `chunksize` items travel in one task where the executor batches them (`LocalExecutor`:
        cheaper for many small items; after a death they are rerun one by one, so the item that
        kills its worker is found); the others accept it for the common interface.
        """
        return self._stream(MapCall(function, items, args, lost, chunksize), ordered=False)

    def map(
        self,
        function: Callable[..., Any],
        items: Iterable[Any],
        *args: Any,
        lost: LostHandler | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """As `map_unordered`, yielded in the order of `items`."""
        return self._stream(MapCall(function, items, args, lost, chunksize), ordered=True)

    def _stream(self, call: MapCall, *, ordered: bool) -> Iterator[Any]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class InProcessExecutor(Executor):
    """Runs every item in the calling process, one after another.

    Used for ``--in-process`` (debugging, profiling) and for one worker. `preload` and
    `initializer` run here, once, so the same functions work as in `LocalExecutor`.
    """

    name = "in-process"
    workers = 1

    def __init__(
        self,
        *,
        preload: tuple[str, ...] = (),
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        run_preload(preload)
        if initializer is not None:
            initializer(*initargs)

    def _stream(self, call: MapCall, *, ordered: bool) -> Iterator[Any]:
        """In order either way; a crash here ends the caller."""
        for item in call.items:
            yield call.function(item, *call.args)


class LocalExecutor(Executor):
    """``workers`` local worker processes that are rebuilt when one of them dies.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: the CPU count).
    start_method : str or None
        ``"spawn"`` (default: fresh interpreters, safe with threads), ``"fork"`` (the workers
        inherit what this process has imported: no start-up cost; POSIX only), or None for
        the platform's default.
    preload : tuple of str
        Modules each worker imports as it starts (``"package.module"``, or
        ``"package.module:function"`` to also call a function of it), so that the imports
        overlap the parent's own work instead of delaying the first item.
    initializer, initargs
        Called in each worker after `preload` (state the items' function reads); must be
        picklable for ``spawn``.
    max_deaths : int
        Deaths of its worker after which an item is handed to ``lost``.

    Raises
    ------
    ConfigError
        `workers` or `max_deaths` below 1.

    Notes
    -----
    The workers start at once. Each watches its parent and exits when the parent is gone.
    """

    name = "local"

    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str | None = "spawn",
        preload: tuple[str, ...] = (),
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        max_deaths: int = MAX_WORKER_DEATHS,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        if max_deaths < 1:
            raise ConfigError(f"max_deaths must be at least 1, got {max_deaths}")
        self.max_deaths = max_deaths
        self.restarts = 0
        self._start_method = start_method
        self._initargs = (preload, initializer, initargs)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(self._start_method),
            initializer=start_worker,
            initargs=self._initargs,
        )
        for _ in range(self.workers):
            pool.submit(ready)
        return pool

    def _stream(self, call: MapCall, *, ordered: bool) -> Iterator[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        function, items, args, lost, chunksize = call
        if chunksize < 1:
            raise ConfigError(f"chunksize must be at least 1, got {chunksize}")
        source = enumerate(items)
        limit = self.workers * IN_FLIGHT_PER_WORKER * chunksize
        pending: dict[Future[list[Any]], Unit] = {}
        suspects: deque[tuple[int, Any]] = deque()  # (sequence number, item), to run alone
        order = ResultOrder(ordered=ordered)
        taken = 0
        exhausted = False
        try:
            while True:
                finished: list[tuple[int, Any]] = []
                if suspects and not pending:
                    seq, item = suspects.popleft()
                    finished.append((seq, self._run_alone(function, item, args, lost)))
                while not suspects and not exhausted and taken - order.yielded < limit:
                    unit: Unit = list(islice(source, chunksize))
                    if not unit:
                        exhausted = True
                        break
                    taken += len(unit)
                    try:
                        future = self._pool.submit(apply_each, function, [i for _, i in unit], args)
                    except BrokenProcessPool:  # broke while idle: rebuild, then try once more
                        self._restart()
                        future = self._pool.submit(apply_each, function, [i for _, i in unit], args)
                    pending[future] = unit
                if pending and not finished:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        unit = pending.pop(future)
                        try:
                            results = future.result()
                        except BrokenProcessPool:
                            suspects.extend(unit)
                            continue
                        finished.extend(zip((seq for seq, _ in unit), results, strict=True))
                    if suspects:
                        log.warning("a worker process died; rerunning its items one at a time")
                        for unit in pending.values():
                            suspects.extend(unit)
                        pending.clear()
                        suspects = deque(sorted(suspects, key=lambda pair: pair[0]))
                        self._restart()
                for seq, result in finished:
                    yield from order.release(seq, result)
                if exhausted and not pending and not suspects:
                    return
        finally:
            for future in pending:
                future.cancel()

    def _run_alone(
        self,
        function: Callable[..., Any],
        item: Any,
        args: tuple[Any, ...],
        lost: LostHandler | None,
    ) -> Any:
        """Run one item with no other in flight, until it succeeds or has killed its worker
        ``max_deaths`` times (its death in the crowd counted)."""
        from concurrent.futures.process import BrokenProcessPool

        deaths = 1
        cause: BaseException | None = None
        while deaths < self.max_deaths:
            try:
                return self._pool.submit(apply_each, function, [item], args).result()[0]
            except BrokenProcessPool as err:
                deaths += 1
                cause = err
                self._restart()
        error = WorkerLostError(
            f"its worker process died {deaths} times (killed, out of memory or crashed)"
        )
        if lost is None:
            raise error from cause
        error.__cause__ = cause
        return lost(item, error)

    def _restart(self) -> None:
        self.restarts += 1
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
