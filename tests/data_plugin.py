"""Where the public reference data was found, said in one line at the end of the test run.

A plugin loaded by tests/conftest.py (``pytest_plugins``), so that the pytest-xdist
controller, which prints the summary, has it too. Tests that skip for missing data say
``public reference data not found`` in their reason; the closing line counts them and names
the command that fetches the data. In CI (``CI=true``) with ``../shared/data`` present, such a
skip is turned into a failure: the data should have been found.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from typing import Any

import pytest
from ibsi_reference import REPO_ROOT, data_candidates, shared_data_dir

DATA_SKIP = "public reference data not found"
FETCH = "medscale datasets fetch all"


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def data_skips(reports: Iterable[Any]) -> int:
    """How many of the skipped `reports` skipped for missing reference data."""
    return sum(DATA_SKIP in _reason(r) for r in reports)


def closing_line(found: str | None, skipped: int) -> str:
    """The summary line: where the data was found, or how many tests skipped and the fix."""
    if found is not None:
        tail = f"; {skipped} tests still skipped for missing files" if skipped else ""
        return f"medscale reference data: {found}{tail}"
    looked = ", ".join(str(c) for c in data_candidates())
    return (
        f"medscale reference data: not found (looked in {looked}); {skipped} tests skipped "
        f"for it; fetch it with `{FETCH}` (MEDSCALE_DATA_URL=<mirror> for a local mirror)"
    )


def _strict_ci() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        and (REPO_ROOT.parent / "shared" / "data").is_dir()
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:  # noqa: ARG001
    """In CI with ../shared/data present, a skip for missing data is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _strict_ci() and DATA_SKIP in _reason(report):
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true and ../shared/data is present, yet the test skipped: {_reason(report)}"
        )


_LINE_KEY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:  # noqa: ARG001
    """Compose the closing line (printed last, by `pytest_unconfigure`)."""
    found = shared_data_dir()
    skipped = data_skips(terminalreporter.stats.get("skipped", []))
    config.stash[_LINE_KEY] = closing_line(str(found) if found else None, skipped)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Print the closing line after pytest's own summary, so that the run ends with it."""
    line = config.stash.get(_LINE_KEY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:
        reporter.write_line(line)
