import pandas as pd
import pytest

from medscale import InputError
from medscale.engine import read_manifest


def test_relative_paths_become_absolute(small_cohort):
    table = read_manifest(small_cohort)
    assert len(table) == 6
    assert all(path.startswith(str(small_cohort.parent)) for path in table["image"])
    assert table["case_id"].tolist()[0] == "case000"


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
