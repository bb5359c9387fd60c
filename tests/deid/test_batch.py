"""Folder runs: bad input is reported or refused, resume completes a partial run."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from medscale.datasets.phi_corpus import build_synthetic_phi_corpus
from medscale.deid import deidentify_tree
from medscale.deid.batch import AUDIT_COLUMNS, AUDIT_NAME
from medscale.errors import ConfigError, InputError

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch") / "in"
    corpus = build_synthetic_phi_corpus(root)
    return root, corpus


def _audit(folder):
    with (folder / AUDIT_NAME).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_non_dicom_and_truncated_files_are_reported_not_copied(corpus_dir, tmp_path):
    root, corpus = corpus_dir
    source = tmp_path / "in"
    shutil.copytree(root, source)
    (source / "notes.txt").write_text("Jane Doe called, MRN-0042\n")
    data = corpus.files[0].read_bytes()
    (source / "cut.dcm").write_bytes(data[: len(data) - 100])
    from pydicom.data import get_testdata_file

    shutil.copyfile(get_testdata_file("DICOMDIR"), source / "DICOMDIR")
    summary = deidentify_tree(source, tmp_path / "out", key=KEY)
    assert summary.by_status == {"ok": 7, "not_dicom": 2, "truncated": 1, "invalid": 0, "failed": 0}
    assert summary.n_review == 2  # the secondary capture and the ultrasound
    outputs = list((tmp_path / "out").rglob("*.dcm"))
    assert len(outputs) == 7
    assert not any("Phi" in str(path) or "CT_" in str(path) for path in outputs)  # no input names
    assert not list((tmp_path / "out").rglob("*.txt"))
    rows = _audit(tmp_path / "out")
    assert [r["status"] for r in rows].count("truncated") == 1
    assert any(r["message"].startswith("DICOMDIR") for r in rows)
    assert tuple(rows[0]) == AUDIT_COLUMNS
    audit_text = (tmp_path / "out" / AUDIT_NAME).read_text()
    assert "Jane" not in audit_text and "Phi" not in audit_text and "notes" not in audit_text
    reviewed = {r["review"] for r in rows if r["review"]}
    assert reviewed == {"burned_in_annotation;secondary_capture;modality_ot", "ultrasound"}


def test_output_inside_or_equal_to_input_is_refused(corpus_dir, tmp_path):
    root, _ = corpus_dir
    with pytest.raises(InputError, match="must not be the input folder"):
        deidentify_tree(root, root, key=KEY)
    with pytest.raises(InputError, match="must not be the input folder"):
        deidentify_tree(root, root / "deid", key=KEY)
    with pytest.raises(InputError, match="not found"):
        deidentify_tree(tmp_path / "absent", tmp_path / "out", key=KEY)
    with pytest.raises(InputError, match="too short"):
        deidentify_tree(root, tmp_path / "out", key=b"short")
    with pytest.raises(ConfigError, match="workers"):
        deidentify_tree(root, tmp_path / "out", key=KEY, workers=0)


def test_non_empty_output_needs_resume_which_completes_the_run(corpus_dir, tmp_path):
    root, corpus = corpus_dir
    source = tmp_path / "in"
    shutil.copytree(root, source)
    held_back = tmp_path / "later"
    held_back.mkdir()
    for path in corpus.files[3:]:
        relative = path.relative_to(root)
        (held_back / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source / relative, held_back / relative)
    first = deidentify_tree(source, tmp_path / "out", key=KEY)
    assert first.by_status["ok"] == 3
    shutil.copytree(held_back, source, dirs_exist_ok=True)  # the rest of the export arrives
    with pytest.raises(InputError, match="--resume"):
        deidentify_tree(source, tmp_path / "out", key=KEY)
    second = deidentify_tree(source, tmp_path / "out", key=KEY, resume=True)
    assert second.n_processed == 4 and second.by_status["ok"] == 7 and second.n_files == 7
    rows = _audit(tmp_path / "out")
    assert len(rows) == 7 and len({r["input_sha256"] for r in rows}) == 7
    fresh = tmp_path / "fresh"
    deidentify_tree(source, fresh, key=KEY)
    resumed = {
        p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*.dcm")
    }
    assert resumed == {p.relative_to(fresh): p.read_bytes() for p in fresh.rglob("*.dcm")}


def test_flagged_images_can_be_held_apart(corpus_dir, tmp_path):
    root, _ = corpus_dir
    summary = deidentify_tree(root, tmp_path / "out", key=KEY, hold_for_review=True)
    assert summary.n_review == 2
    held = sorted(
        p.relative_to(tmp_path / "out").parts[0] for p in (tmp_path / "out").rglob("*.dcm")
    )
    assert held.count("review") == 2 and len(held) == 7


def test_every_pydicom_test_file_is_deidentified_or_reported(tmp_path):
    """pydicom's own test files: odd encodings, missing meta, lying headers, truncations."""
    import warnings

    import pydicom.data

    from medscale.deid import verify_tree

    source = tmp_path / "in"
    source.mkdir()
    local = Path(pydicom.data.__file__).parent / "test_files"  # no download attempts
    paths = sorted(p for p in local.rglob("*") if p.is_file() and p.stat().st_size < 300_000)
    for number, path in enumerate(paths):
        shutil.copyfile(path, source / f"{number:03d}_{Path(path).name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = deidentify_tree(source, tmp_path / "out", key=KEY)
        findings = verify_tree(tmp_path / "out")
    assert summary.by_status["failed"] == 0
    assert summary.by_status["ok"] >= 40 and summary.by_status["truncated"] >= 2
    assert findings == []
    assert not list((tmp_path / "out").rglob("*.part"))


def test_two_workers_give_the_same_audit_and_files_as_one(corpus_dir, tmp_path):
    root, _ = corpus_dir
    serial = deidentify_tree(root, tmp_path / "one", key=KEY, workers=1)
    parallel = deidentify_tree(root, tmp_path / "two", key=KEY, workers=2)
    assert parallel.by_status == serial.by_status and serial.n_processed > 1
    assert _audit(tmp_path / "two") == _audit(tmp_path / "one")  # same rows, same order
    for path in (tmp_path / "one").rglob("*.dcm"):
        twin = tmp_path / "two" / path.relative_to(tmp_path / "one")
        assert twin.read_bytes() == path.read_bytes()


def _process_or_crash(task):
    """`_process_one`, except that the worker dies under the file ``crash.dcm``."""
    import os

    from medscale.deid import batch

    if task[1].endswith("crash.dcm"):
        os._exit(3)
    return batch._process_file(task)


def test_a_file_that_kills_its_worker_is_a_failed_row_and_the_rest_are_copied(
    corpus_dir, tmp_path, monkeypatch
):
    from medscale.deid import batch

    root, corpus = corpus_dir
    source = tmp_path / "in"
    shutil.copytree(root, source)
    shutil.copyfile(corpus.files[0], source / "crash.dcm")
    # the workers are forked, so they see the patched function
    monkeypatch.setattr(batch, "_process_file", batch._process_one, raising=False)
    monkeypatch.setattr(batch, "_process_one", _process_or_crash)
    summary = deidentify_tree(source, tmp_path / "out", key=KEY, workers=2)
    expected = deidentify_tree(root, tmp_path / "reference", key=KEY, workers=1)
    assert summary.by_status["failed"] == 1
    assert summary.by_status["ok"] == expected.by_status["ok"]
    failed = [row for row in _audit(tmp_path / "out") if row["status"] == "failed"]
    assert failed[0]["message"] == (
        "not copied: its worker process died 3 times (killed, out of memory or crashed)"
    )
    assert "crash.dcm" not in (tmp_path / "out" / AUDIT_NAME).read_text()  # no input names
