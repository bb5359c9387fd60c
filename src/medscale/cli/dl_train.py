"""The deep-learning side of `train` / `predict`: options and the CNN's command bodies.

`medscale train MANIFEST --model cnn --target COL [--group COL] --out MODEL` trains a MONAI
ResNet on the manifest's images (:mod:`medscale.models.cnn`); `medscale predict MODEL MANIFEST`
recognises a CNN model folder and predicts from images. torch and MONAI (the ``dl`` extra) are
imported only when a CNN is used.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from medscale.cli import options

training_options = options.combine(
    options.positive_int(
        "--epochs",
        default=None,
        help="Networks: most training epochs (default cnn 30, with early stopping; unet 30).",
    ),
    options.positive_int(
        "--batch-size",
        default=None,
        help="Networks: images (cnn, default 32) or slices (unet, default 16) per step.",
    ),
    click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default="auto",
        show_default=True,
        help="Networks: auto uses a CUDA GPU when there is one.",
    ),
    options.resume,
)
"""--epochs, --batch-size, --device and --resume."""


def _missing_dl() -> click.ClickException:
    return click.ClickException("the cnn model needs PyTorch and MONAI: pip install 'medscale[dl]'")


def train_cnn_command(
    manifest: str,
    *,
    target: str,
    group: str | None,
    out: str,
    seed: int,
    epochs: int | None,
    batch_size: int | None,
    device: str,
    resume: bool,
    as_json: bool,
    task: str | None = None,
) -> None:
    """Train, save and report a CNN (the body of `medscale train --model cnn`)."""
    import json

    if task == "regression":
        raise click.UsageError("--model cnn is a classifier; it does not do --task regression")

    try:
        from medscale.models.cnn import CnnConfig, train_cnn
    except ImportError as err:
        raise _missing_dl() from err
    from medscale.cli.metrics_output import card_record
    from medscale.models import format_metrics, read_table

    defaults = CnnConfig()
    config = CnnConfig(
        epochs=epochs or defaults.epochs,
        batch_size=batch_size or defaults.batch_size,
        seed=seed,
        device=device,
    )
    table = read_table(manifest)
    if sys.stderr.isatty() and not as_json:
        model = _train_with_bar(
            table, target=target, group=group, out=out, config=config, resume=resume
        )
    else:
        model = train_cnn(table, target=target, group=group, out=out, config=config, resume=resume)
    card = model.card
    if as_json:
        notes = {k: v for k, v in card.notes.items() if k != "history"}
        click.echo(json.dumps(card_record(out, card, cnn=card.settings["cnn"], notes=notes)))
        return
    notes = card.notes
    click.echo(
        f"cnn ({len(card.settings['cnn']['shape'])}-D, shape {card.settings['cnn']['shape']}), "
        f"{card.n_cases} cases: {notes['n_train']} train, {notes['n_validation']} validation "
        f"by {group or 'case'}; best epoch {notes['best_epoch']} of {notes['epochs_run']} run "
        f"on {notes['device']} ({notes['train_seconds_this_run']:.1f} s). Validation:"
    )
    click.echo(format_metrics(card.metrics))
    click.echo(f"model saved to {out}")


def _train_with_bar(table: Any, **kwargs: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from medscale.models.cnn import train_cnn

    with Progress(
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("batches", total=None, epoch="", losses="")
        losses = [""]

        def progress(
            epoch: int, epochs: int, batch: int, batches: int, info: dict[str, float]
        ) -> None:
            if info:
                losses[0] = f"loss {info['train']:.3f} / val {info['val']:.3f}"
            bar.update(
                task,
                completed=batch,
                total=batches,
                epoch=f"{epoch + 1}/{epochs}",
                losses=losses[0],
            )

        return train_cnn(table, progress=progress, **kwargs)


def is_cnn_model(folder: str) -> bool:
    """Whether `folder` is a CNN model folder (checked without importing torch)."""
    import json
    from pathlib import Path

    card = Path(folder) / "model.json"
    try:
        return json.loads(card.read_text(encoding="utf-8")).get("model") == "cnn"
    except (OSError, ValueError, AttributeError):
        return False


def predict_cnn_command(model: str, manifest: str, out: str) -> None:
    """Predict with a CNN model folder (the body of `medscale predict` for a CNN)."""
    try:
        from medscale.models.cnn import load_cnn, predict_cnn
    except ImportError as err:
        raise _missing_dl() from err
    from medscale.cli.tables import write_table
    from medscale.models import read_table

    predictions = predict_cnn(load_cnn(model), read_table(manifest))
    write_table(predictions, out)
    click.echo(f"{len(predictions)} predictions written to {out}", err=True)
