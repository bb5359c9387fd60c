"""The Dask worker-kill test, run again and again while a CPU hog runs: passes out of runs.

    python benchmarks/loop_worker_kill.py [--runs 30] [--hogs 2]

Runs ``tests/engine/test_executors.py::test_dask_run_completes_when_a_worker_is_killed`` (a
24-case run on a scheduler and two workers, one worker SIGKILLed mid-run) `--runs` times, each
in a fresh pytest process, while `--hogs` processes spin on the CPU (on top of whatever else
the machine runs). The test used to fail under load with ``FutureCancelledError ... already
forgotten``; it must pass every time. Not part of the default test suite (minutes).

Figures go to stdout and to benchmarks/results/engine_worker_kill_loop.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "engine_worker_kill_loop.md"
TEST = "tests/engine/test_executors.py::test_dask_run_completes_when_a_worker_is_killed"


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` processes that keep one core busy each until they are killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def run_once(timeout_s: float) -> tuple[bool, float, str]:
    """One pytest process for the test: (passed, seconds, the tail of its output)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider", "-n", "0"]
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as err:
        output = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else err.stdout
        return False, time.perf_counter() - start, f"timed out after {timeout_s} s\n{output}"
    return done.returncode == 0, time.perf_counter() - start, done.stdout[-3000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--hogs", type=int, default=2, help="CPU-spinning processes")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    args = parser.parse_args()
    hogs = start_hogs(args.hogs)
    rows, failures = [], []
    load_before = os.getloadavg()
    try:
        for index in range(1, args.runs + 1):
            passed, seconds, tail = run_once(args.timeout)
            load = os.getloadavg()[0]
            rows.append((index, passed, seconds, load))
            print(
                f"run {index}/{args.runs}: {'pass' if passed else 'FAIL'} "
                f"in {seconds:.1f} s (load {load:.1f})",
                flush=True,
            )
            if not passed:
                failures.append((index, tail))
    finally:
        stop(hogs)
    passes = sum(passed for _, passed, _, _ in rows)
    seconds = sorted(s for _, _, s, _ in rows)
    loads = [load for *_, load in rows]
    lines = [
        "# Dask worker-kill test under a CPU hog (`benchmarks/loop_worker_kill.py`)",
        "",
        f"`{TEST}`, {args.runs} runs, each in a fresh pytest process, with {args.hogs} "
        "CPU-spinning processes running throughout on the shared 2-core machine (other "
        f"engineers' jobs on top). Load average at the start {load_before[0]:.1f}; during the "
        f"runs {min(loads):.1f} to {max(loads):.1f} (1-minute). Measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"- **{passes}/{args.runs} passed**",
        f"- seconds per run (whole pytest process): median {seconds[len(seconds) // 2]:.1f}, "
        f"min {seconds[0]:.1f}, max {seconds[-1]:.1f}",
        "",
        "| run | result | seconds | load (1 min) |",
        "| ---: | --- | ---: | ---: |",
        *(f"| {i} | {'pass' if p else 'FAIL'} | {s:.1f} | {ld:.1f} |" for i, p, s, ld in rows),
    ]
    for index, tail in failures:
        lines += ["", f"## Run {index} failed", "", "```", tail.strip(), "```"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"{passes}/{args.runs} passed; written to {RESULTS}")
    return 0 if passes == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
