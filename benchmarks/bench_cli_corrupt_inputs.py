"""The corrupt-input sweep (issue 13): every subcommand that reads an input file, fed a
truncated DICOM, a random-bytes ``.nii.gz`` and an empty file.

Prints one line per (command, input): the exit code, the number of stderr lines, whether a
traceback appeared and the first stderr line; writes ``benchmarks/results/cli_corrupt_inputs.md``.
The table is ``tests/corrupt_inputs.py::SWEEP`` (the same one tests/cli/test_corrupt_inputs.py
checks). Run from the repository root::

    .venv/bin/python benchmarks/bench_cli_corrupt_inputs.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "cli_corrupt_inputs.md"


def main() -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from corrupt_inputs import INPUTS, SWEEP, invoke

    rows = []
    for row in SWEEP:
        for name in INPUTS:
            with tempfile.TemporaryDirectory() as folder:
                outcome = invoke(row, name, Path(folder))
                first = outcome.stderr_lines[0] if outcome.stderr_lines else ""
                first = first.replace(folder, "$TMP")
                traceback = "Traceback" in outcome.stdout + outcome.stderr
            expect = "intact" if name in row.intact else row.expect
            rows.append((row.name, name, expect, outcome.code, outcome.stderr_lines, traceback))
            print(
                f"{row.name:20} {name:16} exit={outcome.code} stderr_lines="
                f"{len(outcome.stderr_lines)} traceback={traceback}  {first[:90]}",
                flush=True,
            )
    lines = [
        "# CLI corrupt-input sweep",
        "",
        "`python benchmarks/bench_cli_corrupt_inputs.py`; the table is `tests/corrupt_inputs.py`.",
        "`error` rows must exit 1; `skips` rows are folder commands that record an unreadable",
        "file as a failure by design (exit 0, or 1 when it blocks the output); `intact`: the",
        "input is sound for that command (`scan` reads headers only; that header is whole).",
        "",
        "| command | input | expect | exit | stderr lines | traceback | first stderr line |",
        "|---|---|---|---|---|---|---|",
    ]
    for command, name, expect, code, err, traceback in rows:
        first = (err[0] if err else "").replace("|", "\\|")
        first = first.split("/in/")[-1] if "/in/" in first else first
        lines.append(
            f"| {command} | {name} | {expect} | {code} | {len(err)} | {traceback} | {first[:110]} |"
        )
    bad = [r for r in rows if r[5] or len(r[4]) > 3 or (r[2] == "error" and r[3] != 1)]
    lines += ["", f"{len(rows)} invocations, {len(bad)} off target (exit, > 3 lines, traceback)."]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"{len(rows)} invocations, {len(bad)} off target; wrote {RESULTS.relative_to(REPO)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
