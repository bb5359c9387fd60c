"""Running stages over a manifest of cases: in-process, local worker processes, or Dask.

`run(spec)` reads the manifest, skips finished cases when resuming, sends each remaining case
to an executor, streams results to ``features.parquet`` (a dataset folder of part files) and
failures to ``failures.parquet`` as cases finish, and writes ``settings.yaml``, ``run.log`` and
``summary.json`` in the run folder.
"""

from medscale.engine.manifest import read_manifest
from medscale.engine.run import RunSpec, RunSummary, read_failures, read_features, run

__all__ = ["RunSpec", "RunSummary", "read_failures", "read_features", "read_manifest", "run"]
