"""The IBSI-2 phase-1 response-map table, shown in pytest's terminal summary.

Loaded by tests/conftest.py like ibsi_scores_plugin, so that the pytest-xdist controller merges
the workers' rows and prints the table.
"""

from __future__ import annotations

import json

import pytest

MAPS_KEY = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def ibsi2_map_table(request: pytest.FixtureRequest) -> dict:
    """A dict test id -> max error as a fraction of the reference range, printed at the end."""
    return request.config.stash.setdefault(MAPS_KEY, {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ibsi2_maps"] = json.dumps(session.config.stash.get(MAPS_KEY, {}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001 - pytest-xdist controller hook
    rows = json.loads(node.workeroutput.get("ibsi2_maps", "{}"))
    node.config.stash.setdefault(MAPS_KEY, {}).update(rows)


def _key(test_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else ord(p) for p in test_id.split("."))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    rows = config.stash.get(MAPS_KEY, {})
    if not rows:
        return
    terminalreporter.section("IBSI-2 phase-1 response maps (max |error| / reference range)")
    for test_id in sorted(rows, key=_key):
        error = rows[test_id]
        verdict = "pass" if error <= 0.01 else "FAIL"
        terminalreporter.write_line(f"{test_id:<8}{error:>10.5f}  {verdict}")
    passed = sum(e <= 0.01 for e in rows.values())
    terminalreporter.write_line(f"{passed}/{len(rows)} maps within 1 % of the reference range")
