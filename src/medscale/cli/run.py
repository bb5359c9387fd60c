"""`medscale run RUN.yaml`."""

from __future__ import annotations

import click

from medscale.cli._engine_options import executor_options


@click.command(epilog="Example: medscale run study.yaml --workers 2 --resume")
@click.argument("run_file", type=click.Path(exists=True, dir_okay=False))
@executor_options
def command(
    run_file: str,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    in_process: bool,
    resume: bool,
    force: bool,
    as_json: bool,
) -> int:
    """Run a batch described by a YAML run file (manifest, stages, settings, executor).

    Results stream to RUN_DIR as cases finish: features.parquet, failures.parquet,
    settings.yaml, summary.json, run.log. A case that fails is recorded and the run goes on.
    """
    from medscale.cli._engine_options import run_with_progress
    from medscale.engine.runfile import load_run_file

    spec = load_run_file(
        run_file,
        workers=workers,
        scheduler=scheduler,
        dask_local=dask_local,
        in_process=in_process or None,
        resume=resume or None,
        force=force or None,
    )
    return run_with_progress(spec, as_json=as_json)
