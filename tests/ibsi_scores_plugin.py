"""The IBSI conformance score table, shown in pytest's terminal summary.

A plugin loaded by tests/conftest.py (``pytest_plugins``) rather than a conftest of
tests/features: under pytest-xdist the controller process only loads the root conftest, and it
is the controller that merges the workers' scores and prints the table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SCORES_KEY = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def ibsi_score_table(request: pytest.FixtureRequest) -> dict:
    """A dict config -> score row, filled by the conformance tests, printed at the end."""
    return request.config.stash.setdefault(SCORES_KEY, {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker, hand this worker's scores to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        import json

        workeroutput["ibsi_scores"] = json.dumps(session.config.stash.get(SCORES_KEY, {}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001 - pytest-xdist controller hook
    """On the xdist controller, merge the scores each worker computed."""
    import json

    scores = json.loads(node.workeroutput.get("ibsi_scores", "{}"))
    node.config.stash.setdefault(SCORES_KEY, {}).update(scores)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    order = ["dig", "A", "B", "C", "D", "E"]
    found = config.stash.get(SCORES_KEY, {})
    scores = {
        name: found[name]
        for name in sorted(
            found, key=lambda n: (n not in order, order.index(n) if n in order else 0, n)
        )
    }
    if not scores:
        return
    _save_markdown(config, scores)
    terminalreporter.section("IBSI-1 conformance per configuration")
    header = (
        f"{'config':<7}{'features passed':>17}{'total':>7}{'%':>8}"
        f"{'diagnostics passed':>20}{'total':>7}   not implemented / exceptions"
    )
    terminalreporter.write_line(header)
    for config_name, row in scores.items():
        terminalreporter.write_line(
            f"{config_name:<7}{row['passed']:>17}{row['total']:>7}{row['percent']:>8.1f}"
            f"{row['diag_passed']:>20}{row['diag_total']:>7}   "
            f"{row['skipped']} rows skipped, {row['excepted']} excepted"
        )


def _save_markdown(config, scores: dict) -> None:
    """Also write the table to $MEDSCALE_SCORE_OUTPUT/ibsi_conformance.md when that is set."""
    lines = [
        "| config | features passed | total | % | diagnostics passed | total | skipped "
        "(family missing) | excepted |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in scores.items():
        lines.append(
            f"| {name} | {row['passed']} | {row['total']} | {row['percent']:.1f} | "
            f"{row['diag_passed']} | {row['diag_total']} | {row['skipped']} | "
            f"{row['excepted']} |"
        )
    out = score_output_dir()
    if out is not None:
        (out / "ibsi_conformance.md").write_text("\n".join(lines) + "\n")


def score_output_dir() -> Path | None:
    """Where the score tables are also written: ``$MEDSCALE_SCORE_OUTPUT``, else nowhere.

    The test run never writes into the source tree; the table is printed in the terminal summary.
    """
    folder = os.environ.get("MEDSCALE_SCORE_OUTPUT")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
