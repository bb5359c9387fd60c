"""What a local worker process does before its first item, and how items run in it."""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any


def start_worker(
    preload: tuple[str, ...],
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> None:
    """Worker initializer: exit with the parent, import `preload`, then run `initializer`.

    A parent killed outright (SIGKILL, out of memory) cannot stop its workers, so each worker
    watches its parent and exits when it is gone. The imports (SciPy, SimpleITK, ... for the
    engine's stages: ~0.5 s) then overlap the parent's own start-up.
    """
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch_parent, name="medscale-parent-watch", daemon=True).start()
    run_preload(preload)
    if initializer is not None:
        initializer(*initargs)


def run_preload(names: Sequence[str]) -> None:
    """Import each ``"package.module"``; for ``"package.module:function"`` also call it.

    Raises
    ------
    ModuleNotFoundError, AttributeError
        A name that does not resolve (a stage that declares a module that is not there).
    """
    for name in names:
        module_name, _, function_name = name.partition(":")
        module = importlib.import_module(module_name)
        if function_name:
            getattr(module, function_name)()


def apply_each(function: Callable[..., Any], items: list[Any], args: tuple[Any, ...]) -> list[Any]:
    """``[function(item, *args) for item in items]``: one task for a chunk of items."""
    return [function(item, *args) for item in items]


def ready() -> None:
    """A task that does nothing: submitting one per worker starts the workers now."""
