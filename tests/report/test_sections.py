"""The report of a RUN_DIR: every section, its numbers, and what it says when inputs are missing."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from medscale.cli.main import main
from medscale.report import SECTIONS, build_report
from medscale.report.plots import auc_score, roc_points, roc_with_ci


def _missing(text: str) -> list[str]:
    return re.findall(r'<p class="missing">([^<]*)</p>', text)


def test_roc_and_auc_match_sklearn_with_ties():
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 200)
    score = np.round(rng.normal(label * 0.8, 1.0), 1)  # rounded: many ties
    fpr, tpr = roc_points(label, score)
    sk_fpr, sk_tpr, _ = roc_curve(label, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert auc_score(label, score) == pytest.approx(roc_auc_score(label, score), abs=1e-12)


def test_roc_ci_brackets_the_auc_and_perfect_scores_give_one():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 120)
    score = rng.normal(label, 1.0)
    curve = roc_with_ci(label, score, n_boot=300, seed=1)
    assert curve.auc_low < curve.auc < curve.auc_high
    assert np.all(curve.tpr_low <= curve.tpr_high + 1e-12)
    assert curve.n_boot == 300
    perfect = roc_with_ci(label, label.astype(float), n_boot=50)
    assert perfect.auc == 1.0 and perfect.auc_low == 1.0


def test_full_run_dir_has_every_section_and_nothing_missing(report_html):
    text = report_html.read_text()
    for anchor, heading in SECTIONS:
        assert f'<h2 id="{anchor}">{heading}</h2>' in text
    assert _missing(text) == []
    assert '<meta name="viewport"' in text
    assert text.count('<div class="table-wrap">') >= 6
    assert text.count("data:image/png;base64,") >= 10
    size = report_html.stat().st_size
    print(f"fixture report: {size / 1e6:.2f} MB")
    assert size < 10e6


def test_auc_shown_is_sklearn_auc_of_the_predictions(run_dir, report_html):
    # medscale train writes the out-of-fold predictions into the model folder: the report's own
    predictions = pd.read_parquet(run_dir / "model" / "cv_predictions.parquet")
    expected = roc_auc_score(predictions["label"], predictions["probability"])
    shown = re.search(r"<td>model</td>\s*<td>([0-9.]+)</td>", report_html.read_text())
    assert shown is not None
    assert shown.group(1) == f"{expected:.3f}"


def test_triage_figures_match_triage_json(run_dir, report_html):
    summary = json.loads((run_dir / "triage.json").read_text())
    w = summary["workload"]
    text = report_html.read_text()
    assert f"{100 * w['saved']:.1f} % of {w['n_studies']} studies can be deprioritised" in text
    for name, values in summary["queue"]["policies"].items():
        row = f"<td>{name}</td>"
        assert row in text
        assert f"<td>{values['mean_report_positive_min']:.1f}</td>" in text


def test_catalog_and_utilisation_numbers(run_dir, report_html):
    from medscale.catalog.utilisation import utilisation

    text = report_html.read_text()
    instances = len(pd.read_parquet(run_dir / "catalog.parquet"))
    assert f"{instances} instances" in text
    for scanner in utilisation(run_dir / "catalog.parquet")["scanners"]:
        assert f"<td>{scanner['busy_minutes']:.1f}</td>" in text
    assert "Studies by day of week and hour" in text


def test_empty_folder_says_what_is_missing_in_every_section(tmp_path):
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    missing = _missing(text)
    assert len(missing) >= len(SECTIONS)
    joined = " ".join(missing)
    for needle in (
        "manifest.csv",
        "medscale scan",
        "features.parquet",
        "medscale predict",
        "medscale triage",
        "medscale run",
    ):
        assert needle in joined, needle
    assert "could not be built" not in joined


def test_catalog_only(tmp_path, run_dir):
    shutil.copy(run_dir / "catalog.parquet", tmp_path / "catalog.parquet")
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    assert "Busy minutes per scanner" in text
    assert not any("catalog.parquet" in m for m in _missing(text))
    assert any("manifest.csv" in m for m in _missing(text))


def test_regression_predictions_show_predicted_vs_true(tmp_path):
    truth = np.linspace(0, 10, 30)
    predicted = truth + np.sin(truth)
    pd.DataFrame({"case_id": range(30), "label": truth, "prediction": predicted}).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    mae = np.mean(np.abs(truth - predicted))
    r2 = 1 - np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert f"MAE {mae:.4g}, R² {r2:.3f}" in text
    assert "Predicted vs true" in text


def test_failures_table_lists_the_failed_case(tmp_path, run_dir):
    from medscale.engine import RunSpec, run
    from medscale.engine.stages import StageSettings

    manifest = pd.read_csv(run_dir / "manifest.csv").head(2)
    manifest.loc[1, "image"] = str(tmp_path / "no_such_image")
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    settings = StageSettings(stages=("read", "extract"), config={"families": ["statistics"]})
    run(
        RunSpec(
            str(tmp_path / "manifest.csv"),
            str(tmp_path / "run"),
            stage_settings=settings,
            in_process=True,
            force=True,
        )
    )
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    failures = text.split('<h2 id="failures">')[1]
    assert "1 of 2 cases done, 1 failed" in failures
    assert manifest.loc[1, "case_id"] in failures and "no_such_image" in failures


def test_cli_report(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines() == [f"error: {tmp_path / 'nope'}: no such run folder"]
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").is_file() and "report:" in capsys.readouterr().out


def test_unlabelled_predictions_say_labels_are_missing(tmp_path):
    pd.DataFrame({"case_id": ["a", "b"], "probability": [0.2, 0.9]}).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    performance = text.split('<h2 id="performance">')[1].split("<h2")[0]
    assert "has no label column: performance needs the true labels" in performance


def test_cv_predictions_of_the_model_folder_come_first(tmp_path, run_dir):
    from medscale.report.rundir import RunInputs

    shutil.copytree(run_dir / "model", tmp_path / "model")
    (tmp_path / "model" / "cv_predictions.parquet").unlink()
    shutil.copy(run_dir / "predictions.parquet", tmp_path / "predictions.parquet")
    assert RunInputs.find(tmp_path).predictions == tmp_path / "predictions.parquet"
    shutil.copy(run_dir / "predictions.parquet", tmp_path / "model" / "cv_predictions.parquet")
    assert RunInputs.find(tmp_path).predictions == tmp_path / "model" / "cv_predictions.parquet"
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    assert "(out-of-fold, CV grouped by patient_id)" in text


def test_catalog_without_acquisition_times_says_so(tmp_path, run_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(run_dir / "catalog.parquet")
    for name in ("acquisition_datetime", "acquisition_date", "acquisition_time"):
        index = table.schema.get_field_index(name)
        field = table.schema.field(index)
        table = table.set_column(index, field, pa.nulls(len(table), field.type))
    pq.write_table(table, tmp_path / "catalog.parquet")
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    utilisation = text.split('<h2 id="utilisation">')[1].split("<h2")[0]
    assert "no acquisition times in the catalog" in utilisation
    assert "could not be built" not in text
    catalog = text.split('<h2 id="catalog">')[1].split("<h2")[0]
    assert '<p class="missing">' not in catalog  # the catalog summary still shows


def test_cnn_predictions_are_shown_beside_the_model(tmp_path, run_dir):
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    predictions.to_parquet(tmp_path / "predictions.parquet")
    rng = np.random.default_rng(0)
    cnn = predictions.assign(probability=rng.permutation(predictions["probability"].to_numpy()))
    cnn.to_parquet(tmp_path / "cnn_predictions.parquet")
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    shown = re.search(r"<td>CNN</td>\s*<td>([0-9.]+)</td>", text)
    assert shown is not None
    assert shown.group(1) == f"{roc_auc_score(cnn['label'], cnn['probability']):.3f}"


def test_corrupt_inputs_are_named_and_the_rest_still_shows(tmp_path, run_dir):
    shutil.copy(run_dir / "catalog.parquet", tmp_path / "catalog.parquet")
    (tmp_path / "triage.json").write_text("{not json")
    (tmp_path / "predictions.parquet").write_bytes(b"PAR1 truncated")
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    triage = text.split('<h2 id="triage">')[1].split("<h2")[0]
    assert "triage.json: not valid JSON" in triage
    performance = text.split('<h2 id="performance">')[1].split("<h2")[0]
    assert "this section could not be built" in performance
    assert "Busy minutes per scanner" in text


def test_plots_save_as_png_files(tmp_path):
    from medscale.report.plots import calibration_figure, roc_figure, save_png

    rng = np.random.default_rng(2)
    label = rng.integers(0, 2, 60)
    score = rng.normal(label, 1.0)
    roc = save_png(roc_figure({"m": roc_with_ci(label, score, n_boot=20)}), tmp_path / "a/roc.png")
    figure, bins = calibration_figure(label, score.clip(0, 1), n_bins=4)
    calibration = save_png(figure, tmp_path / "cal.png")
    for path in (roc, calibration):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert len(bins) <= 4 and bins["observed positive"].between(0, 1).all()


def test_utilisation_json_is_used_without_a_catalog(tmp_path):
    found = {
        "scanners": [
            {
                "station_name": "CT1",
                "manufacturer": "ACME",
                "manufacturer_model_name": "X",
                "device_serial_number": "1",
                "studies": 4,
                "busy_minutes": 37.5,
                "idle_minutes": 12.25,
            }
        ],
        "by_modality": [{"modality": "CT", "studies": 4}],
        "repeats": {
            "within_days": 30,
            "n_repeats": 2,
            "by_modality": [{"modality": "CT", "repeats": 2, "patients": 1}],
        },
    }
    (tmp_path / "utilisation.json").write_text(json.dumps(found))
    text = build_report(tmp_path, tmp_path / "r.html").read_text()
    section = text.split('<h2 id="utilisation">')[1].split("<h2")[0]
    assert "read from" in section and "<td>37.5</td>" in section and "<td>12.2</td>" in section
    assert "2 repeat examinations of the same patient within 30 days" in section


def test_confusion_counts():
    from medscale.report.plots import confusion_figure

    truth = ["0", "0", "1", "1", "1"]
    called = ["0", "1", "1", "1", "0"]
    _, table = confusion_figure(truth, called)
    assert table.set_index("true \\ predicted").to_numpy().tolist() == [[1, 1], [1, 2]]
