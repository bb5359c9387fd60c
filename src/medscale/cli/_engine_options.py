"""Options shared by the commands that run the batch engine (`run`, `extract --manifest`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

EXECUTOR_OPTIONS = (
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Local worker processes (default: number of cores; 1 = run in this process).",
    ),
    click.option(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="Dask scheduler address, e.g. tcp://host:8786.",
    ),
    click.option(
        "--dask-local",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Start a local Dask cluster of N workers.",
    ),
    click.option("--in-process", is_flag=True, help="Run every case in this process (debugging)."),
    click.option("--resume", is_flag=True, help="Skip the cases already done in the run folder."),
    click.option(
        "--force",
        is_flag=True,
        help="Start over in a run folder that holds results of other settings.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object."),
)


def executor_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(EXECUTOR_OPTIONS):
        function = option(function)
    return function


def run_with_progress(spec: Any, *, as_json: bool) -> int:
    """Run the engine, with a progress bar when stderr is a terminal; print the summary.

    Returns the exit code: 0 when the run completed (failed cases are in failures.parquet),
    1 when every case failed.
    """
    import sys
    from dataclasses import asdict

    from medscale.engine import run

    if sys.stderr.isatty():
        summary = _run_with_bar(spec)
    else:  # logs and pipes get the summary line only (and rich is not even imported)
        summary = run(spec)
    if as_json:
        click.echo(json.dumps(asdict(summary)))
    else:
        click.echo(
            f"{summary.cases_done} done, {summary.cases_failed} failed, "
            f"{summary.cases_skipped} skipped in {summary.wall_seconds:.1f} s "
            f"({summary.cases_per_second:.2f} cases/s, {summary.executor} x{summary.workers}) "
            f"-> {spec.out_dir}",
            err=True,
        )
    return 1 if summary.cases_failed and not summary.cases_done else 0


def _run_with_bar(spec: Any) -> Any:
    """`medscale.engine.run` under a rich progress bar with rate and ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from medscale.engine import run

    columns = (
        TextColumn("[bold]cases"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.2f}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("cases", total=None, rate=0.0)

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=done, total=total, rate=done / elapsed if elapsed else 0.0)

        return run(spec, progress=progress)
