"""Options shared by the commands that run the batch engine (`run`, `extract --manifest`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from medscale.cli import options

executor_options = options.combine(
    options.workers,
    click.option(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="Dask scheduler address, e.g. tcp://host:8786.",
    ),
    options.positive_int(
        "--dask-local", default=None, metavar="N", help="Start a local Dask cluster of N workers."
    ),
    click.option("--in-process", is_flag=True, help="Run every case in this process (debugging)."),
    options.resume,
    click.option(
        "--force",
        is_flag=True,
        help="Start over in a run folder that holds results of other settings.",
    ),
    options.json_output,
)
"""--workers, --scheduler, --dask-local, --in-process, --resume, --force and --json."""


def run_with_progress(spec: Any, *, as_json: bool) -> int:
    """Run the engine, with a progress bar when stderr is a terminal; print the summary.

    Returns the exit code: 0 when the run completed (failed cases are in failures.parquet),
    1 when every case failed.
    """
    from dataclasses import asdict

    from medscale.engine import run

    uses_dask = spec.scheduler is not None or spec.dask_local is not None
    with _pandas_hidden(unless=uses_dask):
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


class _PandasHidden:
    """Answers every import of pandas with ModuleNotFoundError."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is not needed by a medscale run: {fullname}")
        return None


@contextmanager
def _pandas_hidden(*, unless: bool = False) -> Iterator[None]:
    """Keep pandas out of this process while the engine runs.

    pyarrow imports pandas (0.2-0.4 s, a sixth of a small batch) the first time it builds an
    array, only to check whether its input is a pandas object; the engine never hands it one.
    pandas is hidden only when it is not imported yet, never from Dask (whose client may use
    it), and only for the run: a later ``import pandas`` in this process works as usual.
    """
    if unless or "pandas" in sys.modules:
        yield
        return
    finder = _PandasHidden()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
