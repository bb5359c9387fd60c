import numpy as np
import pandas as pd
import pytest

from medscale.errors import InputError
from medscale.triage import WORKLIST_COLUMNS, rank_worklist, read_predictions


def _write(tmp_path, frame, name="pred.csv"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_reads_csv_and_parquet_alike(tmp_path):
    frame = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "probability": [0.1, 0.9, 0.5],
            "label": [0, 1, 1],
            "arrival_time": ["2024-01-01 08:00", "2024-01-01 08:30", "2024-01-01 09:15"],
            "priority": ["routine", "stat", "routine"],
        }
    )
    csv = read_predictions(_write(tmp_path, frame))
    parquet = read_predictions(_write(tmp_path, frame, "pred.parquet"))
    pd.testing.assert_frame_equal(csv, parquet)
    assert csv["arrival_min"].tolist() == [0.0, 30.0, 75.0]
    assert csv["label"].tolist() == [0, 1, 1]


def test_probability_alias(tmp_path):
    frame = pd.DataFrame({"case_id": ["a"], "probability_0": [0.7], "probability_1": [0.3]})
    assert read_predictions(_write(tmp_path, frame))["probability"].tolist() == [0.3]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"case_id": ["a"], "score": [0.5]}), "no probability column"),
        (pd.DataFrame({"case_id": ["a", "b"], "probability": [0.5, np.nan]}), "case 'b'"),
        (pd.DataFrame({"case_id": ["a", "b"], "probability": [0.5, 1.2]}), r"\[0, 1\]"),
        (pd.DataFrame({"case_id": ["a", "b"], "probability": [-0.1, 0.2]}), "'a' has -0.1"),
        (pd.DataFrame({"id": ["a"], "probability": [0.5]}), "no 'case_id'"),
        (pd.DataFrame({"case_id": ["a", "a"], "probability": [0.5, 0.2]}), "more than once"),
        (pd.DataFrame({"case_id": ["a"], "probability": [0.5], "label": [2]}), "0/1"),
    ],
)
def test_bad_predictions_name_file_and_column(tmp_path, frame, message):
    path = _write(tmp_path, frame)
    with pytest.raises(InputError, match=message) as caught:
        read_predictions(path)
    assert str(path) in str(caught.value)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_predictions(tmp_path / "none.csv")
    (tmp_path / "pred.xlsx").write_text("x")
    with pytest.raises(InputError, match=".csv or .parquet"):
        read_predictions(tmp_path / "pred.xlsx")


def test_worklist_ranks_by_probability_with_priority():
    frame = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "probability": [0.2, 0.9, 0.5, 0.5],
            "arrival_min": [0.0, 1.0, 5.0, 2.0],
            "priority": ["routine", "routine", "stat", "routine"],
        }
    )
    worklist = rank_worklist(frame, threshold=0.5)
    assert tuple(worklist.columns[:4]) == WORKLIST_COLUMNS
    assert worklist["case_id"].tolist() == ["b", "d", "c", "a"]  # tie 0.5: earlier arrival first
    assert worklist["rank"].tolist() == [1, 2, 3, 4]
    assert worklist["priority"].tolist() == ["high", "high", "high", "low"]
    assert worklist["requested_priority"].tolist() == ["routine", "routine", "stat", "routine"]
    assert frame["case_id"].tolist() == ["a", "b", "c", "d"]  # input untouched
    assert rank_worklist(frame)["priority"].eq("high").all()
