"""The closing line about the reference data, and CI's strictness about data skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from data_plugin import FETCH, closing_line
from ibsi_reference import REPO_ROOT

_SKIPPING = """
import pytest

def test_needs_data():
    pytest.skip("public reference data not found: run it")

def test_other_skip():
    pytest.skip("optional extra absent")
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(_SKIPPING)
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "MEDSCALE_DATA")}
    environ.update(env, PYTHONPATH=f"{REPO_ROOT / 'tests'}{os.pathsep}{REPO_ROOT / 'src'}")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "data_plugin",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_closing_line_names_folder_or_command() -> None:
    assert closing_line("/data", 0) == "medscale reference data: /data"
    missing = closing_line(None, 154)
    assert "154 tests skipped" in missing and FETCH in missing


def test_summary_line_counts_data_skips(tmp_path: Path) -> None:
    result = _run(tmp_path, HOME=str(tmp_path))
    assert result.returncode == 0, result.stdout
    last = [line for line in result.stdout.splitlines() if "medscale reference data" in line]
    assert (
        len(last) == 1 and result.stdout.strip().splitlines()[-1] == last[0]
    )  # the run ends with it
    if (REPO_ROOT.parent / "shared" / "data").is_dir():
        assert "1 tests still skipped" in last[0]
    else:
        assert "1 tests skipped" in last[0] and FETCH in last[0]


def test_ci_turns_data_skip_into_failure(tmp_path: Path) -> None:
    result = _run(tmp_path, CI="true", HOME=str(tmp_path))
    if (REPO_ROOT.parent / "shared" / "data").is_dir():
        assert result.returncode == 1 and "1 failed, 1 skipped" in result.stdout
    else:
        assert result.returncode == 0
