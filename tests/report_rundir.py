"""A small RUN_DIR as `medscale report` reads it, built from real steps (no made-up numbers).

Synthetic CT cohort (medscale.datasets) as DICOM + RTSTRUCT -> catalog scan -> batch engine
(morphology, statistics, GLCM) -> a logistic model trained by patient-grouped CV
(medscale.models.train) -> its predictions -> `medscale triage --json`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

N_CASES = 24
SHAPE = (12, 48, 48)


def build_run_dir(root: Path) -> Path:
    from click.testing import CliRunner

    from medscale.catalog import scan
    from medscale.cli.main import cli
    from medscale.datasets import generate_cohort, write_cohort
    from medscale.engine import RunSpec, read_features, run
    from medscale.engine.stages import StageSettings
    from medscale.models import predict, save_model, train

    root.mkdir(parents=True, exist_ok=True)
    manifest = write_cohort(
        generate_cohort(N_CASES, seed=1, shape=SHAPE), root / "cohort", fmt="dicom"
    )
    shutil.copy(manifest, root / "manifest.csv")
    scan(root / "cohort", root / "catalog.parquet")
    settings = StageSettings(
        stages=("read", "extract"),
        config={"families": ["morphology", "statistics", "glcm"]},
    )
    run(
        RunSpec(
            str(manifest), str(root / "run"), stage_settings=settings, in_process=True, force=True
        )
    )
    features = read_features(root / "run")
    table = features.drop(columns=["image", "mask", "modality"])
    saved = train(
        table,
        target="label",
        model="logistic",
        group="patient_id",
        site="site",
        features="stat_*",
        n_splits=3,
        n_boot=50,
    )
    save_model(saved, root / "model")
    predict(saved, table).to_parquet(root / "predictions.parquet")
    result = CliRunner().invoke(
        cli,
        [
            "triage",
            str(root / "predictions.parquet"),
            "--sensitivity",
            "0.9",
            "--out",
            str(root / "worklist.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    (root / "triage.json").write_text(result.stdout.strip().splitlines()[-1] + "\n")
    return root
