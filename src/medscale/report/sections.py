"""`medscale report RUN_DIR`: one self-contained HTML file from the outputs of a run.

Sections, in order (their anchors in brackets): cohort [cohort], catalog [catalog], utilisation
[utilisation], example images with masks [images], feature distributions by class [features],
model performance [performance], triage [triage], failures [failures]. A section whose input
is missing, or unreadable, says what is missing and how to make it; it never fails the report.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medscale.errors import InputError, MedscaleError
from medscale.report import plots
from medscale.report.html import HtmlReport
from medscale.report.rundir import RunInputs, read_json, read_table

log = logging.getLogger(__name__)

#: (anchor, heading) of every section, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("cohort", "Cohort"),
    ("catalog", "Catalog"),
    ("utilisation", "Scanner utilisation"),
    ("images", "Example images with masks"),
    ("features", "Feature distributions by class"),
    ("performance", "Model performance"),
    ("triage", "Worklist triage"),
    ("failures", "Failures"),
)

#: Key features shown by class: the first column starting with each prefix.
KEY_FEATURES = ("morph_volume", "morph_sphericity", "stat_mean", "stat_var", "cm_contrast")
N_EXAMPLES = 4
N_BOOT = 500

_STUDY_TIMES_SQL = """
SELECT isodow(t) AS day, hour(t) AS hour, count(*) AS studies
FROM (SELECT study_instance_uid,
             min(coalesce(acquisition_datetime, acquisition_date + acquisition_time)) AS t
      FROM instances GROUP BY study_instance_uid)
WHERE t IS NOT NULL GROUP BY ALL
"""

_CATALOG_SQL = """
SELECT modality, manufacturer, manufacturer_model_name AS model,
       count(DISTINCT study_instance_uid) AS studies,
       count(DISTINCT series_instance_uid) AS series, count(*) AS instances
FROM instances GROUP BY ALL ORDER BY instances DESC
"""

_TOTALS_SQL = """
SELECT count(DISTINCT patient_id) AS patients, count(DISTINCT study_instance_uid) AS studies,
       count(DISTINCT series_instance_uid) AS series, count(*) AS instances
FROM instances
"""


class Missing(Exception):
    """A section's input is absent or unusable; the message says what and how to make it."""


def build_report(
    run_dir: str | Path,
    out: str | Path,
    *,
    title: str | None = None,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write the HTML report of `run_dir` to `out`; return its path.

    `timings` (step name to seconds), when given, is shown as a last section.

    Raises
    ------
    InputError
        `run_dir` is not a folder. Missing or unreadable inputs never raise: their section
        says what is missing.
    """
    inputs = RunInputs.find(run_dir)
    report = HtmlReport(title or f"medscale report: {inputs.root.resolve().name}")
    context = _Context(inputs)
    builders: dict[str, Callable[[_Context, HtmlReport], None]] = {
        "cohort": _cohort,
        "catalog": _catalog,
        "utilisation": _utilisation,
        "images": _images,
        "features": _features,
        "performance": _performance,
        "triage": _triage,
        "failures": _failures,
    }
    for anchor, heading in SECTIONS:
        report.add_heading(heading, anchor=anchor)
        try:
            builders[anchor](context, report)
        except Missing as missing:
            report.add_missing(str(missing))
        except Exception as err:  # noqa: BLE001 - one bad input must not cost the whole report
            log.warning("report section %s: %s", anchor, err, exc_info=log.isEnabledFor(10))
            kind = "" if isinstance(err, MedscaleError) else f"{type(err).__name__}: "
            report.add_missing(f"this section could not be built: {kind}{err}")
    if timings:
        report.add_heading("Timings", anchor="timings")
        report.add_table(
            pd.DataFrame(
                {"step": list(timings), "seconds": [round(t, 2) for t in timings.values()]}
            )
        )
    return report.write(out)


class _Context:
    """The inputs, with the tables read once and shared by the sections."""

    def __init__(self, inputs: RunInputs) -> None:
        self.inputs = inputs
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _table(
        self, key: str, path: Path | None, read: Callable[[Path], pd.DataFrame], missing: str
    ) -> pd.DataFrame:
        """`read(path)`, once; `Missing` saying `missing` (what makes it) when there is no path."""
        if path is None:
            raise Missing(missing)
        return self._once(key, lambda: read(path))

    def manifest(self) -> pd.DataFrame:
        return self._table(
            "manifest",
            self.inputs.manifest,
            pd.read_csv,
            f"no manifest.csv in {self.inputs.root}: write the case manifest "
            "(case_id, image, mask, label, patient_id, site) there",
        )

    def catalog(self) -> Path:
        if self.inputs.catalog is None:
            raise Missing(
                f"no catalog.parquet in {self.inputs.root}: make it with "
                f"`medscale scan DICOM_FOLDER --catalog {self.inputs.root / 'catalog.parquet'}`"
            )
        return self.inputs.catalog

    def features(self) -> pd.DataFrame:
        run = self.inputs.run
        if run is None or not (run / "features.parquet").exists():
            raise Missing(
                f"no run/features.parquet in {self.inputs.root}: run the batch engine "
                f"(`medscale run RUN.yaml` or `medscale extract --manifest ... --out "
                f"{self.inputs.root / 'run'}`)"
            )

        def read() -> pd.DataFrame:
            from medscale.engine import read_features

            table = read_features(run)
            if len(table) == 0 and (run / "features.parquet").is_file():
                table = pd.read_parquet(run / "features.parquet")
            return table

        return self._once("features", read)

    def model_card(self) -> dict[str, Any] | None:
        model = self.inputs.model
        if model is None or not (model / "model.json").is_file():
            return None
        return self._once("card", lambda: read_json(model / "model.json"))

    def predictions(self) -> pd.DataFrame:
        return self._table(
            "predictions",
            self.inputs.predictions,
            read_table,
            f"no predictions in {self.inputs.root}: neither model/cv_predictions.parquet "
            "(`medscale train`) nor predictions.parquet|csv (`medscale predict MODEL TABLE "
            "--out predictions.parquet`)",
        )


def _cohort(context: _Context, report: HtmlReport) -> None:
    manifest = context.manifest()
    n_patients = manifest["patient_id"].nunique() if "patient_id" in manifest else None
    report.add_text(
        f"{len(manifest)} cases"
        + (f" from {n_patients} patients" if n_patients is not None else "")
        + f" ({context.inputs.manifest})."
    )
    group = [c for c in ("site", "modality", "label") if c in manifest]
    if group:
        counts = manifest.groupby(group, dropna=False).size().reset_index(name="cases")
        report.add_table(counts)


def _catalog(context: _Context, report: HtmlReport) -> None:
    from medscale.catalog import query

    catalog = context.catalog()
    totals = query(catalog, _TOTALS_SQL).iloc[0]
    report.add_text(
        f"{int(totals['patients'])} patients, {int(totals['studies'])} studies, "
        f"{int(totals['series'])} series, {int(totals['instances'])} instances ({catalog})."
    )
    report.add_table(query(catalog, _CATALOG_SQL))


def _utilisation(context: _Context, report: HtmlReport) -> None:
    from medscale.catalog import query
    from medscale.catalog.utilisation import utilisation

    if context.inputs.catalog is not None:
        try:
            figures = utilisation(context.inputs.catalog)
        except InputError as err:  # e.g. no acquisition times at all
            raise Missing(str(err)) from err
        source = f"computed from {context.inputs.catalog} with DuckDB"
    elif context.inputs.utilisation is not None:
        figures = read_json(context.inputs.utilisation)
        source = f"read from {context.inputs.utilisation}"
    else:
        context.catalog()  # raises Missing, naming the command
        return
    scanners = pd.DataFrame(figures.get("scanners", []))
    modalities = pd.DataFrame(figures.get("by_modality", []))
    report.add_text(f"Scanner utilisation, {source}.")
    shown: list[tuple[str, str]] = []
    if len(modalities):
        figure = plots.bar_figure(
            modalities["modality"].tolist(),
            modalities["studies"].tolist(),
            xlabel="modality",
            ylabel="studies",
        )
        shown.append((_png(figure), "Studies per modality"))
    if len(scanners):
        names = _scanner_names(scanners)
        shown.append(
            (
                _png(
                    plots.bar_figure(
                        names, scanners["studies"].tolist(), xlabel="scanner", ylabel="studies"
                    )
                ),
                "Studies per scanner",
            )
        )
        shown.append(
            (
                _png(
                    plots.bar_figure(
                        names,
                        scanners["busy_minutes"].tolist(),
                        xlabel="scanner",
                        ylabel="busy minutes",
                    )
                ),
                "Busy minutes per scanner (union of study intervals)",
            )
        )
    report.add_figures(shown)
    if len(scanners) and not (scanners["busy_minutes"] > 0).any():
        report.add_text(
            "Every scanner's busy time is 0 min: within each study all instances carry the same "
            "acquisition time, so the study intervals have no length."
        )
    if context.inputs.catalog is not None:
        times = query(context.inputs.catalog, _STUDY_TIMES_SQL)
        if len(times):
            grid = (
                times.pivot_table(index="day", columns="hour", values="studies", aggfunc="sum")
                .reindex(index=range(1, 8), columns=range(24))
                .fillna(0)
            )
            grid.index = pd.Index(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
            report.add_figure(
                plots.heatmap_figure(grid, xlabel="hour of day", ylabel="day", title="studies"),
                "Studies by day of week and hour (first acquisition time of each study)",
            )
        else:
            report.add_missing("no study has an acquisition time: no day × hour heatmap")
    if len(scanners):
        columns = [
            c
            for c in (
                "station_name",
                "manufacturer",
                "manufacturer_model_name",
                "device_serial_number",
                "studies",
                "studies_without_times",
                "busy_minutes",
                "busy_periods",
                "idle_minutes",
                "median_gap_minutes",
                "max_gap_minutes",
                "n_gaps",
            )
            if c in scanners
        ]
        report.add_table(scanners[columns], float_format="{:.1f}")
    repeats = figures.get("repeats")
    if isinstance(repeats, dict) and "n_repeats" in repeats:
        report.add_text(
            f"{repeats['n_repeats']} repeat examinations of the same patient within "
            f"{repeats.get('within_days', '?')} days."
        )
        if repeats.get("by_modality"):
            report.add_table(pd.DataFrame(repeats["by_modality"]), float_format="{:.1f}")


def _scanner_names(scanners: pd.DataFrame) -> list[str]:
    names = []
    for row in scanners.to_dict("records"):
        parts = [row.get(key) for key in ("station_name", "manufacturer_model_name")]
        known = [str(p) for p in parts if isinstance(p, str) and p]
        if not known and isinstance(row.get("manufacturer"), str):
            known = [str(row["manufacturer"])]
        names.append(" ".join(known) or "unknown")
    return names


def _images(context: _Context, report: HtmlReport) -> None:
    from medscale.io import read_image, read_mask
    from medscale.report.thumbnails import overlay_thumbnail

    manifest = context.manifest()
    if not {"image", "mask"} <= set(manifest.columns):
        raise Missing(f"{context.inputs.manifest} has no image and mask columns")
    thumbnails: list[tuple[str, str]] = []
    problems: list[str] = []
    for row in manifest.head(N_EXAMPLES).to_dict("records"):
        try:
            image = read_image(row["image"])
            mask = read_mask(row["mask"], reference=image)
        except (MedscaleError, OSError) as err:
            problems.append(f"{row.get('case_id', row['image'])}: {err}")
            continue
        window = (-1000.0, 400.0) if str(row.get("modality", "")).upper() == "CT" else None
        caption = f"{row.get('case_id', '')} (label {row.get('label', '?')})"
        thumbnails.append((overlay_thumbnail(image, mask, window=window), caption))
    if thumbnails:
        report.add_figures(thumbnails)
    for problem in problems:
        report.add_missing(f"image not shown: {problem}")


def _features(context: _Context, report: HtmlReport) -> None:
    features = context.features()
    if len(features) == 0:
        raise Missing(f"{context.inputs.run}/features.parquet has no rows")
    if "label" not in features:
        try:
            manifest = context.manifest()
        except Missing:
            manifest = pd.DataFrame()
        if {"case_id", "label"} <= set(manifest.columns):
            features = features.merge(manifest[["case_id", "label"]], on="case_id", how="left")
    if "label" not in features or features["label"].isna().all():
        raise Missing("the feature table has no label column (nor does manifest.csv)")
    columns = [
        next(c for c in features.columns if c.startswith(prefix))
        for prefix in KEY_FEATURES
        if any(c.startswith(prefix) for c in features.columns)
    ]
    columns = [c for c in columns if pd.api.types.is_numeric_dtype(features[c])]
    if not columns:
        raise Missing(f"none of the key features ({', '.join(KEY_FEATURES)}) was extracted")
    report.add_text(f"{len(features)} cases; key features by label (box: quartiles; dots: cases).")
    report.add_figure(plots.box_by_class_figure(features, columns, by="label"), "")
    summary = features.groupby("label")[columns].agg(["mean", "std"])
    summary.columns = [f"{name} {stat}" for name, stat in summary.columns]
    report.add_table(summary.reset_index())


def _binary(predictions: pd.DataFrame, card: dict[str, Any] | None) -> np.ndarray | None:
    """Labels as 0/1 (positive = second class), or None when the task is not binary."""
    classes = (card or {}).get("classes") or sorted(
        predictions["label"].dropna().unique().tolist(), key=str
    )
    if len(classes) != 2:
        return None
    positive = classes[1]
    labels = predictions["label"]
    if labels.dtype.kind in "iufb" and not isinstance(positive, str):
        return (labels.to_numpy() == positive).astype(int)
    return (labels.astype(str).to_numpy() == str(positive)).astype(int)


def _performance(context: _Context, report: HtmlReport) -> None:
    predictions = context.predictions()
    source = context.inputs.predictions
    if "label" not in predictions or predictions["label"].isna().all():
        raise Missing(f"{source} has no label column: performance needs the true labels")
    predictions = predictions.dropna(subset=["label"])
    card = context.model_card()
    if card is not None:
        report.add_text(
            f"Model {card.get('model')} ({card.get('task')}, target {card.get('target')}, "
            f"{card.get('n_cases')} cases, {len(card.get('features', []))} features)."
        )
    how = ""
    if source is not None and source.name.startswith("cv_"):
        group = ((card or {}).get("settings") or {}).get("group")
        how = " (out-of-fold" + (f", CV grouped by {group}" if group else "") + ")"
    report.add_text(f"{len(predictions)} predictions from {source}{how}.")
    if "probability" in predictions:
        y = _binary(predictions, card)
        if y is None:
            raise Missing(f"{source}: 'probability' given but the labels are not two classes")
        _binary_performance(context, report, y, predictions)
    elif any(c.startswith("probability_") for c in predictions.columns):
        report.add_text("Multi-class predictions: ROC and calibration are shown for binary tasks.")
        _confusion(report, predictions)
    elif "prediction" in predictions and pd.api.types.is_numeric_dtype(predictions["prediction"]):
        truth = predictions["label"].to_numpy(dtype=float)
        predicted = predictions["prediction"].to_numpy(dtype=float)
        mae = float(np.mean(np.abs(truth - predicted)))
        r2 = 1 - float(np.sum((truth - predicted) ** 2)) / float(
            np.sum((truth - truth.mean()) ** 2)
        )
        report.add_text(f"Regression: MAE {mae:.4g}, R² {r2:.3f}.")
        report.add_figure(plots.predicted_vs_true_figure(truth, predicted), "Predicted vs true")
    else:
        raise Missing(f"{source} has neither 'probability' nor a numeric 'prediction' column")
    _importance(context, report)


def _binary_performance(
    context: _Context, report: HtmlReport, y: np.ndarray, predictions: pd.DataFrame
) -> None:
    probability = predictions["probability"].to_numpy(dtype=float)
    curves = {"model": plots.roc_with_ci(y, probability, n_boot=N_BOOT)}
    if context.inputs.cnn_predictions is not None:
        cnn = read_table(context.inputs.cnn_predictions)
        if {"label", "probability"} <= set(cnn.columns):
            cnn = cnn.dropna(subset=["label"])
            y_cnn = _binary(cnn, None)
            if y_cnn is not None:
                curves["CNN"] = plots.roc_with_ci(
                    y_cnn, cnn["probability"].to_numpy(dtype=float), n_boot=N_BOOT
                )
    rows = [
        {
            "model": name,
            "AUC": curve.auc,
            "95 % CI low": curve.auc_low,
            "95 % CI high": curve.auc_high,
            "bootstrap samples": curve.n_boot,
        }
        for name, curve in curves.items()
    ]
    report.add_table(pd.DataFrame(rows), float_format="{:.3f}")
    shown = [(_png(plots.roc_figure(curves)), "ROC with bootstrap 95 % band")]
    calibration, _ = plots.calibration_figure(y, probability, n_bins=min(5, max(2, len(y) // 4)))
    shown.append((_png(calibration), "Calibration (quantile bins)"))
    report.add_figures(shown)
    _confusion(report, predictions, y=y, probability=probability)


def _confusion(
    report: HtmlReport,
    predictions: pd.DataFrame,
    *,
    y: np.ndarray | None = None,
    probability: np.ndarray | None = None,
) -> None:
    if "prediction" in predictions:
        truth = _as_text(predictions["label"])
        called = _as_text(predictions["prediction"])
        how = "the 'prediction' column"
    elif y is not None and probability is not None:
        truth = [str(v) for v in y]
        called = [str(int(p >= 0.5)) for p in probability]
        how = "probability ≥ 0.5"
    else:
        return
    figure, _ = plots.confusion_figure(truth, called)
    report.add_figure(figure, f"Confusion matrix ({how})")


def _as_text(values: pd.Series) -> list[str]:
    """Class values as text; whole floats as integers (a label read back as 1.0 equals 1)."""
    if values.dtype.kind == "f" and np.all(np.mod(values.to_numpy(), 1) == 0):
        values = values.astype(int)
    return values.astype(str).tolist()


def _importance(context: _Context, report: HtmlReport) -> None:
    model = context.inputs.model
    if model is None or not (model / "pipeline.skops").is_file():
        report.add_missing(
            f"no model folder in {context.inputs.root} (model/model.json + pipeline.skops): "
            "importance not shown; make it with `medscale train FEATURES --target label "
            f"--out {context.inputs.root / 'model'}`"
        )
        return
    from medscale.models import load_model

    saved = load_model(model)
    features = list(saved.card.features)
    for _, step in saved.pipeline.steps[:-1]:  # selection steps (VarianceThreshold) drop some
        if hasattr(step, "get_support") and len(step.get_support()) == len(features):
            features = [
                name for name, kept in zip(features, step.get_support(), strict=True) if kept
            ]
    estimator = saved.pipeline.steps[-1][1]
    values = None
    kind = ""
    if hasattr(estimator, "feature_importances_"):
        values, kind = np.asarray(estimator.feature_importances_), "impurity importance"
    elif hasattr(estimator, "coef_"):
        coef = np.asarray(estimator.coef_)
        values = np.abs(coef).mean(axis=0) if coef.ndim == 2 and coef.shape[0] > 1 else coef.ravel()
        kind = "coefficient (standardised features)"
    if values is not None and len(values) == len(features):
        report.add_figure(
            plots.importance_figure(pd.Series(values, index=features), title=kind),
            f"Model importance: {kind}",
        )
        return
    _permutation_importance(context, report, saved)


def _permutation_importance(context: _Context, report: HtmlReport, saved: Any) -> None:
    from sklearn.inspection import permutation_importance

    try:
        table = context.features()
    except Missing:
        report.add_missing("permutation importance needs run/features.parquet; not shown")
        return
    card = saved.card
    if card.target not in table or any(f not in table for f in card.features):
        report.add_missing("the feature table lacks the model's target or features: no importance")
        return
    table = table.dropna(subset=[card.target])
    x = table[card.features].to_numpy(dtype=float)
    if card.classes:
        index = {str(c): i for i, c in enumerate(card.classes)}
        y = np.array([index[str(v)] for v in table[card.target]])
    else:
        y = table[card.target].to_numpy(dtype=float)
    result = permutation_importance(saved.pipeline, x, y, n_repeats=5, random_state=0)
    report.add_figure(
        plots.importance_figure(
            pd.Series(result.importances_mean, index=card.features), title="score drop"
        ),
        "Permutation importance on the training cases (optimistic)",
    )


def _triage(context: _Context, report: HtmlReport) -> None:
    summary = read_json(context.inputs.triage) if context.inputs.triage else None
    curve: list[dict[str, float]] | None = None
    if summary is not None and summary.get("curve"):
        curve = list(summary["curve"])
    else:
        curve = _workload_curve(context)
    if summary is None:
        report.add_missing(
            f"no triage.json in {context.inputs.root}: make it with `medscale triage "
            "PREDICTIONS --sensitivity 0.95 --out worklist.csv --json > triage.json`"
        )
    elif summary.get("workload"):
        w = summary["workload"]
        report.add_text(
            f"At sensitivity {100 * w['sensitivity']:g} %, {100 * w['saved']:.1f} % of "
            f"{w['n_studies']} studies can be deprioritised (95 % CI {100 * w['ci_low']:.1f}-"
            f"{100 * w['ci_high']:.1f} %; threshold {w['threshold']:.4g}, achieved sensitivity "
            f"{100 * w['achieved_sensitivity']:.1f} %, {w['n_positives']} positives)."
        )
    elif summary.get("missing"):
        report.add_missing(str(summary["missing"]))
    if curve:
        report.add_figure(
            plots.workload_figure(curve), "Workload saved against the sensitivity kept"
        )
    queue = (summary or {}).get("queue")
    if queue:
        report.add_text(
            f"Queue simulation: {queue['readers']} readers, {queue['minutes_per_study']:g} "
            f"min/study, {queue['arrivals_per_hour']:.3g} arrivals/h, maximum wait "
            f"{queue['max_wait_min']:g} min."
        )
        rows = [{"policy": name, **values} for name, values in queue["policies"].items()]
        report.add_table(pd.DataFrame(rows), float_format="{:.1f}")
    elif summary is not None:
        report.add_missing("triage.json has no queue comparison (it needs labelled predictions)")
    if context.inputs.worklist is not None:
        worklist = read_table(context.inputs.worklist)
        report.add_text(f"Worklist {context.inputs.worklist}: first 10 of {len(worklist)}.")
        report.add_table(worklist.head(10))


def _workload_curve(context: _Context) -> list[dict[str, float]] | None:
    from medscale.triage import workload_curve

    try:
        predictions = context.predictions()
    except Missing:
        return None
    if "probability" not in predictions or "label" not in predictions:
        return None
    predictions = predictions.dropna(subset=["label", "probability"])
    y = _binary(predictions, context.model_card())
    if y is None or not y.any():
        return None
    points = workload_curve(
        predictions["probability"].to_numpy(dtype=float), y, n_bootstrap=200, seed=0
    )
    return [point.as_dict() for point in points if not math.isnan(point.saved)]


def _failures(context: _Context, report: HtmlReport) -> None:
    run = context.inputs.run
    summary = read_json(run / "summary.json") if run and (run / "summary.json").is_file() else {}
    has_failures = run is not None and (run / "failures.parquet").exists()
    if not summary and not has_failures:
        raise Missing(
            f"no run/summary.json nor run/failures.parquet in {context.inputs.root}: they are "
            "written by the batch engine (`medscale run`)"
        )
    if summary:
        report.add_text(
            f"{summary.get('cases_done', '?')} of {summary.get('cases_total', '?')} cases done, "
            f"{summary.get('cases_failed', '?')} failed, in {summary.get('wall_seconds', '?')} s."
        )
    failures = pd.read_parquet(run / "failures.parquet") if has_failures and run else None
    if failures is None or len(failures) == 0:
        if summary.get("cases_failed", 0):
            report.add_missing(
                f"{summary['cases_failed']} cases failed but failures.parquet is absent"
            )
        else:
            report.add_text("No case failed.")
        return
    columns = [c for c in ("case_id", "stage", "error_type", "message") if c in failures]
    report.add_table(failures[columns])


def _png(figure: Any) -> str:
    from medscale.report.html import figure_to_png_base64

    return figure_to_png_base64(figure)


__all__ = ["KEY_FEATURES", "SECTIONS", "build_report"]
