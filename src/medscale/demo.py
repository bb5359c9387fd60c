"""The built-in demonstration: the whole pipeline on a synthetic cohort, offline.

Steps: generate a small CT cohort with lesion ground truth → write it as DICOM series with
RTSTRUCT masks → scan the folder into a Parquet catalog → read every case back from DICOM →
extract IBSI radiomics features through the batch engine → write ``report.html`` with the cohort
table, image/mask thumbnails, the catalog summary and the features.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put its outputs, and how long each step took (seconds)."""

    out_dir: Path
    report: Path
    catalog: Path
    run_dir: Path | None
    timings: dict[str, float]


def run_demo(
    out_dir: str | Path,
    *,
    n_cases: int = 16,
    seed: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demonstration pipeline into `out_dir`; return where everything is."""
    from medscale.catalog import query, scan
    from medscale.datasets import generate_cohort, write_cohort
    from medscale.io import read_image, read_mask
    from medscale.report import HtmlReport, overlay_thumbnail

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: log.info("%s", message))
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    say(f"generating {n_cases} synthetic CT cases (seed {seed})")
    cases = list(generate_cohort(n_cases, kind="ct", seed=seed))
    manifest_path = write_cohort(cases, out_dir / "cohort", fmt="dicom")
    timings["generate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    say("scanning the DICOM folder into a catalog")
    catalog_path = out_dir / "catalog.parquet"
    scan(out_dir / "cohort", catalog_path)
    timings["scan"] = time.perf_counter() - clock

    clock = time.perf_counter()
    say("reading the cases back from DICOM + RTSTRUCT")
    manifest = pd.read_csv(manifest_path)
    thumbnails: list[tuple[str, str]] = []
    cohort_rows = []
    for row in manifest.itertuples():
        image = read_image(row.image)
        mask = read_mask(row.mask, reference=image)
        cohort_rows.append(
            {
                "case_id": row.case_id,
                "patient_id": row.patient_id,
                "site": row.site,
                "label": row.label,
                "grid (x×y×z)": "×".join(str(n) for n in reversed(image.shape)),
                "lesion volume (ml)": mask.voxel_count * mask.voxel_volume_mm3 / 1000,
                "lesion mean (HU)": float(np.mean(image.array[mask.array])),
            }
        )
        if len(thumbnails) < 8:
            thumbnails.append(
                (
                    overlay_thumbnail(image, mask, window=(-1000, 400)),
                    f"{row.case_id} (label {row.label})",
                )
            )
    timings["read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    run_dir, features = _extract_features(manifest_path, out_dir, workers=workers, say=say)
    timings["extract"] = time.perf_counter() - clock

    say("writing the report")
    report = HtmlReport("medscale demo: synthetic CT cohort")
    report.add_text(
        f"{n_cases} synthetic CT cases with ground-truth lesion masks, written as DICOM series "
        "with RTSTRUCT, indexed into a Parquet catalog, read back and measured.",
        note=True,
    )
    report.add_heading("Cohort")
    report.add_table(pd.DataFrame(cohort_rows))
    report.add_heading("Images and lesion masks (read back from DICOM + RTSTRUCT)")
    report.add_figures(thumbnails)
    report.add_heading("Catalog")
    report.add_table(
        query(
            catalog_path,
            "SELECT modality, manufacturer, manufacturer_model_name AS model, "
            "COUNT(DISTINCT study_instance_uid) AS studies, "
            "COUNT(DISTINCT series_instance_uid) AS series, COUNT(*) AS instances "
            "FROM instances GROUP BY ALL ORDER BY instances DESC",
        )
    )
    report.add_figure(_scanner_use_figure(catalog_path), "Studies per scanner and week")
    if features is not None:
        report.add_heading("Radiomics features (IBSI, selection)")
        shown = [
            c
            for c in features.columns
            if c.startswith(
                ("morph_volume", "morph_sphericity", "stat_mean", "stat_var", "cm_contrast_3D_avg")
            )
        ]
        report.add_table(features[["case_id", "label", *shown]])
    report.add_heading("Timings")
    report.add_table(pd.DataFrame({"step": list(timings), "seconds": list(timings.values())}))
    report_path = report.write(out_dir / "report.html")
    return DemoResult(out_dir, report_path, catalog_path, run_dir, timings)


def _scanner_use_figure(catalog_path: Path) -> object:
    """A bar chart of studies per scanner (station) and ISO week, from the catalog."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medscale.catalog import query

    weekly = query(
        catalog_path,
        "SELECT station_name AS scanner, strftime(acquisition_datetime, '%G-W%V') AS week, "
        "COUNT(DISTINCT study_instance_uid) AS studies FROM instances "
        "WHERE acquisition_datetime IS NOT NULL GROUP BY ALL ORDER BY week",
    )
    table = weekly.pivot_table(index="week", columns="scanner", values="studies", fill_value=0)
    figure, axes = plt.subplots(figsize=(7, 3))
    table.plot.bar(stacked=True, ax=axes, width=0.8)
    axes.set_xlabel("ISO week")
    axes.set_ylabel("studies")
    axes.legend(title="scanner", fontsize="small", frameon=False)
    figure.tight_layout()
    return figure


def _extract_features(
    manifest_path: Path, out_dir: Path, *, workers: int | None, say: Progress
) -> tuple[Path | None, pd.DataFrame | None]:
    """Features for every case through the batch engine; the run folder and its table."""
    from medscale.engine import RunSpec, read_features, run
    from medscale.engine.stages import StageSettings

    say("extracting radiomics features with the batch engine")
    run_dir = out_dir / "run"
    spec = RunSpec(
        str(manifest_path),
        str(run_dir),
        stage_settings=StageSettings(stages=("read", "extract"), features="default"),
        workers=workers,
        force=True,
    )
    summary = run(spec)
    if summary.cases_failed:
        log.warning("%d cases failed; see %s", summary.cases_failed, run_dir / "failures.parquet")
    return run_dir, read_features(run_dir)
