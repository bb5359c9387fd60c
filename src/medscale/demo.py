"""The built-in demonstration: the whole pipeline on a synthetic cohort, offline.

Steps, each timed, all writing into one run folder (the layout `medscale report RUN_DIR` reads,
``RUNDIR.md``)::

    OUT/cohort/                synthetic CT cases as DICOM series + RTSTRUCT, cohort/manifest.csv
    OUT/manifest.csv           the case manifest (a copy of cohort/manifest.csv)
    OUT/catalog.parquet        `medscale scan` of OUT/cohort
    OUT/deid/                  `medscale deid` of OUT/cohort with a fresh key (never written),
                               then `deid verify` (the demo fails if anything remains)
    OUT/run/                   features through the batch engine (features.parquet, summary.json)
    OUT/model/                 a classical model (`medscale train`, patient-grouped CV) and
                               model/cv_predictions.parquet, its out-of-fold predictions
    OUT/worklist.csv           `medscale triage model/cv_predictions.parquet --out worklist.csv`
    OUT/triage.json            what `medscale triage --json` prints for it
    OUT/utilisation.json       what `medscale catalog utilisation --json` prints
    OUT/report.html            the HTML report

The features are measured on the original cohort; the de-identified copy is what would be
shared. The synthetic lesions' shape and texture carry the label (`medscale.datasets.lesion`),
so the model has something to learn.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from medscale.errors import InputError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: The demo's model, its folds and the triage settings.
MODEL = "logistic"
N_FOLDS = 5
SENSITIVITY = 0.95


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put its outputs, how long each step took (seconds) and its headline figures.

    ``auc`` is the cross-validated ROC AUC ``{"value", "ci_low", "ci_high"}``; ``workload`` the
    triage workload point at `SENSITIVITY` (`medscale.triage.WorkloadPoint.as_dict`);
    ``cnn_auc`` the small CNN's validation AUC (None without the ``dl`` extra).
    """

    out_dir: Path
    report: Path
    catalog: Path
    run_dir: Path | None
    timings: dict[str, float]
    model_dir: Path | None = None
    auc: dict[str, float] | None = None
    workload: dict[str, Any] | None = None
    cnn_auc: dict[str, float] | None = None
    deid_findings: int = 0


def run_demo(
    out_dir: str | Path,
    *,
    n_cases: int = 60,
    seed: int = 0,
    workers: int | None = None,
    shape: tuple[int, int, int] | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demonstration pipeline into `out_dir`; return where everything is.

    `shape` is the CT grid (z, y, x) of every case (default: `generate_ct_case`'s); `workers`
    the engine's and de-identification's worker processes.

    Raises
    ------
    InputError
        The de-identified copy still holds an identifier (`medscale.deid.verify_tree`).
    """
    from medscale.catalog import scan
    from medscale.catalog.utilisation import utilisation
    from medscale.datasets import generate_cohort, write_cohort

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: log.info("%s", message))
    timings: dict[str, float] = {}

    def step(name: str) -> Callable[[], None]:
        started = time.perf_counter()
        return lambda: timings.__setitem__(name, time.perf_counter() - started)

    done = step("generate")
    say(f"generating {n_cases} synthetic CT cases (seed {seed})")
    grid = {} if shape is None else {"shape": shape}
    cases = list(generate_cohort(n_cases, kind="ct", seed=seed, **grid))
    manifest_path = write_cohort(cases, out_dir / "cohort", fmt="dicom")
    shutil.copyfile(manifest_path, out_dir / "manifest.csv")
    done()

    done = step("scan")
    say("scanning the DICOM folder into a catalog")
    catalog_path = out_dir / "catalog.parquet"
    scan(out_dir / "cohort", catalog_path)
    done()

    done = step("deid")
    findings = _deidentify(
        out_dir / "cohort", out_dir / "deid", _phi_values(cases), workers=workers or 1, say=say
    )
    done()

    done = step("extract")
    run_dir, features = _extract_features(manifest_path, out_dir, workers=workers, say=say)
    done()

    done = step("train")
    say(f"training a {MODEL} model ({N_FOLDS}-fold CV by patient)")
    model_dir, auc = _train(features, out_dir / "model", seed=seed)
    done()

    done = step("cnn")
    cnn_auc = _train_cnn(manifest_path, out_dir, seed=seed, say=say)
    done()

    done = step("triage")
    say(f"triage at sensitivity {SENSITIVITY:g}")
    summary = _triage(model_dir / "cv_predictions.parquet", out_dir, seed=seed)
    done()

    done = step("utilisation")
    say("scanner utilisation from the catalog")
    (out_dir / "utilisation.json").write_text(json.dumps(utilisation(catalog_path)) + "\n")
    done()

    done = step("report")
    say("writing the report")
    report_path = write_report(out_dir, timings=timings)
    done()
    return DemoResult(
        out_dir,
        report_path,
        catalog_path,
        run_dir,
        timings,
        model_dir=model_dir,
        auc=auc,
        workload=summary["workload"],
        deid_findings=findings,
        cnn_auc=cnn_auc,
    )


def _phi_values(cases: Iterable[Any]) -> list[str]:
    """The identifying header values of the cohort: what `deid verify` must not find."""
    values: set[str] = set()
    for case in cases:
        header = case.header
        for key in ("PatientName", "PatientID", "InstitutionName", "PatientBirthDate"):
            value = str(header.get(key, "") or "")
            values.add(value)
            if key == "PatientName":
                values.update(value.split("^"))
    return sorted(value for value in values if value)


def _deidentify(cohort: Path, target: Path, phi: list[str], *, workers: int, say: Progress) -> int:
    """De-identify `cohort` into `target` with a fresh in-memory key and verify it (0 findings)."""
    from medscale.deid import MIN_KEY_BYTES, deidentify_tree, verify_tree

    say("de-identifying the DICOM folder (fresh key) and verifying the copy")
    if target.exists():
        shutil.rmtree(target)
    key = secrets.token_bytes(MIN_KEY_BYTES)  # a demo: the key is never written, so forgotten
    deidentify_tree(cohort, target, key=key, workers=workers)
    findings = verify_tree(target, phi_values=phi)
    if findings:
        first = findings[0]
        raise InputError(
            f"{target}: {len(findings)} residual identifier(s) after de-identification "
            f"(first: {first.file} {first.tag} {first.kind})"
        )
    return len(findings)


def _extract_features(
    manifest_path: Path, out_dir: Path, *, workers: int | None, say: Progress
) -> tuple[Path, pd.DataFrame]:
    """Features for every case through the batch engine; the run folder and its table."""
    from medscale.engine import RunSpec, read_features, run
    from medscale.engine.stages import StageSettings

    say("extracting radiomics features with the batch engine")
    run_dir = out_dir / "run"
    spec = RunSpec(
        str(manifest_path),
        str(run_dir),
        stage_settings=StageSettings(stages=("read", "extract"), config="default"),
        workers=workers,
        force=True,
    )
    summary = run(spec)
    if summary.cases_failed:
        log.warning("%d cases failed; see %s", summary.cases_failed, run_dir / "failures.parquet")
    return run_dir, read_features(run_dir)


def _train(features: pd.DataFrame, model_dir: Path, *, seed: int) -> tuple[Path, dict[str, float]]:
    """Train and save the model (with its out-of-fold predictions); return the folder and AUC.

    `medscale.models.save_model` writes ``cv_predictions.parquet``: each case predicted by the
    cross-validation model that never saw its patient.
    """
    from medscale.models import save_model, train

    model = train(
        features,
        target="label",
        model=MODEL,
        group="patient_id",
        site="site",
        n_splits=N_FOLDS,
        seed=seed,
    )
    save_model(model, model_dir)
    return model_dir, dict(model.card.metrics["auc"])


#: The demo's CNN: small enough to train in seconds on 2 CPU cores (16-voxel cubes around
#: the lesion, narrow stages, few epochs). It shows the image path beside the radiomics one.
DEMO_CNN_SHAPE, DEMO_CNN_WIDTHS, DEMO_CNN_EPOCHS = (16, 16, 16), (8, 16, 32, 64), 8


def _train_cnn(
    manifest_path: Path, out_dir: Path, *, seed: int, say: Progress
) -> dict[str, float] | None:
    """Train the small CNN on the cohort's images (``OUT/cnn``); its validation predictions
    go to ``OUT/cnn_predictions.parquet``. Skipped, with a message, without PyTorch + MONAI."""
    try:
        from medscale.models.cnn import CnnConfig, train_cnn
    except ImportError:
        say("no PyTorch / MONAI (the 'dl' extra): the CNN is skipped")
        return None
    from medscale.models import read_table

    say(f"training a small CNN on the images ({DEMO_CNN_EPOCHS} epochs at most)")
    config = CnnConfig(
        shape=DEMO_CNN_SHAPE,
        block_inplanes=DEMO_CNN_WIDTHS,
        epochs=DEMO_CNN_EPOCHS,
        batch_size=8,
        seed=seed,
        device="cpu",
    )
    model = train_cnn(
        read_table(manifest_path), target="label", group="patient_id", out=out_dir / "cnn",
        config=config,
    )  # fmt: skip
    shutil.copyfile(out_dir / "cnn" / "cv_predictions.parquet", out_dir / "cnn_predictions.parquet")
    auc = model.card.metrics.get("auc")
    return dict(auc) if auc else None


def _triage(predictions_path: Path, out_dir: Path, *, seed: int) -> dict[str, Any]:
    """`medscale triage PREDICTIONS --out worklist.csv --json` into OUT (worklist, triage.json)."""
    from medscale.triage import rank_worklist, read_predictions, triage_summary

    frame = read_predictions(predictions_path)
    summary = triage_summary(
        frame, source=str(predictions_path), sensitivity=SENSITIVITY, seed=seed
    )
    threshold = summary["workload"]["threshold"] if summary["workload"] else None
    worklist = out_dir / "worklist.csv"
    rank_worklist(frame, threshold=threshold).to_csv(worklist, index=False)
    summary["worklist"] = str(worklist)
    (out_dir / "triage.json").write_text(json.dumps(summary) + "\n")
    return summary


def write_report(run_dir: str | Path, *, timings: dict[str, float] | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` with `medscale.report` (the same as ``medscale report``).

    Reads only what lies in `run_dir` (the run-folder layout `medscale.report` documents), plus
    the demo's step timings.
    """
    from medscale.report import build_report

    run_dir = Path(run_dir)
    return build_report(
        run_dir,
        run_dir / "report.html",
        title="medscale demo: synthetic CT cohort",
        timings=timings,
    )
