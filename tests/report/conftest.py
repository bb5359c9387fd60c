"""Fixtures of the report tests: one RUN_DIR built from real steps, and its report."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_rundir import build_run_dir


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run_dir(tmp_path_factory.mktemp("rundir"))


@pytest.fixture(scope="session")
def report_html(run_dir: Path) -> Path:
    from medscale.report import build_report

    return build_report(run_dir, run_dir / "report.html")
