"""`medscale scan` and `medscale catalog query|summary`: exit codes and output formats."""

from __future__ import annotations

import json

from medscale.cli.main import main


def test_scan_json_then_query(archive, tmp_path, capsys):
    catalog = tmp_path / "cat.parquet"
    assert (
        main(["scan", str(archive["root"]), "--catalog", str(catalog), "--workers", "2", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert (report["n_files"], report["n_instances"], report["n_errors"]) == (9, 6, 3)
    assert (report["series"], report["studies"], report["read_count"]) == (3, 3, 9)
    assert report["files_per_second"] > 0

    assert (
        main(
            [
                "catalog",
                "query",
                "SELECT modality, count(*) AS n FROM instances GROUP BY 1 ORDER BY 1",
                "--catalog",
                str(catalog),
                "--json",
            ]
        )
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer == {
        "columns": ["modality", "n"],
        "n_rows": 2,
        "rows": [{"modality": "CT", "n": 4}, {"modality": "MR", "n": 2}],
    }

    assert (
        main(
            [
                "catalog",
                "query",
                "SELECT path, image_position_patient, study_time FROM "
                "instances WHERE patient_id = '1CT1'",
                "--catalog",
                str(catalog),
                "--json",
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["study_time"] == "07:27:30" and len(row["image_position_patient"]) == 3

    assert (
        main(
            [
                "catalog",
                "query",
                "SELECT error_type, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1",
                "--catalog",
                str(catalog),
                "--csv",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "error_type,n\nnot_dicom,1\ntruncated,2\n"


def test_scan_text_output_and_update(archive, tmp_path, capsys):
    catalog = tmp_path / "cat.parquet"
    assert main(["scan", str(archive["root"]), "--catalog", str(catalog), "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert "9 files (9 read, 0 unchanged)" in out and "6 instances in 3 series" in out
    assert "3 unreadable files" in out and "notes.txt" in err
    assert (
        main(["scan", str(archive["root"]), "--catalog", str(catalog), "--update", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert (report["read_count"], report["reused_count"]) == (0, 9)


def test_summary_command(archive, tmp_path, capsys):
    catalog = tmp_path / "cat.parquet"
    main(["scan", str(archive["root"]), "--catalog", str(catalog), "--workers", "1", "--json"])
    capsys.readouterr()
    assert main(["catalog", "summary", "--catalog", str(catalog), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["totals"]["instances"] == 6 and found["totals"]["errors"] == 3
    assert {row["modality"]: row["files"] for row in found["by_modality"]} == {"CT": 4, "MR": 2}
    assert main(["catalog", "summary", "--catalog", str(catalog)]) == 0
    assert "6 instances" in capsys.readouterr().out


def test_empty_folder_is_a_clear_message_and_exit_0(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    catalog = tmp_path / "cat.parquet"
    assert main(["scan", str(tmp_path / "empty"), "--catalog", str(catalog)]) == 0
    assert "No files found under" in capsys.readouterr().out
    assert (
        main(
            [
                "catalog",
                "query",
                "SELECT count(*) AS n FROM instances",
                "--catalog",
                str(catalog),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["rows"] == [{"n": 0}]


def test_exit_codes(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "missing"), "--catalog", str(tmp_path / "c.parquet")]) == 2
    assert (
        main(["scan", str(tmp_path), "--catalog", str(tmp_path / "c.parquet"), "--workers", "0"])
        == 2
    )
    assert main(["catalog", "query", "SELECT 1", "--catalog", str(tmp_path / "none.parquet")]) == 1
    assert "error: no catalog at" in capsys.readouterr().err
    main(["scan", str(tmp_path), "--catalog", str(tmp_path / "c.parquet"), "--json"])
    capsys.readouterr()
    assert main(["catalog", "query", "SELEC 1", "--catalog", str(tmp_path / "c.parquet")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: query on") and "Traceback" not in err
    assert (
        main(
            [
                "catalog",
                "query",
                "SELECT 1",
                "--catalog",
                str(tmp_path / "c.parquet"),
                "--json",
                "--csv",
            ]
        )
        == 2
    )
    for args in (
        ["scan", "--help"],
        ["catalog", "--help"],
        ["catalog", "query", "--help"],
        ["catalog", "summary", "--help"],
    ):
        assert main(args) == 0
        assert "Example:" in capsys.readouterr().out, args
