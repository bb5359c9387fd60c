"""Gabor in three orthogonal planes (IBSI-2 phase-2 configuration 5.B): before / after.

    python benchmarks/bench_gabor.py [--repeats 1]

On the IBSI CT phantom (../shared/data/ibsi1/ct_phantom/nifti) with the ``ibsi2-5b`` preset
(sigma 5 mm, lambda 2 mm, gamma 1.5, 16 orientations, axial + coronal + sagittal planes,
mirror boundary), in-process, one thread:

- ``extract``: the whole ``medscale.features.extract(image, mask, "ibsi2-5b")`` call, wall time
  and the engine's ``filters`` timing;
- ``before``: the former algorithm on the same working region (the engine's prepared
  intensities): one ``scipy.signal.fftconvolve`` per orientation and plane, 16 x 3 = 48 calls;
- ``after``: `medscale.features.filters.gabor_filter` (one spectrum per plane reused by the
  orientations; theta and theta + pi computed once), and the largest difference of the two
  responses as a fraction of the response range.

Results go to stdout and benchmarks/results/features_gabor.md. The machine is shared: run it
under ``nice`` and read the figures as pessimistic.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import signal

from medscale.features import extract
from medscale.features.chain import prepare
from medscale.features.extract import filter_margin
from medscale.features.filters import gabor_filter
from medscale.features.filters.base import Boundary, pad
from medscale.features.filters.gabor import PLANES, gabor_kernel
from medscale.features.settings import load_settings
from medscale.io import read_image, read_mask

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ibsi1" / "ct_phantom"
RESULTS = Path(__file__).resolve().parent / "results" / "features_gabor.md"
PARAMS = {"sigma_mm": 5.0, "wavelength_mm": 2.0, "gamma": 1.5, "theta_step": np.pi / 8}


def before(array: np.ndarray) -> np.ndarray:
    """The former implementation: a fresh fftconvolve for every orientation and plane."""
    thetas = np.arange(0.0, 2.0 * np.pi - 1e-9, PARAMS["theta_step"])
    total = np.zeros_like(array)
    for angle in thetas:
        kernel = gabor_kernel(sigma_vox=5.0, wavelength_vox=2.0, gamma=1.5, theta=float(angle))
        radius = kernel.shape[0] // 2
        for plane in PLANES:
            padded = pad(array, radius, Boundary.MIRROR, plane)
            shape = [1, 1, 1]
            shape[plane[0]], shape[plane[1]] = kernel.shape
            out = signal.fftconvolve(padded, kernel.reshape(shape), mode="valid", axes=plane)
            total += np.abs(out)
    return total / (len(thetas) * len(PLANES))


def after(array: np.ndarray) -> np.ndarray:
    return gabor_filter(
        array,
        sigma_mm=PARAMS["sigma_mm"],
        wavelength_mm=PARAMS["wavelength_mm"],
        gamma=PARAMS["gamma"],
        spacing_mm=(1.0, 1.0, 1.0),
        boundary="mirror",
        rot_inv=True,
        theta_step=PARAMS["theta_step"],
        orthogonal_planes=True,
    )


def best_of(repeats: int, call):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    image = read_image(DATA / "nifti" / "phantom.nii.gz")
    mask = read_mask(DATA / "nifti" / "mask.nii.gz")
    settings = load_settings("ibsi2-5b")
    runs: list[tuple[float, dict[str, float]]] = []
    for _ in range(args.repeats):
        timings: dict[str, float] = {}
        start = time.perf_counter()
        extract(image, mask, settings, timings=timings)
        runs.append((time.perf_counter() - start, timings))
    wall, timings = min(runs, key=lambda run: run[0])
    margin = filter_margin(settings, (1.0, 1.0, 1.0))
    region = prepare(image, mask, settings, margin=margin).intensity.astype(np.float64)
    t_before, old = best_of(args.repeats, lambda: before(region))
    t_after, new = best_of(args.repeats, lambda: after(region))
    error = float(np.max(np.abs(old - new)) / (new.max() - new.min()))
    lines = [
        "# Gabor, three orthogonal planes (IBSI-2 5.B), before / after",
        "",
        "`python benchmarks/bench_gabor.py` on the IBSI CT phantom, one thread, shared 2-core",
        f"machine (pessimistic), best of {args.repeats}. Working region {region.shape} voxels.",
        "",
        "| what | time |",
        "| --- | --- |",
        f"| before: 48 `fftconvolve` calls | {t_before:.2f} s |",
        f"| after: `gabor_filter` (8 orientations x 3 planes, spectrum reused) | {t_after:.2f} s |",
        f"| speed-up | x{t_before / t_after:.1f} |",
        f"| `extract(..., 'ibsi2-5b')` now, whole call | {wall:.2f} s "
        f"(filters {timings.get('filters', 0.0):.2f} s) |",
        "",
        f"Largest |before - after| / response range: {error:.1e}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
