"""Benchmark of `medscale.catalog.scan`: speed against a naive pydicom loop, and flat memory.

Run: ``.venv/bin/python benchmarks/bench_catalog.py [--small 2000] [--large 20000]
[--workers 2] [--tmp /tmp]``. Writes ``benchmarks/results/catalog.md``.

1. Speed, on the small archive with a warm page cache:
   - naive: a single-process loop of full ``pydicom.dcmread(path)`` (pixel data read);
   - pydicom header-only: the same loop with ``stop_before_pixels=True``;
   - ``scan(workers=1)`` and ``scan(workers=N)`` (whole scans: listing, pool start-up,
     Parquet writing included). Median of 3 runs each.
2. Memory: ``scan(workers=N)`` of the small and of the large archive, each in a fresh
   subprocess; peak RSS of the whole process tree (parent + workers) sampled every 20 ms with
   psutil, and the ``getrusage`` maxrss of the parent (SELF) and of the largest worker
   (CHILDREN).

The archives (see ``catalog_archive.py``) are written under ``--tmp`` and deleted at the end;
the large one contains the small one plus the rest of the files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_archive import make_templates, write_archive  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "catalog.md"

MEMORY_SCRIPT = """
import json, resource, sys
from medscale.catalog import scan
result = scan(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]))
print(json.dumps({"files": result.n_files, "instances": result.n_instances,
                  "seconds": result.seconds,
                  "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_capacity(workers: int) -> float:
    """How many cores' worth of CPU `workers` concurrent busy processes get right now (1..N).

    On a machine shared with other jobs this is what bounds any parallel speed-up.
    """
    from concurrent.futures import ProcessPoolExecutor

    work = 3_000_000
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_spin, [1000] * workers))  # start the workers
        start = time.perf_counter()
        list(pool.map(_spin, [work]))
        solo = time.perf_counter() - start
        start = time.perf_counter()
        list(pool.map(_spin, [work] * workers))
        together = time.perf_counter() - start
    return workers * solo / together


def _files(root: Path) -> list[str]:
    return sorted(str(path) for path in root.rglob("*.dcm"))


def _warm(paths: list[str]) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (pool workers), s."""
    import resource

    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_speed(root: Path, out: Path, workers: int, repeats: int) -> dict[str, dict]:
    """Files/s (wall) and CPU ms per file of each reader; runs interleaved, medians."""
    import pydicom

    from medscale.catalog import scan

    paths = _files(root)
    _warm(paths)
    scan(root, out / "warmup.parquet", workers=1)  # imports, first-call costs

    def naive() -> None:
        for path in paths:
            pydicom.dcmread(path)

    def header_only() -> None:
        for path in paths:
            pydicom.dcmread(path, stop_before_pixels=True)

    readers = {
        "naive full dcmread (1 process)": naive,
        "pydicom stop_before_pixels (1 process)": header_only,
        "scan, workers=1": lambda: scan(root, out / "w1.parquet", workers=1),
        f"scan, workers={workers}": lambda: scan(root, out / "wn.parquet", workers=workers),
    }
    walls: dict[str, list[float]] = {name: [] for name in readers}
    cpus: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(repeats):  # interleaved, so that load from other jobs hits all alike
        for name, run in readers.items():
            cpu, start = _cpu_seconds(), time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(_cpu_seconds() - cpu)
    return {
        name: {
            "files_per_s": len(paths) / statistics.median(walls[name]),
            "cpu_ms_per_file": 1000 * statistics.median(cpus[name]) / len(paths),
        }
        for name in readers
    }


def measure_memory(root: Path, catalog: Path, workers: int) -> dict[str, float]:
    process = subprocess.Popen(
        [sys.executable, "-c", MEMORY_SCRIPT, str(root), str(catalog), str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"memory run failed with exit code {process.returncode}")
    found = json.loads(output.strip().splitlines()[-1])
    found["tree_peak_mb"] = peak / 2**20
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tmp", default=tempfile.gettempdir())
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    shared = REPO.parent / "shared" / "data"
    templates = make_templates(shared if (shared / "MANIFEST.md").is_file() else None)
    work = Path(tempfile.mkdtemp(prefix="medscale-bench-catalog-", dir=args.tmp))
    try:
        start = time.perf_counter()
        small_root, large_root = work / "archive" / "small", work / "archive"
        written = write_archive(small_root, args.small, templates)
        written += write_archive(
            large_root / "rest", args.large - args.small, templates, first_index=args.small
        )
        generation = time.perf_counter() - start
        print(
            f"generated {args.large} files ({written / 2**30:.2f} GiB, "
            f"{written / args.large / 1024:.0f} KiB/file) in {generation:.1f} s",
            file=sys.stderr,
        )
        out = work / "out"
        out.mkdir()
        capacity_before = cpu_capacity(args.workers)
        speed = measure_speed(small_root, out, args.workers, args.repeats)
        capacity_after = cpu_capacity(args.workers)
        memory_small = measure_memory(small_root, out / "small.parquet", args.workers)
        memory_large = measure_memory(large_root, out / "large.parquet", args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    naive = speed["naive full dcmread (1 process)"]["files_per_s"]
    naive_cpu = speed["naive full dcmread (1 process)"]["cpu_ms_per_file"]
    lines = [
        "# Catalog benchmark (`benchmarks/bench_catalog.py`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}; load average at the end "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}.",
        f"Archive: {args.large} files, {written / 2**30:.2f} GiB "
        f"({written / args.large / 1024:.0f} KiB/file: CT 512x512, MR 256x256, IBSI CT phantom "
        f"slices), generated in {generation:.1f} s.",
        "",
        f"## Speed ({args.small} files, page cache warm, median of {args.repeats} interleaved "
        f"runs)",
        "",
        f"CPU available to {args.workers} concurrent busy processes (other jobs share the "
        f"machine): {capacity_before:.2f} cores before, {capacity_after:.2f} after the speed "
        f"runs. Scan times include listing, pool start-up and Parquet writing.",
        "",
        "| reader | files/s (wall) | vs naive | CPU ms/file (all processes) | "
        "naive CPU / this CPU |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {name} | {found['files_per_s']:.0f} | {found['files_per_s'] / naive:.2f}x | "
            f"{found['cpu_ms_per_file']:.3f} | {naive_cpu / found['cpu_ms_per_file']:.2f}x |"
            for name, found in speed.items()
        ),
        "",
        f"## Memory (`scan(workers={args.workers})` in a fresh process)",
        "",
        "| archive | files | scan s | files/s | peak RSS tree MB | parent maxrss MB | "
        "largest worker maxrss MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, found in (("small", memory_small), ("large", memory_large)):
        lines.append(
            f"| {name} | {found['files']} | {found['seconds']:.1f} | "
            f"{found['files'] / found['seconds']:.0f} | {found['tree_peak_mb']:.0f} | "
            f"{found['self_maxrss_kb'] / 1024:.0f} | "
            f"{found['children_maxrss_kb'] / 1024:.0f} |"
        )
    ratio = memory_large["tree_peak_mb"] / memory_small["tree_peak_mb"]
    speedup = speed[f"scan, workers={args.workers}"]["files_per_s"] / naive
    cpu_ratio = naive_cpu / speed[f"scan, workers={args.workers}"]["cpu_ms_per_file"]
    lines += [
        "",
        f"- scan (workers={args.workers}) vs naive, wall clock: **{speedup:.1f}x** (target >= 5x), "
        f"with {capacity_before:.2f}/{capacity_after:.2f} cores free",
        f"- CPU per file, naive / scan (workers={args.workers}): **{cpu_ratio:.1f}x**; on "
        f"{args.workers} free cores the wall-clock ratio would be about "
        f"{cpu_ratio * args.workers:.0f}x (derived, not measured)",
        f"- peak RSS of the tree, {args.large} vs {args.small} files: **{ratio:.2f}x** "
        f"(target <= 1.5x)",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
