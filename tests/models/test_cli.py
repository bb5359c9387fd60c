"""medscale train → predict → evaluate from the command line."""

from __future__ import annotations

import json

import pandas as pd
from model_tables import cohort

from medscale.cli.main import main


def test_train_predict_evaluate_round_trip(tmp_path, capsys):
    table_path = tmp_path / "features.csv"
    cohort(separable=True).to_csv(table_path, index=False)
    model_dir, predictions = tmp_path / "model", tmp_path / "predictions.csv"
    code = main(
        [
            "train",
            str(table_path),
            "--target",
            "label",
            "--group",
            "patient_id",
            "--site",
            "site",
            "--model",
            "logistic",
            "--out",
            str(model_dir),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "3 features: stat_mean, cm_contrast_3D_avg, morph_volume" in out
    assert "auc" in out and "95 % CI" in out
    assert main(["predict", str(model_dir), str(table_path), "--out", str(predictions)]) == 0
    written = pd.read_csv(predictions)
    assert list(written.columns) == ["case_id", "probability", "prediction", "label"]
    capsys.readouterr()
    assert main(["evaluate", str(predictions), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["auc"]["value"] > 0.9
    assert metrics["auc"]["ci_low"] <= metrics["auc"]["value"] <= metrics["auc"]["ci_high"]


def test_train_json_and_failures(tmp_path, capsys):
    table_path = tmp_path / "features.csv"
    cohort(separable=True).to_csv(table_path, index=False)
    code = main(
        [
            "train",
            str(table_path),
            "--target",
            "label",
            "--model",
            "tree",
            "--features",
            "stat_*",
            "--out",
            str(tmp_path / "m"),
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["features"] == ["stat_mean"]
    assert (
        main(
            [
                "train",
                str(table_path),
                "--target",
                "nope",
                "--model",
                "tree",
                "--out",
                str(tmp_path / "m2"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: target column 'nope'") and "Traceback" not in err
    assert main(["predict", str(tmp_path / "m"), str(table_path)]) == 2  # --out missing
