"""`medscale evaluate PREDICTIONS [--json]`: metrics with 95 % CIs of a predictions table."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(epilog="Example: medscale evaluate predictions.csv --json")
@click.argument("predictions", type=click.Path(exists=True, dir_okay=True))
@options.seed("Bootstrap seed.")
@options.json_output
def command(predictions: str, seed: int, as_json: bool) -> None:
    """Score predictions that carry a label: AUC, balanced accuracy, ... or MAE, RMSE, R²."""
    import json

    from medscale.cli.metrics_output import json_safe
    from medscale.models import evaluate, format_metrics, read_table

    metrics = evaluate(read_table(predictions), seed=seed)
    if as_json:
        click.echo(json.dumps(json_safe({"metrics": metrics})))
    else:
        click.echo(format_metrics(metrics))
