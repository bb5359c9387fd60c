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
@click.option("--target", default=None, help="The column to learn (not for segmentation).")
@click.option("--group", default=None, help="Patient column: one patient never straddles a split.")
@click.option(
    "--site",
    default=None,
    help="Site column (excluded from the features): ComBat-harmonise the features by it, "
    "fitted on each fold's training cases only.",
)
@click.option(
    "--site-covariates",
    default="",
    metavar="COLS",
    help="Numeric columns whose effect ComBat keeps (comma-separated; not features).",
)
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
    type=click.Choice(["classification", "regression", "segmentation"]),
    default=None,
    help="Default: from the target (integers / strings: classes; floats: regression). "
    "segmentation: --model unet on a manifest's image + mask columns.",
)
@click.option("--features", "features_glob", default=None, help="Only features matching GLOB.")
@options.file_option(
    "--robust",
    "robust_table",
    exists=True,
    metavar="ICC.csv",
    help="Leave out the features this `medscale robustness` table marks not robust.",
)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2))
@options.seed()
@click.option(
    "--test",
    "test_table",
    default=None,
    type=click.Path(exists=True),
    help="A held-out test TABLE, scored once (no patient may be in both).",
)
@click.option(
    "--test-split",
    default=None,
    metavar="COL",
    help="Hold out the rows whose COL is 'test' (or 1 / true) as the test set.",
)
@click.option(
    "--select",
    "selection",
    default="",
    metavar="STEPS",
    help="Feature selection inside each fold (comma-separated): correlation, "
    "mrmr[:k=N] (default k=20), lasso.",
)
@options.json_output
@training_options
def command(
    table: str,
    target: str,
    group: str | None,
    site: str | None,
    site_covariates: str,
    model_name: str,
    out: str,
    task: str | None,
    features_glob: str | None,
    robust_table: str | None,
    folds: int,
    seed: int,
    test_table: str | None,
    test_split: str | None,
    selection: str,
    as_json: bool,
    **dl: Any,
) -> None:
    """Cross-validate a model by patient (metrics with 95 % CIs), fit it on all cases, save it."""
    import json

    if site and (model_name in ("cnn", "unet") or task == "segmentation"):
        raise click.UsageError(
            "--site (ComBat harmonisation) is for feature models, not cnn / unet"
        )
    if model_name == "cnn":
        from medscale.cli.dl_train import train_cnn_command

        train_cnn_command(
            table, target=target, group=group, out=out, seed=seed, as_json=as_json, task=task, **dl
        )
        return

    from medscale.cli.metrics_output import card_record
    from medscale.models import format_metrics, read_table, save_model, split_test, train

    if task == "segmentation" or model_name == "unet":
        _train_unet(table, model_name, task, out, seed, as_json, **dl)
        return
    if target is None:
        raise click.UsageError("--target is required (except for --task segmentation)")
    if test_table and test_split:
        raise click.UsageError("give --test or --test-split, not both")
    data = read_table(table)
    test = read_table(test_table) if test_table else None
    if test_split:
        data, test = split_test(data, test_split)
    if robust_table:
        from medscale.models.robustness import drop_unrobust

        data, dropped = drop_unrobust(data, robust_table)
        test = None if test is None else drop_unrobust(test, robust_table)[0]
        click.echo(f"--robust: left out {len(dropped)} features not robust", err=True)
    model = train(
        data,
        target=target,
        model=model_name,
        group=group,
        site=site,
        task=task,
        features=features_glob,
        n_splits=folds,
        seed=seed,
        test=test,
        selection=[step.strip() for step in selection.split(",") if step.strip()],
        site_covariates=[c.strip() for c in site_covariates.split(",") if c.strip()],
    )
    save_model(model, out)
    card = model.card
    if as_json:
        extra = {"auto": card.notes.get("auto"), "test_metrics": card.notes.get("test_metrics")}
        click.echo(json.dumps(card_record(out, card, features=card.features, **extra)))
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
    if "test_metrics" in card.notes:
        click.echo(f"held-out test set, {card.notes['n_test_cases']} cases (scored once):")
        click.echo(format_metrics(card.notes["test_metrics"]))
    click.echo(f"model saved to {out} (with cv_predictions.parquet)")


def _train_unet(
    manifest: str,
    model_name: str,
    task: str | None,
    out: str,
    seed: int,
    as_json: bool,
    *,
    epochs: int | None,
    batch_size: int | None,
    device: str,
    resume: bool,
) -> None:
    import json

    from medscale.cli.train_unet import train_from_manifest

    if model_name != "unet" or task != "segmentation":
        raise click.UsageError("segmentation is --task segmentation --model unet")

    def progress(done: int, total: int, loss: float, seconds: float) -> None:
        click.echo(f"unet epoch {done}/{total}: loss {loss:.4f} ({seconds:.0f} s)", err=True)

    sizes = {"epochs": epochs} if epochs else {}
    if batch_size:
        sizes["batch_size"] = batch_size
    model = train_from_manifest(
        manifest, out, device=device, resume=resume, seed=seed, on_epoch=progress, **sizes
    )
    record = model.record
    if as_json:
        click.echo(json.dumps({"model": out, "task": "segmentation", "training": record}))
        return
    click.echo(
        f"unet trained on {record['cases']} cases ({record['slices']} slices), "
        f"{record['epochs']} epochs on {record['device']}; model saved to {out}"
    )
