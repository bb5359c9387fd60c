"""DuckDB views over a scanned catalog: counts, series and study views, summary, errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from medscale.catalog import query, scan, series_view, study_view, summary
from medscale.errors import InputError


@pytest.fixture
def catalog(archive, tmp_path):
    return scan(archive["root"], tmp_path / "cat.parquet", workers=1).catalog_path


def test_query_counts(catalog):
    counts = query(catalog, "SELECT modality, count(*) AS n FROM instances GROUP BY 1 ORDER BY 1")
    assert counts.to_dict("list") == {"modality": ["CT", "MR"], "n": [4, 2]}
    assert query(catalog, "SELECT count(*) AS n FROM errors")["n"].item() == 3
    assert query(catalog, "SELECT count(*) AS n FROM series")["n"].item() == 3
    assert query(catalog, "SELECT count(*) AS n FROM studies")["n"].item() == 3
    table = query(catalog, "SELECT path FROM instances WHERE rows = 201", output="arrow")
    assert isinstance(table, pa.Table) and table.num_rows == 3


def test_series_view(catalog):
    series = series_view(catalog).set_index("modality")
    mr = series.loc["MR"]
    assert (mr["n_files"], mr["n_instances"], mr["n_frames"]) == (2, 2, 2)
    assert mr["first_acquisition"] == pd.Timestamp(2004, 8, 26, 19, 1, 2, 500000)
    assert mr["last_acquisition"] == pd.Timestamp(2004, 8, 26, 19, 1, 2, 500000)
    assert mr["manufacturer"] == "TOSHIBA_MEC"
    ct = series[series["n_files"] == 3].iloc[0]
    assert ct["rows"] == 201 and ct["slice_thickness_mm"] == pytest.approx(3.0)
    assert (
        ct["size_bytes"]
        == query(catalog, "SELECT sum(size_bytes) AS s FROM instances WHERE rows = 201")["s"].item()
    )


def test_study_view(catalog):
    studies = study_view(catalog)
    assert len(studies) == 3
    ct_small = studies[studies["patient_id"] == "1CT1"].iloc[0]
    assert ct_small["modalities"] == "CT"
    assert ct_small["devices"] == "GE MEDICAL SYSTEMS RHAPSODE"
    assert (ct_small["n_series"], ct_small["n_files"]) == (1, 1)
    assert pd.Timestamp(ct_small["study_date"]).date() == dt.date(2004, 1, 19)
    assert ct_small["first_acquisition"] == pd.Timestamp(1997, 4, 30, 11, 29, 36)


def test_summary(catalog):
    found = summary(catalog)
    assert found["totals"] == {
        "files": 6,
        "instances": 6,
        "series": 3,
        "studies": 3,
        "patients": 3,
        "errors": 3,
        "size_bytes": int(
            found["by_device"]["files"].sum()
            and query(catalog, "SELECT sum(size_bytes) s FROM instances")["s"].item()
        ),
    }
    assert found["by_modality"].set_index("modality")["files"].to_dict() == {"CT": 4, "MR": 2}
    assert found["by_error_type"].set_index("error_type")["files"].to_dict() == {
        "not_dicom": 1,
        "truncated": 2,
    }
    assert found["by_study"]["n_files"].tolist() == [3, 2, 1]


def test_bad_sql_and_missing_catalog_are_input_errors(catalog, tmp_path):
    with pytest.raises(InputError, match="syntax error"):
        query(catalog, "SELEC nothing")
    with pytest.raises(InputError, match="no catalog at"):
        query(tmp_path / "missing.parquet", "SELECT 1")


def test_errors_view_is_empty_without_an_errors_file(catalog):
    catalog.with_name("cat_errors.parquet").unlink()
    assert query(catalog, "SELECT count(*) AS n FROM errors")["n"].item() == 0
