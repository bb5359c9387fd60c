"""`medscale catalog query "SQL" --catalog X` and `medscale catalog summary --catalog X`."""

from __future__ import annotations

import json
from typing import Any

import click

from medscale.cli import options

_CATALOG = options.catalog("The catalog written by `medscale scan`.")


@click.group(
    epilog='Example: medscale catalog query "SELECT modality, count(*) FROM series '
    'GROUP BY 1" --catalog archive.parquet'
)
def command() -> None:
    """Query a DICOM catalog with SQL (DuckDB) and summarise it.

    Tables: instances (one row per file), series, studies, errors (unreadable files).
    """


def _records(frame: Any) -> list[dict[str, Any]]:
    """JSON-ready rows: ISO dates and times, lists for arrays, null for missing."""
    return json.loads(
        frame.to_json(orient="records", date_format="iso", date_unit="us", default_handler=str)
    )


@command.command(
    epilog='Example: medscale catalog query "SELECT * FROM studies LIMIT 5" '
    "--catalog archive.parquet --csv"
)
@click.argument("sql")
@_CATALOG
@options.json_output
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout.")
def query(sql: str, catalog_path: str, as_json: bool, as_csv: bool) -> None:
    """Run SQL over the catalog's tables: instances, series, studies, errors."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    from medscale.catalog import query as run_query

    frame = run_query(catalog_path, sql)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "columns": [str(name) for name in frame.columns],
                    "n_rows": len(frame),
                    "rows": _records(frame),
                }
            )
        )
    elif as_csv:
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        _print_table(frame, title=None)


@command.command(epilog="Example: medscale catalog summary --catalog archive.parquet --json")
@_CATALOG
@options.json_output
@options.positive_int("--limit", default=20, help="Rows shown per table (studies, devices).")
def summary(catalog_path: str, as_json: bool, limit: int) -> None:
    """Counts per modality, device and study, and of unreadable files."""
    from medscale.catalog import summary as make_summary

    found = make_summary(catalog_path)
    tables = {name: frame for name, frame in found.items() if name != "totals"}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "totals": found["totals"],
                    **{name: _records(frame) for name, frame in tables.items()},
                }
            )
        )
        return
    totals = found["totals"]
    click.echo(", ".join(f"{value} {name}" for name, value in totals.items()))
    for name, frame in tables.items():
        _print_table(
            frame.head(limit),
            title=f"{name.replace('_', ' ')} ({min(limit, len(frame))} of {len(frame)})",
        )


@command.command(
    epilog="Example: medscale catalog utilisation --catalog archive.parquet --repeat-days 30 --json"
)
@_CATALOG
@options.positive_float(
    "--repeat-days",
    default=30.0,
    help="A study of the same patient and modality within N days of the previous is a repeat.",
)
@click.option(
    "--study-date",
    default=None,
    metavar="A-B",
    help="Only studies started on these days: YYYYMMDD, YYYYMMDD-YYYYMMDD (either end open).",
)
@click.option("--scanner", default=None, metavar="STATION", help="Only this station name.")
@options.json_output
def utilisation(
    catalog_path: str,
    repeat_days: float,
    study_date: str | None,
    scanner: str | None,
    as_json: bool,
) -> None:
    """Per scanner: studies, busy and idle minutes, gaps; studies per hour; repeat exams.

    Busy minutes are the union of the study acquisition intervals; idle minutes the time
    between a scanner's studies within its working days (first start to last end of a day).
    """
    import pandas as pd

    from medscale.catalog.utilisation import parse_date_range
    from medscale.catalog.utilisation import utilisation as compute
    from medscale.errors import ConfigError

    try:
        dates = parse_date_range(study_date) if study_date else None
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--study-date") from None
    found = compute(catalog_path, repeat_days=repeat_days, study_dates=dates, station=scanner)
    if as_json:
        click.echo(json.dumps(found))
        return
    scanners = pd.DataFrame(found["scanners"])
    shown = [
        "station_name",
        "manufacturer",
        "manufacturer_model_name",
        "studies",
        "busy_minutes",
        "idle_minutes",
        "working_days",
        "median_gap_minutes",
        "max_gap_minutes",
    ]
    _print_table(scanners[[c for c in shown if c in scanners]].round(1), title="scanners")
    _print_table(pd.DataFrame(found["by_modality"]), title="studies per modality")
    heatmap = pd.DataFrame(found["heatmap"], columns=["weekday", "hour", "studies"])
    if len(heatmap):
        grid = heatmap.pivot_table(
            index="weekday", columns="hour", values="studies", fill_value=0, aggfunc="sum"
        )
        grid.index = [_WEEKDAYS[int(day) - 1] for day in grid.index]
        _print_table(
            grid.reset_index(names="day"), title="studies per weekday and hour of their start"
        )
    repeats = found["repeats"]
    click.echo(
        f"repeat examinations (same patient and modality within {repeats['within_days']:g} "
        f"days): {repeats['n_repeats']}"
    )
    if repeats["by_modality"]:
        _print_table(pd.DataFrame(repeats["by_modality"]).round(2), title="repeats per modality")


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _print_table(frame: Any, *, title: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(str(name), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*("" if _missing(value) else str(value) for value in row))
    Console(soft_wrap=True).print(table)


def _missing(value: Any) -> bool:
    try:
        return bool(value is None or value != value)
    except ValueError:  # arrays
        return False
