"""Benchmark: PACS retrieval throughput, DICOMweb vs DIMSE (C-GET, C-MOVE), 1 and 4 in parallel.

A throwaway Orthanc on 127.0.0.1 (``../shared/services/orthanc.sh``, as the integration tests
use) is loaded with ``--studies`` synthetic CT studies of ``--slices`` small slices each
(``--size`` pixels square, 16-bit; 8 x 128 = 1024 instances by default), stored by C-STORE.
Then, for each protocol and each parallelism P in (1, 4), every study is retrieved into an
empty folder by a pool of P threads, each thread running one `get_study` (a study at a time,
with its own client): DICOMweb retrieves instance by instance over HTTP (QIDO-RS listing, then
one WADO-RS request per instance), DIMSE one C-GET per study, and DIMSE C-MOVE one C-MOVE per
study to medscale's own Storage SCP on MEDSCALE_AET_PORT (1 at a time only: each
`move_study` runs its own SCP on that one port). Each file is written atomically
as medscale always does. The figure is instances written per second of wall time (best and
median of ``--repeats``); every run is checked to have written every instance, with the same
SOP Instance UIDs as stored.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_pacs_throughput.py [--studies 8 --slices 128] \
        [--repeats 3] [--out benchmarks/results/pacs_throughput.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

from medscale.image import Image  # noqa: E402
from medscale.io.dicom_write import write_dicom_series  # noqa: E402
from medscale.pacs import DicomWebClient, DimseClient, PacsConfig  # noqa: E402

ORTHANC_SH = REPO.parent / "shared" / "services" / "orthanc.sh"
if not ORTHANC_SH.exists():
    ORTHANC_SH = Path("/work/shared/services/orthanc.sh")
CLIENTS = {"dicomweb": DicomWebClient, "dimse": DimseClient, "dimse-move": DimseClient}
#: parallel requests measured per protocol (C-MOVE: one SCP port, so one study at a time)
PARALLEL = {"dicomweb": (1, 4), "dimse": (1, 4), "dimse-move": (1,)}


def orthanc(action: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSCALE_")}
    done = subprocess.run(
        ["bash", str(ORTHANC_SH), action, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    settings = {}
    for line in done.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            settings[key] = shlex.split(value)[0]
    return settings


def make_studies(root: Path, studies: int, slices: int, size: int) -> dict[str, set[str]]:
    """Write the synthetic studies; StudyInstanceUID -> its SOP Instance UIDs."""
    import pydicom

    rng = np.random.default_rng(2026)
    made: dict[str, set[str]] = {}
    for number in range(studies):
        array = rng.integers(-1000, 1000, size=(slices, size, size)).astype(np.float64)
        header = {"PatientID": f"BENCH-{number:02d}", "StudyDate": "20240201"}
        paths = write_dicom_series(
            Image(array, spacing=(1.0, 0.7, 0.7)), root / f"study{number:02d}", header=header
        )
        headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
        made[str(headers[0].StudyInstanceUID)] = {str(h.SOPInstanceUID) for h in headers}
    return made


def retrieve(protocol: str, config: PacsConfig, studies: dict[str, set[str]], out: Path,
             parallel: int) -> float:  # fmt: skip
    """Seconds to retrieve every study with `parallel` threads (checks every instance)."""

    def one(study: str) -> int:
        client = CLIENTS[protocol](config)
        fetch = client.move_study if protocol == "dimse-move" else client.get_study
        written, skipped = fetch(study, out)
        assert skipped == 0, f"{study}: {skipped} skipped in an empty folder"
        return written

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        written = sum(pool.map(one, studies))
    seconds = time.perf_counter() - start
    for study, uids in studies.items():
        got = {p.stem for p in (out / study).glob("*.dcm")}
        assert got == uids, f"{study}: {len(got)} of {len(uids)} instances, or other UIDs"
    assert written == sum(len(u) for u in studies.values())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=8)
    parser.add_argument("--slices", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Markdown results file.")
    parser.add_argument(
        "--protocols", default="dicomweb,dimse,dimse-move", help="Comma-separated subset."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pacs-") as tmp:
        root = Path(tmp)
        studies = make_studies(root / "data", args.studies, args.slices, args.size)
        total = sum(len(u) for u in studies.values())
        settings = orthanc("start", root / "orthanc")
        try:
            config = PacsConfig.from_env({**settings, "MEDSCALE_PACS_RETRIES": "1"})
            files = sorted((root / "data").rglob("*.dcm"))
            start = time.perf_counter()
            stored = DimseClient(config).put(files)
            put_seconds = time.perf_counter() - start
            assert stored == total == len(files)
            rows = []
            for protocol in args.protocols.split(","):
                for parallel in PARALLEL[protocol]:
                    times = []
                    for repeat in range(args.repeats):
                        out = root / f"get-{protocol}-{parallel}-{repeat}"
                        times.append(retrieve(protocol, config, studies, out, parallel))
                    rows.append((protocol, parallel, times))
                    print(
                        f"{protocol:8s} x{parallel}: "
                        + ", ".join(f"{total / t:.0f}" for t in times)
                        + " instances/s",
                        flush=True,
                    )
        finally:
            orthanc("stop", root / "orthanc")
    report = render(args, total, stored, put_seconds, rows)
    print(report)
    if args.out:
        args.out.write_text(report)


def render(args: argparse.Namespace, total: int, stored: int, put_seconds: float,
           rows: list) -> str:  # fmt: skip
    load = os.getloadavg()
    lines = [
        "# PACS retrieval throughput: DICOMweb vs DIMSE",
        "",
        "Command (repository root):",
        "",
        f"    nice -n 10 .venv/bin/python benchmarks/bench_pacs_throughput.py --studies "
        f"{args.studies} --slices {args.slices} --size {args.size} --repeats {args.repeats} "
        f"--protocols {args.protocols}",
        "",
        f"{total} instances ({args.studies} studies x {args.slices} CT slices of "
        f"{args.size}x{args.size} 16-bit pixels, about "
        f"{(args.size * args.size * 2 + 1500) / 1024:.1f} KiB a file), stored in a throwaway "
        f"Orthanc on 127.0.0.1 by one C-STORE association ({stored} instances in "
        f"{put_seconds:.1f} s, {stored / put_seconds:.0f}/s). Each run retrieves every study "
        "into an empty folder (atomic writes, as `medscale pacs get`), with P threads each "
        "retrieving one study at a time; every run is checked to have written every instance "
        "with the stored SOP Instance UIDs. DICOMweb: a QIDO-RS listing and one WADO-RS request "
        "per instance; DIMSE: one C-GET per study; DIMSE C-MOVE (dimse-move): one C-MOVE per study "
        "to medscale's own Storage SCP, started and stopped around each call (one port, so "
        "one study at a time).",
        "",
        "| protocol | parallel requests | instances/s (best) | instances/s (median) | "
        "wall s (best) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for protocol, parallel, times in rows:
        lines.append(
            f"| {protocol} | {parallel} | {total / min(times):.0f} | "
            f"{total / statistics.median(times):.0f} | {min(times):.2f} |"
        )
    lines += [
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared with other jobs (1-minute load at the end "
        f"{load[0]:.1f}), so the figures are pessimistic and the parallel gain is bounded by "
        "the 2 cores that Orthanc and the client share.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
