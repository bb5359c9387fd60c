import pandas as pd
import pytest

from medscale import InputError
from medscale.engine import read_manifest


def test_relative_paths_become_absolute(small_cohort):
    table = read_manifest(small_cohort)
    assert len(table) == 6
    assert all(path.startswith(str(small_cohort.parent)) for path in table["image"].to_pylist())
    assert table["case_id"].to_pylist()[0] == "case000"
    assert table.schema.field("label").type == "int64"  # carried with its type


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"case_id": ["a"], "mask": ["m"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"lacks the column\(s\) \['image'\]"):
        read_manifest(path)


def test_duplicate_case_ids_are_refused(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"case_id": ["a", "b", "a"], "image": ["x", "y", "z"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"repeated: \['a'\]"):
        read_manifest(path)


def test_missing_manifest(tmp_path):
    with pytest.raises(InputError, match="manifest not found"):
        read_manifest(tmp_path / "none.csv")


def test_numeric_case_ids_stay_text_and_empty_ids_are_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("case_id,image\n007,a.nii\n8,b.nii\n")
    assert read_manifest(path)["case_id"].to_pylist() == ["007", "8"]
    path.write_text("case_id,image\n1,a.nii\n,b.nii\n")
    with pytest.raises(InputError, match="needs a case_id"):
        read_manifest(path)
