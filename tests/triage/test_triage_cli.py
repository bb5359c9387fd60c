import json

import numpy as np
import pandas as pd
import pytest

from medscale.cli.main import main


@pytest.fixture
def predictions(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    label = (rng.random(n) < 0.2).astype(int)
    probability = np.clip(0.4 * label + 0.6 * rng.random(n), 0, 1)
    path = tmp_path / "pred.csv"
    pd.DataFrame(
        {"case_id": [f"case{i:03d}" for i in range(n)], "probability": probability, "label": label}
    ).to_csv(path, index=False)
    return path


def test_round_trip_text(predictions, tmp_path, capsys):
    out = tmp_path / "worklist.csv"
    assert main(["triage", str(predictions), "--sensitivity", "0.95", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "workload saved at sensitivity 95 %:" in text and "95 % CI" in text
    assert "risk_cap" in text
    worklist = pd.read_csv(out)
    assert list(worklist.columns[:4]) == ["rank", "case_id", "probability", "priority"]
    assert worklist["rank"].tolist() == list(range(1, 301))
    assert worklist["probability"].is_monotonic_decreasing
    source = pd.read_csv(predictions)
    assert sorted(worklist["case_id"]) == sorted(source["case_id"])


def test_json_matches_library(predictions, tmp_path, capsys):
    from medscale.triage import read_predictions, workload_reduction

    out = tmp_path / "worklist.parquet"
    args = ["triage", str(predictions), "--sensitivity", "0.9", "--readers", "3"]
    args += ["--minutes-per-study", "5", "--max-wait-min", "60", "--arrivals-per-hour", "30"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    frame = read_predictions(predictions)
    expected = workload_reduction(
        frame["probability"].to_numpy(), frame["label"].to_numpy(), sensitivity=0.9
    )
    assert summary["workload"] == expected.as_dict()
    assert set(summary["queue"]["policies"]) == {"fifo", "risk", "risk_cap"}
    assert summary["queue"]["readers"] == 3 and summary["queue"]["arrivals_per_hour"] == 30
    worklist = pd.read_parquet(out)
    low = worklist["priority"] == "low"
    assert low.mean() == pytest.approx(expected.saved)
    assert (worklist.loc[low, "probability"] < expected.threshold).all()


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.2"])
def test_sensitivity_outside_is_usage_error(predictions, tmp_path, capsys, bad):
    code = main(["triage", str(predictions), "--sensitivity", bad, "--out", str(tmp_path / "w")])
    assert code == 2
    assert "(0, 1]" in capsys.readouterr().err


def test_no_probability_column_is_one_line_failure(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"case_id": ["a"], "score": [0.3]}).to_csv(path, index=False)
    assert main(["triage", str(path), "--out", str(tmp_path / "w.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "bad.csv" in err and "probability" in err
    assert "Traceback" not in err


def test_nan_probability_is_one_line_failure(tmp_path, capsys):
    path = tmp_path / "nan.csv"
    pd.DataFrame({"case_id": ["a", "b"], "probability": [0.3, None]}).to_csv(path, index=False)
    assert main(["triage", str(path), "--out", str(tmp_path / "w.csv")]) == 1
    assert "case 'b'" in capsys.readouterr().err


def test_without_labels_writes_worklist_and_says_why(tmp_path, capsys):
    path = tmp_path / "unlabelled.csv"
    pd.DataFrame({"case_id": ["a", "b"], "probability": [0.3, 0.8]}).to_csv(path, index=False)
    out = tmp_path / "w.csv"
    assert main(["triage", str(path), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["workload"] is None and "label" in summary["missing"]
    assert pd.read_csv(out)["case_id"].tolist() == ["b", "a"]


def test_arrival_times_from_the_predictions(tmp_path, capsys):
    # one reader, 10 min a study; studies every 6 min: the queue builds up
    n = 40
    label = (np.arange(n) % 4 == 0).astype(int)
    probability = np.where(label == 1, 0.8, 0.2) + np.arange(n) / 1000
    start = pd.Timestamp("2024-03-04 08:00")
    path = tmp_path / "pred.csv"
    pd.DataFrame(
        {
            "case_id": [f"c{i:02d}" for i in range(n)],
            "probability": probability,
            "label": label,
            "arrival_time": [start + pd.Timedelta(minutes=6 * i) for i in range(n)][::-1],
        }
    ).to_csv(path, index=False)
    args = ["triage", str(path), "--readers", "1", "--minutes-per-study", "10"]
    args += ["--arrivals-per-hour", "99", "--out", str(tmp_path / "w.csv")]
    assert main([*args, "--json"]) == 0
    queue = json.loads(capsys.readouterr().out)["queue"]
    assert queue["arrivals"] == "predictions"
    assert queue["arrivals_per_hour"] == pytest.approx(10.0)  # 39 gaps of 6 min, not 99
    fifo, risk = queue["policies"]["fifo"], queue["policies"]["risk"]
    assert fifo["n_studies"] == n  # every study read once, none drawn
    assert risk["mean_report_positive_min"] < fifo["mean_report_positive_min"]
    assert main(args) == 0
    assert "arrival times of the predictions" in capsys.readouterr().out


def test_poisson_arrivals_without_arrival_times(predictions, tmp_path, capsys):
    assert main(["triage", str(predictions), "--out", str(tmp_path / "w.csv"), "--json"]) == 0
    queue = json.loads(capsys.readouterr().out)["queue"]
    assert queue["arrivals"] == "poisson" and queue["arrivals_per_hour"] == pytest.approx(16)
