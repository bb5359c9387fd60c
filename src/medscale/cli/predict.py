"""`medscale predict MODEL TABLE --out PREDICTIONS`: apply a saved model to a feature table."""

from __future__ import annotations

import click

from medscale.cli import options


@click.command(epilog="Example: medscale predict model/ features.csv --out predictions.csv")
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.argument("table", type=click.Path(exists=True, dir_okay=True))
@options.out_file("Predictions (.csv/.parquet).")
def command(model: str, table: str, out: str) -> None:
    """Write case_id, probability (or probability_<class>), prediction and label when known."""
    from medscale.cli.dl_train import is_cnn_model, predict_cnn_command

    if is_cnn_model(model):
        predict_cnn_command(model, table, out)
        return
    from medscale.cli.tables import write_table
    from medscale.models import load_model, predict, read_table

    predictions = predict(load_model(model), read_table(table))
    write_table(predictions, out)
    click.echo(f"{len(predictions)} predictions written to {out}", err=True)
