"""The driver: one run = a manifest × a chain of stages × settings, written to a run folder.

Layout of RUN_DIR::

    features.parquet/part-000001.parquet ...   one part per flush; a case is in exactly one part
    failures.parquet                           case_id, stage, error_type, message, traceback_digest
    settings.yaml                              the resolved settings and the medscale version
    summary.json                               counts, wall time, cases per second
    run.log                                    the run's log

Results are flushed as cases finish (every `flush_every` cases or `flush_seconds`), each part
written to a temporary name and renamed into place, so a killed driver leaves only whole parts;
`resume=True` skips the cases found in them and never writes a case twice.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medscale.engine.stages import CaseResult, StageSettings, process_case
from medscale.errors import ConfigError, InputError, WorkerLostError

log = logging.getLogger(__name__)

SETTINGS = "settings.yaml"
SUMMARY = "summary.json"
RUN_LOG = "run.log"


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run.

    Attributes
    ----------
    manifest : path
        CSV or Parquet with ``case_id``, ``image`` and (for extract without segment) ``mask``.
    out_dir : path
        The run folder RUN_DIR.
    stage_settings : StageSettings
        The stages and their settings; these, not the executor, define the results.
    workers, scheduler, dask_local, in_process
        Which executor runs the cases (local processes by default).
    resume : bool
        Skip cases already in RUN_DIR (settings must match).
    force : bool
        Start over in a RUN_DIR that holds results of other settings (they are deleted).
    flush_every, flush_seconds
        How often finished rows are written.
    """

    manifest: str
    out_dir: str
    stage_settings: StageSettings = field(default_factory=StageSettings)
    workers: int | None = None
    scheduler: str | None = None
    dask_local: int | None = None
    in_process: bool = False
    resume: bool = False
    force: bool = False
    flush_every: int = 32
    flush_seconds: float = 10.0


@dataclass
class RunSummary:
    """What a run did (also written to summary.json)."""

    cases_total: int
    cases_done: int
    cases_failed: int
    cases_skipped: int
    wall_seconds: float
    cases_per_second: float
    executor: str
    workers: int
    case_seconds_median: float = 0.0
    case_seconds_max: float = 0.0
    interrupted: bool = False
    medscale_version: str = ""


def resolved_settings(spec: RunSpec) -> dict[str, Any]:
    """The settings that define a run's results (not how it is executed)."""
    stage = spec.stage_settings
    return {
        "stages": list(stage.stages),
        "config": stage.config,
        "preprocess_steps": list(stage.preprocess_steps),
        "segment_method": stage.segment_method,
        "segment_params": stage.segment_params,
        "mask_label": stage.mask_label,
        "manifest": str(Path(spec.manifest).resolve()),
    }


def run(spec: RunSpec, *, progress: Callable[[int, int], None] | None = None) -> RunSummary:
    """Run `spec`; return its summary. Ctrl-C stops cleanly, keeping every finished case."""
    from medscale.parallel import make_executor

    start = time.perf_counter()
    # The workers start first, so that they import what the stages declare (SciPy, SimpleITK,
    # the feature families) on the other cores while this process reads the manifest.
    executor = make_executor(
        workers=spec.workers,
        scheduler=spec.scheduler,
        dask_local=spec.dask_local,
        in_process=spec.in_process,
        preload=spec.stage_settings.worker_imports,
    )
    try:
        return _drive(spec, executor, start, progress)
    finally:
        executor.close()


def _drive(
    spec: RunSpec, executor: Any, start: float, progress: Callable[[int, int], None] | None
) -> RunSummary:
    """Open the run folder, send every remaining case to `executor`, stream the results."""
    from medscale import __version__
    from medscale.engine.manifest import read_manifest
    from medscale.engine.results import ResultWriter, case_dicts  # pyarrow: after the workers

    out_dir = Path(spec.out_dir)
    cases = read_manifest(spec.manifest)
    if "extract" in spec.stage_settings.stages and "segment" not in spec.stage_settings.stages:
        if "mask" not in cases.column_names:
            raise InputError(f"{spec.manifest}: the extract stage needs a 'mask' column")
    _prepare_run_dir(out_dir, resolved_settings(spec), resume=spec.resume, force=spec.force)
    stage_settings = _with_output_dir(spec.stage_settings, out_dir)
    handler = _attach_run_log(out_dir / RUN_LOG)
    writer = ResultWriter(out_dir, manifest_schema=cases.schema)
    finished = writer.finished_case_ids() if spec.resume else set()
    if finished:
        import pyarrow as pa
        import pyarrow.compute as pc

        done_already = pc.is_in(cases["case_id"], value_set=pa.array(sorted(finished)))
        cases = cases.filter(pc.invert(done_already))
    todo = cases.num_rows
    log.info(
        "run %s: %d cases, %d already done, %d to do",
        out_dir,
        todo + len(finished),
        len(finished),
        todo,
    )
    interrupted = False
    done = failed = 0
    case_seconds: list[float] = []
    try:
        last_flush = time.monotonic()
        for result in executor.map_unordered(
            process_case, case_dicts(cases), stage_settings, lost=_lost
        ):
            writer.add(result)
            case_seconds.append(result.seconds)
            done += result.row is not None
            failed += result.failure is not None
            if result.failure is not None:
                log.warning("%s", result.failure["message"])
            for message in result.warnings:
                log.info("case %s: %s", result.case_id, message)
            if progress is not None:
                progress(done + failed, todo)
            if (
                writer.pending >= spec.flush_every
                or time.monotonic() - last_flush > spec.flush_seconds
            ):
                writer.flush()
                last_flush = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: keeping the %d cases finished so far", done + failed)
    finally:
        writer.flush()
    wall = time.perf_counter() - start
    summary = RunSummary(
        cases_total=todo + len(finished),
        cases_done=len(writer.finished_case_ids()),
        cases_failed=writer.failed_count,
        cases_skipped=len(finished),
        wall_seconds=round(wall, 3),
        cases_per_second=round((done + failed) / wall, 4) if wall > 0 else 0.0,
        executor=executor.name,
        workers=executor.workers,
        case_seconds_median=round(statistics.median(case_seconds), 4) if case_seconds else 0.0,
        case_seconds_max=round(max(case_seconds, default=0.0), 4),
        interrupted=interrupted,
        medscale_version=__version__,
    )
    (out_dir / SUMMARY).write_text(json.dumps(asdict(summary), indent=2) + "\n")
    logging.getLogger("medscale").removeHandler(handler)
    handler.close()
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _lost(case: dict[str, Any], err: WorkerLostError) -> CaseResult:
    """The result of a case lost with its worker more often than the executor retries.

    ``error_type`` is the executor's own error (``BrokenProcessPool``, ``KilledWorker``,
    ``FutureCancelledError``); the message says how the case was lost.
    """
    case_id = str(case["case_id"])
    cause = err.__cause__ if err.__cause__ is not None else err
    failure = {
        "case_id": case_id,
        "stage": "worker",
        "error_type": type(cause).__name__,
        "message": f"case {case_id}: {err}",
        "traceback_digest": "",
        "traceback": f"{type(cause).__name__}: {cause}"[-4000:],
    }
    return CaseResult(case_id, None, failure, 0.0)


def _with_output_dir(settings: StageSettings, out_dir: Path) -> StageSettings:
    values = {**settings.__dict__, "output_dir": str(out_dir.resolve())}
    return StageSettings(**values)


def _prepare_run_dir(out_dir: Path, settings: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Create RUN_DIR, or check that the one there belongs to the same settings."""
    from medscale import __version__
    from medscale.engine.results import FAILURES, FEATURES

    settings_path = out_dir / SETTINGS
    has_results = (out_dir / FEATURES).exists() or (out_dir / FAILURES).exists()
    if settings_path.is_file():
        previous = yaml.safe_load(settings_path.read_text()) or {}
        recorded = dict(previous.get("settings") or {})
        if (
            "features" in recorded and "config" not in recorded
        ):  # written before features was renamed config
            recorded["config"] = recorded.pop("features")
        same = recorded == json.loads(json.dumps(settings))
        if not same and not force:
            raise ConfigError(
                f"{out_dir} holds a run with other settings; use another --out folder, "
                "or --force to delete its results and start over"
            )
        if same and has_results and not (resume or force):
            raise ConfigError(
                f"{out_dir} already holds results of this run; use --resume to finish it, "
                "or --force to start over"
            )
        if force and not (same and resume):
            for name in (FEATURES, FAILURES, SUMMARY):
                target = out_dir / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
    elif has_results and not force:
        raise ConfigError(f"{out_dir} holds results without settings.yaml; use --force")
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {"medscale_version": __version__, "settings": json.loads(json.dumps(settings))}
    settings_path.write_text(yaml.safe_dump(document, sort_keys=False))


def _attach_run_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("medscale")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler
