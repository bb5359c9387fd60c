"""Engine stress benchmark: a Dask run that loses a worker every few seconds, under a CPU hog.

    python benchmarks/bench_engine_stress.py [--cases 200] [--kill-every 4] [--hogs 2]

A scheduler and two single-threaded workers are started with Dask's own command line
(``dask scheduler``, ``dask worker``); `--hogs` processes spin on the CPU throughout. Then
``medscale extract --manifest ... --scheduler ADDR`` runs `--cases` synthetic CT cases twice:

1. undisturbed (the reference wall time, same hog);
2. while one worker, in turn, is SIGKILLed every `--kill-every` seconds and started again
   with ``dask worker``.

Each run must exit 0 with every case exactly once in ``features.parquet`` (no duplicate, none
missing) and the same values as the undisturbed run. Figures go to stdout and to
benchmarks/results/engine_stress.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "engine_stress.md"
BIN = Path(sys.executable).parent
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def make_cohort(work: Path, n_cases: int) -> Path:
    """`n_cases` small synthetic CT cases (NIfTI), written once and reused."""
    from medscale.datasets import generate_cohort, write_cohort

    folder = work / "cohort"
    manifest = folder / "manifest.csv"
    if manifest.is_file() and len(pd.read_csv(manifest)) == n_cases:
        return manifest
    write_cohort(generate_cohort(n_cases, kind="ct", seed=3, shape=(32, 96, 96)), folder)
    return manifest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: we restart them)."""

    def __init__(self) -> None:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
            + ["--dashboard-address", ":0", "--no-show"],
            **QUIET,
        )
        self.workers = [self._worker(), self._worker()]
        self.kills = 0
        self._stop = threading.Event()
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)

    def _worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "dask"), "worker", self.address, "--nworkers", "1", "--nthreads", "1"]
            + ["--host", "127.0.0.1", "--dashboard-address", ":0", "--no-nanny"]
            + ["--memory-limit", "2GiB"],
            **QUIET,
        )

    def keep_killing(self, every_s: float) -> threading.Thread:
        """SIGKILL worker 0, 1, 0, ... every `every_s` s and start it again, until `stop`."""

        def loop() -> None:
            victim = 0
            while not self._stop.wait(every_s):
                self.workers[victim].send_signal(signal.SIGKILL)
                self.workers[victim].wait()
                self.kills += 1
                self.workers[victim] = self._worker()
                victim = 1 - victim

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop_killing(self, thread: threading.Thread) -> None:
        self._stop.set()
        thread.join()

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def medscale_run(manifest: Path, out: Path, address: str, timeout_s: float) -> dict[str, object]:
    """``medscale extract --manifest`` on the cluster: exit code, wall time, summary."""
    command = [str(BIN / "medscale"), "extract", "--manifest", str(manifest), "--out", str(out)]
    command += ["--scheduler", address, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    wall = time.perf_counter() - start
    summary = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else {}
    return {"exit": done.returncode, "wall_s": wall, "summary": summary, "stderr": done.stderr}


def check_table(out: Path, manifest: Path) -> dict[str, object]:
    """Rows, distinct and missing case ids, failures of a run folder."""
    from medscale.engine import read_failures, read_features

    table = read_features(out)
    expected = set(pd.read_csv(manifest, dtype={"case_id": str})["case_id"])
    log = (out / "run.log").read_text() if (out / "run.log").is_file() else ""
    return {
        "rows": len(table),
        "distinct": table["case_id"].nunique(),
        "missing": len(expected - set(table["case_id"])),
        "extra": len(set(table["case_id"]) - expected),
        "failures": len(read_failures(out)),
        "resubmitted": log.count("submitting its item again"),
        "table": table,
    }


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def one_run(manifest: Path, out: Path, kill_every: float | None, timeout_s: float) -> dict:
    cluster = Cluster()
    try:
        killer = cluster.keep_killing(kill_every) if kill_every else None
        result = medscale_run(manifest, out, cluster.address, timeout_s)
        if killer is not None:
            cluster.stop_killing(killer)
        result["kills"] = cluster.kills
    finally:
        cluster.close()
    result.update(check_table(out, manifest))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--kill-every", type=float, default=4.0, help="seconds between kills")
    parser.add_argument("--hogs", type=int, default=2, help="CPU-spinning processes")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--work", type=Path, default=Path("/tmp/medscale-bench-engine-stress"))
    args = parser.parse_args()
    manifest = make_cohort(args.work, args.cases)
    for name in ("calm", "killed"):
        subprocess.run(["rm", "-rf", str(args.work / name)], check=True)
    hogs = start_hogs(args.hogs)
    load = [os.getloadavg()[0]]
    try:
        calm = one_run(manifest, args.work / "calm", None, args.timeout)
        load.append(os.getloadavg()[0])
        killed = one_run(manifest, args.work / "killed", args.kill_every, args.timeout)
        load.append(os.getloadavg()[0])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    same = (
        calm["table"]
        .drop(columns=["image", "mask"])
        .equals(killed["table"].drop(columns=["image", "mask"]))
    )
    ok = all(
        r["exit"] == 0 and r["rows"] == r["distinct"] == args.cases and not r["missing"]
        for r in (calm, killed)
    )
    rows = []
    for name, r in (("undisturbed", calm), ("a worker SIGKILLed every", killed)):
        label = name if r is calm else f"{name} {args.kill_every:g} s"
        rows.append(
            f"| {label} | {r['exit']} | {r['wall_s']:.1f} | {args.cases / r['wall_s']:.2f} "
            f"| {r['kills']} | {r['rows']} | {r['distinct']} | {r['missing']} | {r['extra']} "
            f"| {r['failures']} | {r['resubmitted']} |"
        )
    lines = [
        "# Engine stress: Dask worker loss under load (`benchmarks/bench_engine_stress.py`)",
        "",
        f"{args.cases} synthetic CT cases (32 x 96 x 96, `default` features) through "
        "`medscale extract --manifest ... --scheduler ADDR` on a `dask scheduler` and two "
        "`dask worker --nthreads 1 --no-nanny` processes, with "
        f"{args.hogs} CPU-spinning processes running throughout on the shared 2-core machine "
        f"(other engineers' jobs on top; 1-minute load average {min(load):.1f} to "
        f"{max(load):.1f}). Killed run: worker 0, 1, 0, ... SIGKILLed every "
        f"{args.kill_every:g} s and started again with `dask worker`. Measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; timings are of a loaded "
        "machine, the ratio matters more.",
        "",
        "| run | exit | wall (s) | cases/s | kills | rows | distinct ids | missing | extra "
        "| failures | futures resubmitted |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"- Every case exactly once in both runs, exit 0: **{'yes' if ok else 'NO'}**.",
        f"- Killed run's table equal to the undisturbed one (every column but the paths): "
        f"**{'yes' if same else 'NO'}**.",
        f"- Wall time, killed / undisturbed: **x{killed['wall_s'] / calm['wall_s']:.2f}** "
        f"({killed['kills']} kills).",
    ]
    for r in (calm, killed):
        if r["exit"] != 0:
            lines += ["", "```", str(r["stderr"])[-2000:], "```"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
