"""The one executor layer: where the work items of the engine, the catalog scan and deid run.

Three executors, one interface::

    executor.map_unordered(function, items, *args, lost=None, chunksize=1)  # as they finish
    executor.map(function, items, *args, lost=None, chunksize=1)            # in input order
    executor.close()

``function(item, *args)`` runs once per item: in the calling process (`InProcessExecutor`), in
local worker processes (`LocalExecutor`), or on a Dask cluster (`DaskExecutor`). At most a few
items per worker are in flight, so memory is bounded by the number of workers, not by the
number of items; only the items, the arguments and the results travel between processes.

A worker that dies (killed, out of memory, a crash in native code, a lost Dask worker) costs no
result: its items are run again, and an item that is lost with its worker more often than the
executor retries is handed to ``lost(item, error)`` (`medscale.errors.WorkerLostError`), whose
return value stands for its result; without ``lost`` the error is raised.

The module sits below the stage packages (catalog, deid, features, ...) and above nothing but
`medscale.errors`: it knows nothing of what the items are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medscale.errors import ConfigError
from medscale.parallel.local import (
    IN_FLIGHT_PER_WORKER,
    InProcessExecutor,
    LocalExecutor,
    LostHandler,
)

if TYPE_CHECKING:
    from medscale.parallel.dask_cluster import DaskExecutor

__all__ = [
    "IN_FLIGHT_PER_WORKER",
    "DaskExecutor",
    "InProcessExecutor",
    "LocalExecutor",
    "LostHandler",
    "make_executor",
]


def __getattr__(name: str) -> Any:
    """`DaskExecutor` loads on first use: a local run never imports its module."""
    if name == "DaskExecutor":
        from medscale.parallel.dask_cluster import DaskExecutor

        return DaskExecutor
    raise AttributeError(f"module 'medscale.parallel' has no attribute {name!r}")


def make_executor(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    in_process: bool = False,
    preload: tuple[str, ...] = (),
) -> InProcessExecutor | LocalExecutor | DaskExecutor:
    """The executor the options ask for (local processes by default).

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the CPU count); 1 runs in this process.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    dask_local : int, optional
        Workers of a Dask LocalCluster started on this machine.
    in_process : bool
        Run every item in this process (debugging, profiling).
    preload : tuple of str
        Modules a local worker imports as it starts (see `LocalExecutor`).

    Raises
    ------
    ConfigError
        More than one of `scheduler`, `dask_local` and `in_process`.
    """
    chosen = sum(bool(x) for x in (scheduler, dask_local, in_process))
    if chosen > 1:
        raise ConfigError("choose one of --scheduler, --dask-local and --in-process")
    if scheduler or dask_local:
        from medscale.parallel.dask_cluster import DaskExecutor

        return DaskExecutor(scheduler, local_workers=dask_local)
    if in_process or workers == 1:
        # One worker is the driver itself: measured faster than one spawned worker, whose
        # second import of the imaging stack outweighs the overlap (0.1-0.2 s per run).
        # A crash in native code then ends the run; finished cases stay (--resume).
        return InProcessExecutor()
    return LocalExecutor(workers, preload=preload)
