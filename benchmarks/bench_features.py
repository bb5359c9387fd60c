"""medscale features vs pyradiomics on the five pyradiomics sample cases, in one job.

Run: ``.venv/bin/python benchmarks/bench_features.py [DATA_DIR]`` (default ../shared/data).
pyradiomics comes from the peers venv (``PEERS_VENV``, default ~/.cache/medscale-peers/venv;
build it with ``PEERS_SKIP_MIRP=1 bash ../shared/peers/setup.sh``).

Each tool runs in its own subprocess (so that its peak RSS is its own): per case a warm-up,
then the best of 3 of *read image + mask and extract every feature* (original image, 3-D,
fixed bin size 25, no resampling; pyradiomics: all feature classes, binWidth 25). The I/O floor
is the best of 3 of reading image + mask with SimpleITK and taking the masked mean (measured in
the medscale process, right after each case, so that both see the same machine load). medscale's
time per family (summed over cases) shows where its time goes. The two tools alternate over
3 rounds (the machine is shared; each case's best round is reported, and each round's median
ratio too). Results are printed and written
to benchmarks/results/features.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
REPEATS = 3
ROUNDS = 3  # medscale and pyradiomics alternate; the best round per case is reported
# Features defined the same way by IBSI and pyradiomics (no discretisation involved).
SAME_DEFINITION = {
    "stat_mean": "original_firstorder_Mean",
    "stat_var": "original_firstorder_Variance",
    "stat_skew": "original_firstorder_Skewness",
    "stat_median": "original_firstorder_Median",
    "stat_min": "original_firstorder_Minimum",
    "stat_max": "original_firstorder_Maximum",
    "stat_energy": "original_firstorder_Energy",
    "morph_volume": "original_shape_MeshVolume",
    "morph_vol_approx": "original_shape_VoxelVolume",
    "morph_area_mesh": "original_shape_SurfaceArea",
    "morph_sphericity": "original_shape_Sphericity",
}


def _best(function, repeats: int = REPEATS) -> tuple[float, object]:
    function()  # warm-up
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _floor_seconds(data: Path, case: str) -> float:
    """Best time to read image + mask with SimpleITK and take the masked mean."""
    import SimpleITK as sitk

    def read() -> float:
        image = sitk.GetArrayFromImage(sitk.ReadImage(str(data / f"{case}_image.nrrd")))
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(data / f"{case}_label.nrrd")))
        return float(image[mask == 1].mean())

    return _best(read)[0]


def worker_medscale(data: Path) -> dict:
    import warnings

    from medscale.errors import MedscaleWarning
    from medscale.features import extract, load_settings
    from medscale.io import read_image, read_mask

    warnings.simplefilter("ignore", MedscaleWarning)
    settings = load_settings("default")
    out, families = {}, {}
    for case in CASES:

        def run(case=case, timings=None):
            image = read_image(data / f"{case}_image.nrrd")
            mask = read_mask(data / f"{case}_label.nrrd", mask_label=1)
            return extract(image, mask, settings, timings=timings)

        seconds, features = _best(run)
        timings: dict[str, float] = {}
        run(timings=timings)
        for name, value in timings.items():
            families[name] = families.get(name, 0.0) + value
        out[case] = {
            "seconds": seconds,
            "n_features": len(features),
            "values": {key: float(features[key]) for key in SAME_DEFINITION},
            "slowest": max(timings, key=timings.__getitem__),
            "floor_seconds": _floor_seconds(data, case),
        }
    rss = _peak_rss_mib()
    ibsi = {}
    phantom = data.parent / "ibsi1" / "ct_phantom" / "nifti"
    if phantom.is_dir():
        image, mask = read_image(phantom / "phantom.nii.gz"), read_mask(phantom / "mask.nii.gz")
        for config in "abcde":
            seconds, _ = _best(lambda config=config: extract(image, mask, f"ibsi1-{config}"))
            ibsi[config.upper()] = seconds
    return {"cases": out, "families": families, "peak_rss_mib": rss, "ibsi": ibsi}


def worker_pyradiomics(data: Path) -> dict:
    import logging

    import radiomics
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    radiomics.logger.setLevel(logging.ERROR)
    extractor = RadiomicsFeatureExtractor(binWidth=25, label=1)
    extractor.enableAllFeatures()
    extractor.enableImageTypes(Original={})
    out = {}
    for case in CASES:

        def run(case=case):
            return extractor.execute(
                str(data / f"{case}_image.nrrd"), str(data / f"{case}_label.nrrd")
            )

        seconds, features = _best(run)
        n_features = sum(1 for key in features if not key.startswith("diagnostics_"))
        out[case] = {
            "seconds": seconds,
            "n_features": n_features,
            "values": {key: float(features[key]) for key in SAME_DEFINITION.values()},
        }
    return {"cases": out, "peak_rss_mib": _peak_rss_mib(), "version": str(radiomics.__version__)}


WORKERS = {"medscale": worker_medscale, "pyradiomics": worker_pyradiomics}


def _spawn(python: str, tool: str, data: Path) -> dict:
    command = [python, str(Path(__file__).resolve()), "--worker", tool, str(data)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _best_rounds(rounds: list[dict]) -> dict:
    """Per tool and case, the fastest round (timings only; the rest from the first round)."""
    best = json.loads(json.dumps(rounds[0]))
    for tool in best:
        for case in CASES:
            for key in ("seconds", "floor_seconds"):
                if key in best[tool]["cases"][case]:
                    best[tool]["cases"][case][key] = min(
                        r[tool]["cases"][case][key] for r in rounds
                    )
    return best


def _round_ratios(rounds: list[dict]) -> list[float]:
    return [
        statistics.median(
            r["pyradiomics"]["cases"][c]["seconds"] / r["medscale"]["cases"][c]["seconds"]
            for c in CASES
        )
        for r in rounds
    ]


def _report(results: dict, data: Path, round_ratios: list[float]) -> str:
    ours, theirs = results["medscale"], results["pyradiomics"]
    lines = [
        "# Feature extraction: medscale vs pyradiomics",
        "",
        f"Five pyradiomics sample cases ({data}), original image, 3-D, fixed bin size 25, no "
        "resampling. Per case: read image + mask and compute every feature; warm-up, then "
        f"best of {REPEATS}, in each of {ROUNDS} rounds that alternate the two tools; the table "
        "shows each case's best round. Each tool in its own process (peak RSS = that whole "
        "process). "
        "Floor: SimpleITK read of image + mask and the masked mean, timed in the medscale "
        "process right after medscale's case. Machine: "
        f"{os.cpu_count()} cores, shared with other jobs (timings are noisy).",
        "",
        "| case | ROI voxels | floor (s) | medscale (s) | pyradiomics (s) | pyradiomics / medscale "
        "| medscale / floor |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    voxels = {"brain1": 4137, "brain2": 453, "breast1": 143, "lung1": 837, "lung2": 24644}
    ratios = []
    for case in CASES:
        m, p = ours["cases"][case]["seconds"], theirs["cases"][case]["seconds"]
        f = ours["cases"][case]["floor_seconds"]
        ratios.append(p / m)
        lines.append(
            f"| {case} | {voxels[case]} | {f:.4f} | {m:.4f} | {p:.4f} | {p / m:.1f} | {m / f:.1f} |"
        )
    n_ours = ours["cases"][CASES[0]]["n_features"]
    n_theirs = theirs["cases"][CASES[0]]["n_features"]
    median_ours = statistics.median(ours["cases"][c]["seconds"] for c in CASES)
    median_theirs = statistics.median(theirs["cases"][c]["seconds"] for c in CASES)
    lines += [
        "",
        f"- Median ratio pyradiomics / medscale per case: **{statistics.median(ratios):.1f}x** "
        f"(target >= 3); median time medscale {median_ours:.3f} s, pyradiomics "
        f"{median_theirs:.3f} s. Median ratio of each round alone: "
        + ", ".join(f"{ratio:.1f}x" for ratio in round_ratios)
        + ".",
        f"- Features per case: medscale {n_ours} (IBSI-1 families), pyradiomics "
        f"{theirs.get('version', '')} {n_theirs}.",
        f"- Peak RSS: medscale {ours['peak_rss_mib']:.0f} MiB, pyradiomics "
        f"{theirs['peak_rss_mib']:.0f} MiB (whole processes, interpreter and libraries "
        "included).",
        "",
        "medscale time per stage, one run of each case, summed over the five cases:",
        "",
        "| stage | seconds | share |",
        "| --- | --- | --- |",
    ]
    total = sum(ours["families"].values())
    for name, seconds in sorted(ours["families"].items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.3f} | {100 * seconds / total:.0f}% |")
    lines += [
        "",
        "Slowest stage per case: "
        + ", ".join(f"{case} {ours['cases'][case]['slowest']}" for case in CASES)
        + ".",
    ]
    if ours.get("ibsi"):
        lines += [
            "",
            "IBSI-1 CT phantom (ROI 125 256 voxels; image already in memory; "
            "diagnostics included), extract() per configuration, best of "
            f"{REPEATS}: "
            + ", ".join(f"{config} {seconds:.2f} s" for config, seconds in ours["ibsi"].items())
            + ".",
        ]
    lines += [
        "",
        "Agreement with pyradiomics on features both define the same way (largest "
        "relative difference over the five cases):",
        "",
        "| medscale | pyradiomics | max relative difference |",
        "| --- | --- | --- |",
    ]
    for ours_name, their_name in SAME_DEFINITION.items():
        worst = max(
            abs(ours["cases"][c]["values"][ours_name] - theirs["cases"][c]["values"][their_name])
            / max(abs(theirs["cases"][c]["values"][their_name]), 1e-12)
            for c in CASES
        )
        lines.append(f"| {ours_name} | {their_name} | {worst:.2e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "--worker":
        print(json.dumps(WORKERS[sys.argv[2]](Path(sys.argv[3]))))
        return
    root = Path(__file__).resolve().parents[1]
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data"
    data = data / "samples" if (data / "samples").is_dir() else data
    venv = Path(os.environ.get("PEERS_VENV", Path.home() / ".cache/medscale-peers/venv"))
    peer_python = venv / "bin" / "python"
    if not peer_python.exists():
        sys.exit(
            f"pyradiomics venv not found at {venv}: run PEERS_SKIP_MIRP=1 bash "
            "../shared/peers/setup.sh (or set PEERS_VENV)"
        )
    rounds = []
    for _ in range(ROUNDS):  # alternate the tools so that both see the same machine load
        rounds.append(
            {
                "medscale": _spawn(sys.executable, "medscale", data),
                "pyradiomics": _spawn(str(peer_python), "pyradiomics", data),
            }
        )
    report = _report(_best_rounds(rounds), data, _round_ratios(rounds))
    out = root / "benchmarks" / "results" / "features.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
