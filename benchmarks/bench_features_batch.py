"""Batch feature extraction, whole processes: `medscale extract --manifest` vs pyradiomics' CLI.

    python benchmarks/bench_features_batch.py [--repeats 3]

Both commands run the five sample cases (../shared/data/samples) from a fresh process, start-up
included, with one worker each: medscale `--workers 1` (`default` preset: 3-D, fixed bin size 25,
no resampling, every IBSI family) and pyradiomics (all feature classes, binWidth 25, no
resampling; built by ../shared/peers/setup.sh, venv in ~/.cache/medscale-peers/venv or
$PEERS_VENV). Peak memory is the largest RSS of the process tree (GNU time is not needed:
``resource.getrusage(RUSAGE_CHILDREN)`` after each run, in a fresh probe process).

Results go to stdout and benchmarks/results/features_batch.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "features_batch.md"
CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
PYRADIOMICS_PARAMS = """\
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
  glcm:
  glrlm:
  glszm:
  gldm:
  ngtdm:
setting:
  binWidth: 25
  label: 1
  resampledPixelSpacing:
"""


def data_dir() -> Path:
    for candidate in (os.environ.get("MEDSCALE_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate, "samples").is_dir():
            return Path(candidate)
    sys.exit("sample data not found: set MEDSCALE_DATA")


def peers_python() -> str:
    venv = Path(os.environ.get("PEERS_VENV", Path.home() / ".cache/medscale-peers/venv"))
    if not (venv / "bin" / "pyradiomics").exists():
        sys.exit(
            f"pyradiomics not found in {venv}: run PEERS_SKIP_MIRP=1 bash ../shared/peers/setup.sh"
        )
    return str(venv / "bin" / "python")


def measured(command: list[str]) -> dict[str, float]:
    """Wall time and peak RSS (MiB) of `command` and its children, run from a probe process."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - start\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'wall_s': wall, 'peak_mib': rss}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = data_dir()
    work = Path(tempfile.mkdtemp(prefix="medscale-batch-"))
    images = [data / "samples" / f"{case}_image.nrrd" for case in CASES]
    masks = [data / "samples" / f"{case}_label.nrrd" for case in CASES]
    (work / "medscale.csv").write_text(
        "case_id,image,mask\n"
        + "".join(f"{c},{i},{m}\n" for c, i, m in zip(CASES, images, masks, strict=True))
    )
    (work / "pyradiomics.csv").write_text(
        "Image,Mask\n" + "".join(f"{i},{m}\n" for i, m in zip(images, masks, strict=True))
    )
    (work / "params.yaml").write_text(PYRADIOMICS_PARAMS)
    medscale = [
        str(REPO / ".venv" / "bin" / "medscale"),
        "extract",
        "--manifest",
        str(work / "medscale.csv"),
        "--out",
        str(work / "run"),
        "--workers",
        "1",
        "--force",
    ]
    pyradiomics = [
        str(Path(peers_python()).parent / "pyradiomics"),
        str(work / "pyradiomics.csv"),
        "--param",
        str(work / "params.yaml"),
        "-o",
        str(work / "pyrad.csv"),
        "-f",
        "csv",
        "--jobs",
        "1",
    ]
    measured(medscale), measured(pyradiomics)  # warm-up: libraries into the page cache
    rounds = []
    for _ in range(args.repeats):  # alternate the tools so that load hits both alike
        rounds.append({"medscale": measured(medscale), "pyradiomics": measured(pyradiomics)})
    best = {
        tool: min((r[tool] for r in rounds), key=lambda m: m["wall_s"])
        for tool in ("medscale", "pyradiomics")
    }
    peak = {tool: max(r[tool]["peak_mib"] for r in rounds) for tool in best}
    ratio = best["pyradiomics"]["wall_s"] / best["medscale"]["wall_s"]
    median_ratio = statistics.median(
        r["pyradiomics"]["wall_s"] / r["medscale"]["wall_s"] for r in rounds
    )
    text = (
        "\n".join(
            [
                "# Batch extraction, whole process: medscale vs pyradiomics",
                "",
                "Five sample cases, one worker each, from a fresh process (start-up included); "
                f"one warm-up round, then best of {args.repeats} alternating rounds; "
                "peak RSS of the process tree.",
                "",
                "| tool | command | wall (s) | peak RSS (MiB) |",
                "| --- | --- | --- | --- |",
                f"| medscale | `medscale extract --manifest ... --workers 1` | "
                f"{best['medscale']['wall_s']:.2f} | {peak['medscale']:.0f} |",
                f"| pyradiomics 3.1.0 | `pyradiomics cases.csv --jobs 1` | "
                f"{best['pyradiomics']['wall_s']:.2f} | {peak['pyradiomics']:.0f} |",
                "",
                f"- pyradiomics / medscale wall time: **{ratio:.1f}x** (target >= 3); "
                f"median of the rounds' ratios {median_ratio:.1f}x.",
                "- Every round: "
                + ", ".join(
                    f"{r['pyradiomics']['wall_s'] / r['medscale']['wall_s']:.1f}x" for r in rounds
                ),
            ]
        )
        + "\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
