"""The demo end to end with a small cohort: every RUN_DIR item exists and its numbers are sane."""

import json

import pandas as pd
import pytest

from medscale.catalog import query
from medscale.cli.main import main
from medscale.demo import run_demo
from medscale.engine import read_failures, read_features
from medscale.triage import WORKLIST_COLUMNS

N_CASES = 12


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(
        tmp_path_factory.mktemp("demo") / "out", n_cases=N_CASES, workers=1, shape=(24, 64, 64)
    )


def test_demo_writes_every_run_dir_item(demo):
    out = demo.out_dir
    for item in (
        "catalog.parquet",
        "manifest.csv",
        "run/features.parquet",
        "run/summary.json",
        "model/model.json",
        "model/pipeline.skops",
        "model/cv_predictions.parquet",
        "worklist.csv",
        "triage.json",
        "utilisation.json",
        "report.html",
        "deid",
    ):
        assert (out / item).exists(), item
    assert demo.report == out / "report.html"
    assert demo.deid_findings == 0
    try:
        import monai  # noqa: F401
        import torch  # noqa: F401
    except ImportError:  # the CNN needs the 'dl' extra; the demo skips it without
        assert demo.cnn_auc is None and not (out / "cnn").exists()
    else:
        cnn = pd.read_parquet(out / "cnn_predictions.parquet")
        assert {"case_id", "label", "probability"} <= set(cnn) and cnn["probability"].between(
            0, 1
        ).all()
        assert (out / "cnn" / "weights.pt").is_file() and (out / "cnn" / "model.json").is_file()
        assert demo.cnn_auc is not None and 0 <= demo.cnn_auc["value"] <= 1
    assert any((out / "deid").rglob("*.dcm"))


def test_catalog_and_features_cover_every_case(demo):
    manifest = pd.read_csv(demo.out_dir / "manifest.csv")
    assert len(manifest) == N_CASES
    instances = query(
        demo.catalog,
        "SELECT count(*) AS n, count(DISTINCT series_instance_uid) "
        "AS series FROM instances WHERE modality = 'CT'",
    )
    assert instances["series"].iloc[0] == N_CASES
    assert instances["n"].iloc[0] >= N_CASES * 24  # every slice of every series is indexed
    features = read_features(demo.run_dir)
    assert len(features) == N_CASES and read_failures(demo.run_dir).empty
    assert (features["morph_volume"] > 0).all()


def test_out_of_fold_predictions_are_sane(demo):
    manifest = pd.read_csv(demo.out_dir / "manifest.csv")
    cv = pd.read_parquet(demo.out_dir / "model" / "cv_predictions.parquet")
    assert {"case_id", "label", "probability", "prediction", "fold", "patient_id"} == set(cv)
    assert sorted(cv["case_id"]) == sorted(manifest["case_id"])
    assert cv["probability"].between(0, 1).all()
    assert cv["fold"].nunique() == 5
    assert (cv.merge(manifest, on="case_id")["patient_id_y"] == cv["patient_id"]).all()
    folds_of_patient = cv.groupby("patient_id")["fold"]
    assert (folds_of_patient.nunique() == 1).all()  # a patient never straddles folds
    card = json.loads((demo.out_dir / "model" / "model.json").read_text())
    assert card["n_cases"] == N_CASES
    auc = demo.auc
    assert auc is not None and 0 <= auc["ci_low"] <= auc["value"] <= auc["ci_high"] <= 1
    assert auc == card["metrics"]["auc"]


def test_triage_outputs_match_the_triage_command(demo, tmp_path, capsys):
    out = demo.out_dir
    triage = json.loads((out / "triage.json").read_text())
    worklist = pd.read_csv(out / "worklist.csv")
    assert list(worklist.columns[:4]) == list(WORKLIST_COLUMNS)
    assert len(worklist) == N_CASES and list(worklist["rank"]) == list(range(1, N_CASES + 1))
    assert worklist["probability"].is_monotonic_decreasing
    w = triage["workload"]
    assert w == demo.workload and w["sensitivity"] == 0.95
    assert 0 <= w["ci_low"] <= w["saved"] <= w["ci_high"] <= 1
    assert w["achieved_sensitivity"] >= 0.95
    assert set(triage["queue"]["policies"]) == {"fifo", "risk", "risk_cap"}
    cli_worklist = tmp_path / "worklist.csv"
    predictions = out / "model" / "cv_predictions.parquet"
    args = ["triage", str(predictions), "--out", str(cli_worklist), "--json"]
    assert main(args) in (0, None)
    printed = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in printed.items() if k != "worklist"} == {
        k: v for k, v in triage.items() if k != "worklist"
    }
    assert cli_worklist.read_text() == (out / "worklist.csv").read_text()


def test_utilisation_json_matches_the_catalog_command(demo, capsys):
    stored = json.loads((demo.out_dir / "utilisation.json").read_text())
    assert main(["catalog", "utilisation", "--catalog", str(demo.catalog), "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out) == stored
    assert sum(row["studies"] for row in stored["scanners"]) >= N_CASES
    # each synthetic CT series spans its AcquisitionDuration (3-15 min), slice by slice
    assert all(3 <= row["busy_minutes"] / row["studies"] <= 15 for row in stored["scanners"])
    assert {row["modality"] for row in stored["by_modality"]} == {"CT"}  # RTSTRUCT is no scan
    assert sum(row["studies"] for row in stored["heatmap"]) == N_CASES


def test_report_has_every_section(demo):
    from medscale.report.sections import SECTIONS

    html = demo.report.read_text()
    for _, heading in (*SECTIONS, ("timings", "Timings")):
        assert f">{heading}</h2>" in html, heading
    # the demo makes every input the report reads: no section says what is missing
    assert 'class="missing"' not in html, html[html.index('class="missing"') :][:300]
    assert "deprioritised" in html or "deprioritis" in html.lower()
    assert html.count("data:image/png;base64,") >= 9
    assert demo.report.stat().st_size < 10 * 2**20


def test_demo_cli_prints_auc_and_workload(demo, monkeypatch, capsys):
    import medscale.demo

    calls = []
    monkeypatch.setattr(medscale.demo, "run_demo", lambda *a, **k: calls.append(k) or demo)
    code = main(["demo", "--out", str(demo.out_dir), "--cases", "20", "--workers", "1"])
    assert code in (0, None) and calls[0]["n_cases"] == 20
    out = capsys.readouterr().out
    assert "cross-validated AUC" in out and "95 % CI" in out
    assert f"cross-validated AUC {demo.auc['value']:.3f}" in out
    assert "workload saved at sensitivity 95 %" in out
    assert "seconds per step: generate" in out and "report" in out
    print(demo.timings)


def test_demo_cli_help_has_example(capsys):
    assert main(["demo", "--help"]) == 0
    assert "Example: medscale demo" in capsys.readouterr().out


def test_demo_stops_when_the_deid_copy_holds_a_known_value(tmp_path, monkeypatch):
    import medscale.demo
    from medscale.errors import InputError

    # the manufacturer is kept by the Basic Profile: searched as if it were PHI, it is found
    monkeypatch.setattr(
        medscale.demo, "_phi_values", lambda cases: [cases[0].header["Manufacturer"]]
    )
    with pytest.raises(InputError, match="residual identifier"):
        run_demo(tmp_path / "d", n_cases=2, workers=1, shape=(8, 32, 32))
    assert not (tmp_path / "d" / "run").exists()  # nothing is measured from a failed deid


def test_demo_cli_refuses_too_few_cases(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "x"), "--cases", "10"]) == 2
    assert "--cases" in capsys.readouterr().err
