"""`medscale triage PREDICTIONS --sensitivity 0.95 --out WORKLIST.csv`."""

from __future__ import annotations

import json
from typing import Any

import click

from medscale.cli import options


def _sensitivity(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise click.BadParameter(f"must lie in (0, 1], got {value:g}")
    return value


# The keyword arguments of `medscale.triage.triage_summary`, passed on to it by name.
_SUMMARY_OPTIONS = options.combine(
    click.option(
        "--sensitivity",
        type=float,
        default=0.95,
        show_default=True,
        callback=_sensitivity,
        help="Sensitivity to keep, in (0, 1]; studies below the threshold are deprioritised.",
    ),
    options.positive_int(
        "--readers", default=2, help="Radiologists reading in parallel in the queue simulation."
    ),
    options.positive_float(
        "--minutes-per-study",
        default=6.0,
        help="Mean reading minutes per study (exponential) in the queue simulation.",
    ),
    options.positive_float(
        "--max-wait-min",
        default=240.0,
        help="Maximum wait (minutes) after which a study is read first (ageing).",
    ),
    options.positive_float(
        "--arrivals-per-hour",
        default=None,
        help="Poisson arrival rate of the queue simulation (default: 80 % of the readers' "
        "capacity); not used when PREDICTIONS has arrival_time (or arrival_min): the studies "
        "then arrive at those times.",
    ),
    options.seed("Seed (bootstrap, queue)."),
)


@click.command(
    epilog="Example: medscale triage predictions.csv --sensitivity 0.95 --readers 2 "
    "--minutes-per-study 6 --max-wait-min 240 --out worklist.csv"
)
@click.argument("predictions", type=click.Path(exists=True))
@_SUMMARY_OPTIONS
@options.out_file("Worklist to write (.csv or .parquet): rank, case_id, probability, priority.")
@options.json_output
def command(predictions: str, out: str, as_json: bool, **settings: Any) -> None:
    """Rank a worklist by predicted risk; report the workload saved at a sensitivity.

    With labels in PREDICTIONS, also prints the share of studies that can be deprioritised
    (bootstrap 95 % CI) and simulates the reading queue: first-in-first-out, risk order, and
    risk order with a maximum wait.
    """
    from medscale.cli.tables import write_table
    from medscale.triage import rank_worklist, read_predictions, triage_summary

    frame = read_predictions(predictions)
    summary = triage_summary(frame, source=str(predictions), **settings)
    threshold = summary["workload"]["threshold"] if summary["workload"] else None
    worklist = rank_worklist(frame, threshold=threshold)
    target = write_table(worklist, out)
    summary["worklist"] = str(target)
    if as_json:
        click.echo(json.dumps(summary))
        return
    if summary["workload"] is None:
        click.echo(f"worklist: {target} ({len(frame)} studies); {summary['missing']}")
        return
    w = summary["workload"]
    click.echo(
        f"workload saved at sensitivity {100 * w['sensitivity']:g} %: {100 * w['saved']:.1f} % "
        f"(95 % CI {100 * w['ci_low']:.1f}-{100 * w['ci_high']:.1f} %), "
        f"threshold {w['threshold']:.4g}, "
        f"achieved sensitivity {100 * w['achieved_sensitivity']:.1f} %"
    )
    click.echo(f"worklist: {target} ({len(frame)} studies)")
    q = summary["queue"]
    source = "arrival times of the predictions" if q["arrivals"] == "predictions" else "Poisson"
    click.echo(
        f"queue ({q['readers']} readers, {q['minutes_per_study']:g} min/study, "
        f"{q['arrivals_per_hour']:.3g} arrivals/h ({source}), cap {q['max_wait_min']:g} min):"
    )
    for name, r in q["policies"].items():
        click.echo(
            f"  {name:9s} positives: mean {r['mean_report_positive_min']:.1f} min, "
            f"p95 {r['p95_report_positive_min']:.1f} min; "
            f"longest negative wait {r['max_wait_negative_min']:.1f} min"
        )
