"""`medscale train TABLE --target COL --model NAME --out MODEL`: fit and cross-validate a model."""

from __future__ import annotations

from typing import Any

import click

from medscale.cli import options
from medscale.cli.dl_train import training_options


@click.command(
    epilog="Example: medscale train features.csv --target label --group patient_id "
    "--model logistic --out model/"
)
@click.argument("table", type=click.Path(exists=True, dir_okay=True))
@click.option("--target", required=True, help="The column to learn.")
@click.option("--group", default=None, help="Patient column: one patient never straddles a split.")
@click.option("--site", default=None, help="Site column (excluded from the features).")
@click.option(
    "--model",
    "model_name",
    required=True,
    help="logistic, svm, tree, random_forest, gradient_boosting, mlp (classes); "
    "polynomial, svr, random_forest, gradient_boosting, mlp (regression); "
    "auto (chosen by nested, inner cross-validation); "
    "cnn (a MONAI ResNet on the images of a manifest TABLE).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model folder.")
@click.option(
    "--task",
    type=click.Choice(["classification", "regression"]),
    default=None,
    help="Default: from the target (integers / strings: classes; floats: regression).",
)
@click.option("--features", "features_glob", default=None, help="Only features matching GLOB.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2))
@click.option("--seed", default=0, show_default=True, type=int)
@options.json_output
@training_options
def command(
    table: str,
    target: str,
    group: str | None,
    site: str | None,
    model_name: str,
    out: str,
    task: str | None,
    features_glob: str | None,
    folds: int,
    seed: int,
    as_json: bool,
    **dl: Any,
) -> None:
    """Cross-validate a model by patient (metrics with 95 % CIs), fit it on all cases, save it."""
    import json

    if model_name == "cnn":
        from medscale.cli.dl_train import train_cnn_command

        train_cnn_command(
            table, target=target, group=group, out=out, seed=seed, as_json=as_json, task=task, **dl
        )
        return

    from medscale.cli.metrics_output import json_safe
    from medscale.models import format_metrics, read_table, save_model, train

    model = train(
        read_table(table),
        target=target,
        model=model_name,
        group=group,
        site=site,
        task=task,
        features=features_glob,
        n_splits=folds,
        seed=seed,
    )
    save_model(model, out)
    card = model.card
    if as_json:
        click.echo(
            json.dumps(
                json_safe(
                    {
                        "model": out,
                        "task": card.task,
                        "features": card.features,
                        "classes": card.classes,
                        "metrics": card.metrics,
                        "auto": card.notes.get("auto"),
                    }
                )
            )
        )
        return
    click.echo(f"{len(card.features)} features: {', '.join(card.features)}")
    click.echo(
        f"{card.task}, {card.model}, {card.n_cases} cases, "
        f"{folds}-fold CV by {group or 'case'} (seed {seed}):"
    )
    click.echo(format_metrics(card.metrics))
    if "auto" in card.notes:
        auto = card.notes["auto"]
        ranked = sorted(auto["inner_cv_scores"].items(), key=lambda item: -item[1])
        click.echo(
            f"auto chose {auto['winner']} (inner-CV {auto['metric']}: "
            + ", ".join(f"{name} {score:.3f}" for name, score in ranked)
            + f"; outer folds chose {', '.join(auto['outer_fold_winners'])})"
        )
    click.echo(f"model saved to {out}")
