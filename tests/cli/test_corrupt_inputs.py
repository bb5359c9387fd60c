"""Every subcommand fed a truncated DICOM, a random-bytes .nii.gz and an empty file (issue 13)."""

import logging
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corrupt_inputs import INPUTS, SWEEP, invoke  # noqa: E402

CASES = [(row, name) for row in SWEEP for name in INPUTS]


@pytest.mark.parametrize(
    ("row", "input_name"), CASES, ids=[f"{row.name}-{name}" for row, name in CASES]
)
def test_corrupt_input_gives_a_short_clear_error(row, input_name, tmp_path):
    try:
        outcome = invoke(row, input_name, tmp_path)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    text = outcome.stdout + outcome.stderr
    assert "Traceback" not in text
    assert len(outcome.stderr_lines) <= 3, outcome.stderr
    if input_name in row.intact:
        assert outcome.code == 0, outcome.stderr
    elif row.expect == "error":
        assert outcome.code == 1, outcome.stderr
        assert outcome.stderr_lines[0].startswith("error: "), outcome.stderr
        assert outcome.input.name in outcome.stderr_lines[0], outcome.stderr
        assert "run with --debug" not in outcome.stderr, "not a medscale error"
    else:
        assert outcome.code in (0, 1), outcome.stderr
        if row.failed is not None:
            report = outcome.tmp / row.failed
            assert report.is_file(), f"{row.name} wrote no {row.failed}"
            if report.suffix == ".parquet":
                import pyarrow.parquet as pq

                listed = str(pq.read_table(report).to_pylist())
            else:
                listed = report.read_text()
            assert outcome.key(row) in listed, listed


def _noisy(*_args, **_kwargs):
    logging.getLogger("some_library").warning("third-party log line")
    warnings.warn("third-party warning", UserWarning, stacklevel=1)
    raise ValueError("boom")


@pytest.mark.parametrize("flag", [None, "-v"])
def test_third_party_warnings_and_logs_only_with_verbose(flag, tmp_path, monkeypatch, caplog):
    import medscale.io

    monkeypatch.setattr(medscale.io, "read_image", _noisy)
    from medscale.cli.main import main

    source = tmp_path / "a.nii.gz"
    source.write_bytes(b"x")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code = main([*([flag] if flag else []), "convert", str(source), str(tmp_path / "o.nrrd")])
    assert code == 1
    shown = [r.getMessage() for r in caplog.records]
    if flag:
        assert "third-party log line" in shown
        assert any("third-party warning" in m for m in shown)
    else:
        assert not any("third-party" in m for m in shown), shown


def test_truncated_jpeg2000_convert_prints_one_line_in_a_real_terminal(tmp_path):
    """A subprocess, so the CLI's own stderr handler (not pytest's) is what prints."""
    import subprocess

    from corrupt_inputs import INPUTS

    name, write = INPUTS["truncated-jpeg2000"]
    try:
        write(tmp_path / name)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    command = [sys.executable, "-m", "medscale.cli.main", "convert", name, "out.nii.gz"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {name}: corrupt or truncated JPEG 2000"), lines
    verbose = subprocess.run(
        [*command[:3], "-v", *command[3:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert "pydicom" in verbose.stderr  # the decoder's own log, shown with -v


@pytest.mark.parametrize("command", ["train", "evaluate", "triage"])
@pytest.mark.parametrize("name", ["empty.csv", "random.parquet"])
def test_corrupt_table_gives_one_line_naming_it(command, name, tmp_path):
    """A table command fed a table-suffixed file that does not parse (empty CSV, random bytes)."""
    import io
    import random
    from contextlib import redirect_stderr

    from medscale.cli.main import main

    table = tmp_path / name
    table.write_bytes(b"" if name.endswith(".csv") else random.Random(13).randbytes(4096))
    extra = {
        "train": ["--target", "label", "--model", "logistic", "--out", str(tmp_path / "m")],
        "triage": ["--out", str(tmp_path / "w.csv")],
        "evaluate": [],
    }[command]
    err = io.StringIO()
    with redirect_stderr(err):
        code = main([command, str(table), *extra])
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == 1, err.getvalue()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith("error: ") and name in lines[0], lines
    assert "run with --debug" not in err.getvalue()
