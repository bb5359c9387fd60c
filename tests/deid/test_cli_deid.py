"""`medscale deid`: keygen, the default run, verify, and their exit codes."""

from __future__ import annotations

import json
import stat

import pytest

from medscale.cli.main import main
from medscale.datasets.phi_corpus import build_synthetic_phi_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    return root, build_synthetic_phi_corpus(root / "in")


def test_help_has_examples(capsys):
    for args in (
        ["deid", "--help"],
        ["deid", "run", "--help"],
        ["deid", "verify", "--help"],
        ["deid", "keygen", "--help"],
    ):
        assert main(args) == 0
        assert "Example:" in capsys.readouterr().out


def test_keygen_run_verify(corpus, tmp_path, capsys):
    root, phi = corpus
    key = tmp_path / "project.key"
    assert main(["deid", "keygen", str(key)]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) >= 32
    assert main(["deid", "keygen", str(key)]) == 1  # never overwritten silently
    out = tmp_path / "out"
    assert (
        main(["deid", str(root / "in"), str(out), "--key", str(key), "--workers", "2", "--json"])
        == 0
    )
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["by_status"]["ok"] == 7 and summary["n_review"] == 2
    assert "burned-in" in captured.err
    phi_list = phi.write_phi_list(tmp_path / "phi.txt")
    assert main(["deid", "verify", str(out), "--phi-list", str(phi_list)]) == 0
    err = capsys.readouterr().err
    assert "no residual identifiers" in err and "not DICOM" not in err
    n_dicom = sum(1 for p in out.rglob("*") if p.is_file() and p.suffix == ".dcm")
    assert f"no residual identifiers found in {n_dicom} DICOM file(s)" in err
    # a file that is not DICOM is named: only the known-value search covers it
    (out / "notes.txt").write_text("reviewed by the study nurse\n")
    assert main(["deid", "verify", str(out), "--phi-list", str(phi_list), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["other_files"] == ["notes.txt"]
    assert (
        "1 file(s) are not DICOM and were searched for the --phi-list values only: notes.txt"
        in (captured.err)
    )
    assert main(["deid", "verify", str(out)]) == 0
    assert "were NOT checked: notes.txt" in capsys.readouterr().err
    (out / "notes.txt").unlink()
    assert main(["deid", "verify", str(root / "in"), "--phi-list", str(phi_list), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["n_findings"] > 1000 and report["by_kind"]["known_value"] > 1000
    # the same command again: the output folder is not empty
    assert main(["deid", "run", str(root / "in"), str(out), "--key", str(key)]) == 1
    assert "--resume" in capsys.readouterr().err
    assert main(["deid", "run", str(root / "in"), str(out), "--key", str(key), "--resume"]) == 0


def test_bad_keys_and_paths_fail_with_one_line(corpus, tmp_path, capsys):
    root, _ = corpus
    short = tmp_path / "short.key"
    short.write_text("abcd")
    assert main(["deid", str(root / "in"), str(tmp_path / "o1"), "--key", str(short)]) == 1
    assert capsys.readouterr().err.startswith("error:")
    assert (
        main(
            ["deid", str(root / "in"), str(tmp_path / "o2"), "--key", str(tmp_path / "absent.key")]
        )
        == 1
    )
    assert "not found" in capsys.readouterr().err
    key = tmp_path / "k.key"
    main(["deid", "keygen", str(key)])
    assert main(["deid", str(root / "in"), str(root / "in" / "x"), "--key", str(key)]) == 1
    assert "must not be the input" in capsys.readouterr().err
    assert (
        main(
            [
                "deid",
                str(root / "in"),
                str(tmp_path / "o3"),
                "--key",
                str(key),
                "--option",
                "retain-everything",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "deid",
                str(root / "in"),
                str(tmp_path / "o4"),
                "--key",
                str(key),
                "--option",
                "retain-safe-private",
                "--safe-private",
                "nocolon",
            ]
        )
        == 2
    )
