"""Running stages over a manifest of cases: in-process, local worker processes, or Dask.

`run(spec)` reads the manifest, skips finished cases when resuming, sends each remaining case
to an executor, streams results to ``features.parquet`` (a dataset folder of part files) and
failures to ``failures.parquet`` as cases finish, and writes ``settings.yaml``, ``run.log`` and
``summary.json`` in the run folder.

The names load lazily: a worker process that imports `medscale.engine.stages` does not pay for
pyarrow and pandas, which only the driver needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "RunSpec": "medscale.engine.driver",
    "RunSummary": "medscale.engine.driver",
    "run": "medscale.engine.driver",
    "read_features": "medscale.engine.results",
    "read_failures": "medscale.engine.results",
    "read_manifest": "medscale.engine.manifest",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'medscale.engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
