"""Filtered-image features, whole batch processes: medscale `filters-default` vs pyradiomics.

    python benchmarks/bench_features_filters.py [--repeats 1] [--volume | --volume-only]

Part 1 (always): both tools run the five sample cases (../shared/data/samples) from a fresh
process, start-up included, one worker each:

- medscale: ``medscale extract --manifest cases.csv --config filters-default --workers 1``
  (original + LoG 1, 2, 3 mm + the 8 level-1 coif1 sub-bands; first-order and texture
  families; IBSI-2 filters, float32 responses cropped to the ROI box plus the kernel support);
- pyradiomics 3.1.0 batch CLI with imageType Original + LoG (sigma 1, 2, 3) + Wavelet (coif1,
  level 1, 8 sub-bands: its defaults), feature classes firstorder, glcm, glrlm, glszm, gldm,
  ngtdm, binWidth 25, no resampling (venv from ../shared/peers/setup.sh, or $PEERS_VENV).

Part 2 (``--volume``): LoG (3 scales) and a level-1 wavelet (8 sub-bands) of one synthetic
512 x 512 x 120 volume, in-process: medscale's filter, pyradiomics' filter
(``radiomics.imageoperations.getLoGImage`` / ``getWaveletImage``) and the bare SciPy /
PyWavelets call (``ndimage.gaussian_laplace``, ``pywt.swtn``).

Wall time and peak RSS of the process tree (``resource.getrusage(RUSAGE_CHILDREN)`` in a probe
process). Results go to stdout and benchmarks/results/features_filters.md (part 1) and
features_filters_volume.md (part 2). The machine is
shared: run it under ``nice`` and read the figures as pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "features_filters.md"
VOLUME_RESULTS = REPO / "benchmarks" / "results" / "features_filters_volume.md"
CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
PYRADIOMICS_PARAMS = """\
imageType:
  Original: {}
  LoG:
    sigma: [1.0, 2.0, 3.0]
  Wavelet: {}
featureClass:
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

VOLUME_SHAPE = (120, 512, 512)  # z, y, x

MEDSCALE_VOLUME = """
import json, sys, time
import numpy as np
from medscale.features.filters.spec import apply_filter
from medscale.features.filters.wavelet import wavelet_bands
rng = np.random.default_rng(0)
volume = rng.normal(0, 100, {shape}).astype(np.float32)
spacing = (1.0, 1.0, 1.0)
start = time.perf_counter()
for sigma in (1, 2, 3):
    response = apply_filter(volume, spacing, f"log:sigma_mm={{sigma}},boundary=mirror")
    del response
log = time.perf_counter() - start
start = time.perf_counter()
for band, response in wavelet_bands(volume, name="coif1", level=1, boundary="mirror"):
    del response
wavelet = time.perf_counter() - start
print(json.dumps({{"log_s": log, "wavelet_s": wavelet}}))
"""

BARE_VOLUME = """
import json, time
import numpy as np
import pywt
from scipy import ndimage
rng = np.random.default_rng(0)
volume = rng.normal(0, 100, {shape}).astype(np.float32)
start = time.perf_counter()
for sigma in (1, 2, 3):
    response = ndimage.gaussian_laplace(volume, sigma, mode="reflect", truncate=4.0)
    del response
log = time.perf_counter() - start
start = time.perf_counter()
bands = pywt.swtn(volume, "coif1", level=1, trim_approx=False)
del bands
wavelet = time.perf_counter() - start
print(json.dumps({{"log_s": log, "wavelet_s": wavelet}}))
"""

PYRADIOMICS_VOLUME = """
import json, logging, time
import numpy as np
import SimpleITK as sitk
from radiomics import imageoperations
logging.getLogger("radiomics").setLevel(logging.ERROR)
rng = np.random.default_rng(0)
array = rng.normal(0, 100, {shape}).astype(np.float32)
image = sitk.GetImageFromArray(array)
mask = sitk.GetImageFromArray(np.ones({shape}, dtype=np.uint8))
start = time.perf_counter()
for response, name, _ in imageoperations.getLoGImage(image, mask, sigma=[1.0, 2.0, 3.0]):
    del response
log = time.perf_counter() - start
start = time.perf_counter()
for response, name, _ in imageoperations.getWaveletImage(image, mask):
    del response
wavelet = time.perf_counter() - start
print(json.dumps({{"log_s": log, "wavelet_s": wavelet}}))
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


def medscale_command() -> str:
    found = shutil.which("medscale")
    return found if found else str(REPO / ".venv" / "bin" / "medscale")


def measured(command: list[str], *, capture: bool = False) -> dict:
    """Wall time and peak RSS (MiB) of `command` and its children, run from a probe process."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True)\n"
        "wall = time.perf_counter() - start\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'wall_s': wall, 'peak_mib': rss, 'stdout': done.stdout}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout)
    if capture:
        result["result"] = json.loads(result["stdout"].strip().splitlines()[-1])
    result.pop("stdout")
    return result


def batch(repeats: int) -> list[str]:
    data = data_dir()
    work = Path(tempfile.mkdtemp(prefix="medscale-filters-"))
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
        medscale_command(),
        "extract",
        "--manifest",
        str(work / "medscale.csv"),
        "--out",
        str(work / "run"),
        "--config",
        "filters-default",
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
    measured(medscale)  # warm-up: libraries into the page cache (pyradiomics: too slow to repeat)
    rounds = []
    for _ in range(repeats):  # alternate the tools so that load hits both alike
        load = os.getloadavg()[0]
        rounds.append(
            {"medscale": measured(medscale), "pyradiomics": measured(pyradiomics), "load": load}
        )
    import pandas as pd

    ours = pd.read_parquet(work / "run" / "features.parquet")
    theirs = pd.read_csv(work / "pyrad.csv")
    n_ours = sum(
        1 for c in ours.columns if c[0].isalpha() and c not in ("case_id", "image", "mask")
    )
    n_theirs = sum(1 for c in theirs.columns if c.startswith(("original_", "log-", "wavelet-")))
    best = {
        tool: min((r[tool] for r in rounds), key=lambda m: m["wall_s"])
        for tool in ("medscale", "pyradiomics")
    }
    peak = {tool: max(r[tool]["peak_mib"] for r in rounds) for tool in best}
    ratio = best["pyradiomics"]["wall_s"] / best["medscale"]["wall_s"]
    shutil.rmtree(work, ignore_errors=True)
    return [
        "## Batch: five sample cases, original + LoG (1, 2, 3 mm) + level-1 coif1 wavelet",
        "",
        "Whole processes from a fresh start (start-up and file reads included), one worker each; "
        f"best of {repeats} alternating round(s) after a medscale warm-up; peak RSS of the "
        "process tree. 1-minute load average at the start of each round: "
        + ", ".join(f"{r['load']:.1f}" for r in rounds)
        + " (shared 2-core machine: the figures are pessimistic for both tools).",
        "",
        "| tool | command | features per case | wall (s) | peak RSS (MiB) |",
        "| --- | --- | --- | --- | --- |",
        f"| medscale | `medscale extract --manifest ... --config filters-default --workers 1` | "
        f"{n_ours} | {best['medscale']['wall_s']:.1f} | {peak['medscale']:.0f} |",
        f"| pyradiomics 3.1.0 | `pyradiomics cases.csv --param params.yaml --jobs 1` | "
        f"{n_theirs} | {best['pyradiomics']['wall_s']:.1f} | {peak['pyradiomics']:.0f} |",
        "",
        f"- pyradiomics / medscale wall time: **{ratio:.1f}x** (goal >= 5x); peak memory "
        f"medscale / pyradiomics {peak['medscale'] / peak['pyradiomics']:.2f}.",
        "- Every round: "
        + ", ".join(
            f"{r['pyradiomics']['wall_s'] / r['medscale']['wall_s']:.1f}x "
            f"({r['medscale']['wall_s']:.1f} s vs {r['pyradiomics']['wall_s']:.1f} s)"
            for r in rounds
        ),
        "- Not the same features: medscale uses the IBSI-2 filter definitions (LoG not "
        "scale-normalised, mirror boundary, undecimated wavelet on the image grid) and the IBSI "
        "texture families (also GLDZM and NGLDM, 3-D averaged), pyradiomics its own; the "
        "comparison is of the work a user asks for with the usual image types.",
    ]


def volume() -> list[str]:
    shape = repr(VOLUME_SHAPE)
    rows = {}
    env_python = sys.executable
    rows["medscale"] = measured(
        [env_python, "-c", MEDSCALE_VOLUME.format(shape=shape)], capture=True
    )
    rows["SciPy / PyWavelets (bare)"] = measured(
        [env_python, "-c", BARE_VOLUME.format(shape=shape)], capture=True
    )
    rows["pyradiomics 3.1.0"] = measured(
        [peers_python(), "-c", PYRADIOMICS_VOLUME.format(shape=shape)], capture=True
    )
    lines = [
        "",
        f"## One volume: {VOLUME_SHAPE[2]} x {VOLUME_SHAPE[1]} x {VOLUME_SHAPE[0]} (x, y, z), "
        "float32, 1 mm voxels",
        "",
        f"In-process filter time (volume creation excluded); load {os.getloadavg()[0]:.1f} at "
        "the end. LoG: sigma 1, 2, 3 mm, one response at a time; wavelet: the 8 level-1 coif1 "
        "sub-bands (medscale: undecimated, shared 1-D passes; pywt.swtn: stationary, all bands "
        "at once; pyradiomics: its swt-based getWaveletImage).",
        "",
        "| implementation | LoG x 3 (s) | wavelet, 8 bands (s) | peak RSS (MiB) |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['result']['log_s']:.1f} | {row['result']['wavelet_s']:.1f} | "
            f"{row['peak_mib']:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--volume", action="store_true", help="also the 512x512x120 filters")
    parser.add_argument("--volume-only", action="store_true", help="only the 512x512x120 part")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = []
    if not args.volume_only:
        parts.append((RESULTS, batch(args.repeats), ""))
    if args.volume or args.volume_only:
        parts.append((VOLUME_RESULTS, volume(), " --volume-only"))
    for path, lines, flag in parts:
        header = [
            "# Filtered-image features: medscale vs pyradiomics",
            "",
            f"Measured {started} with "
            f"`nice -n 10 python benchmarks/bench_features_filters.py{flag}`.",
            "",
        ]
        text = "\n".join(header + lines) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(text)


if __name__ == "__main__":
    main()
