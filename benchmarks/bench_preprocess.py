"""Preprocessing speed: each medscale step against a direct call of the library it wraps.

    python benchmarks/bench_preprocess.py [--shape 120,512,512] [--repeats 3] [--write]

A float32 CT-like volume (default 512 x 512 x 120 voxels, 0.7 x 0.7 x 2.5 mm) goes through every
step and through the equivalent bare SciPy / SimpleITK / scikit-image call. Calls alternate
(ours, library, ours, ...) and the best of `repeats` is kept, so machine load hits both sides
alike. The ratio ours / library should stay below 1.5 (no hidden copies). The slow 3-D
filters (bilateral, non-local means, CLAHE, N4) run on a sub-volume, named in the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from medscale import Image  # noqa: E402
from medscale import preprocess as pp  # noqa: E402
from medscale.preprocess.intensity import window_bounds  # noqa: E402
from medscale.preprocess.resample import resampled_shape  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "preprocess.md"
SPACING = (2.5, 0.7, 0.7)


def _volume(shape: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    z, y, x = (np.linspace(-1, 1, n, dtype=np.float32) for n in shape)
    body = (y[None, :, None] ** 2 + x[None, None, :] ** 2) < 0.8
    array = np.where(body, 40.0, -1000.0).astype(np.float32) + z[:, None, None] * 0
    array += rng.normal(0, 20, shape).astype(np.float32)
    return array


def _sitk(array: np.ndarray, spacing: tuple[float, ...] = SPACING):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing(tuple(reversed(spacing)))
    return image


def cases(array: np.ndarray) -> list[tuple[str, str, Callable[[], object], Callable[[], object]]]:
    """(step, size, medscale call, direct library call)."""
    import SimpleITK as sitk
    from scipy import ndimage
    from skimage import exposure, filters, restoration

    image = Image(array, spacing=SPACING)
    full = "x".join(str(n) for n in array.shape[::-1])
    small = array[:16, :256, :256]
    small_image = Image(small, spacing=SPACING)
    tiny = array[:8, :128, :128]
    tiny_image = Image(tiny, spacing=SPACING)
    sigma = np.array([1.0, 1.0, 1.0]) / np.array(SPACING)
    ball = pp.structuring_element(1.5, SPACING)
    mask = image.with_array(array > -500)
    low, high = window_bounds(preset="lung")

    def sitk_resample() -> np.ndarray:
        source = _sitk(array)
        shape = resampled_shape(image, np.array([1.0, 1.0, 1.0]))
        out = sitk.Resample(
            source,
            [int(n) for n in reversed(shape)],
            sitk.Transform(),
            sitk.sitkLinear,
            source.GetOrigin(),
            (1.0, 1.0, 1.0),
            source.GetDirection(),
            0.0,
            sitk.sitkFloat32,
            True,
        )
        return sitk.GetArrayFromImage(out)

    def sitk_n4() -> np.ndarray:
        source = _sitk(small + 1025)
        mask_image = sitk.OtsuThreshold(source, 0, 1, 200)
        shrunk = sitk.Shrink(source, [2, 2, 2])
        corrector = sitk.N4BiasFieldCorrectionImageFilter()
        corrector.SetMaximumNumberOfIterations([20] * 3)
        corrector.SetNumberOfControlPoints([4] * 3)
        corrector.Execute(shrunk, sitk.Shrink(mask_image, [2, 2, 2]))
        field = sitk.GetArrayFromImage(corrector.GetLogBiasFieldAsImage(source))
        return (small + 1025) / np.exp(field) - 1025

    sub = "x".join(str(n) for n in small.shape[::-1])
    tinys = "x".join(str(n) for n in tiny.shape[::-1])
    return [
        (
            "gaussian sigma 1 mm",
            full,
            lambda: pp.gaussian(image, sigma_mm=1.0),
            lambda: ndimage.gaussian_filter(array, sigma, output=np.float32),
        ),
        (
            "median 3",
            full,
            lambda: pp.median(image, size=3),
            lambda: sitk.GetArrayFromImage(sitk.Median(_sitk(array), [1, 1, 1])),
        ),
        (
            "window lung",
            full,
            lambda: pp.window(image, preset="lung"),
            lambda: np.clip(array, low, high, dtype=np.float32),
        ),
        (
            "unsharp 1 mm",
            full,
            lambda: pp.unsharp(image, sigma_mm=1.0, amount=1.0),
            lambda: filters.unsharp_mask(array, radius=sigma, amount=1.0, preserve_range=True),
        ),
        (
            "erode ball 1.5 mm (grey)",
            full,
            lambda: pp.erode(image, radius_mm=1.5),
            lambda: ndimage.grey_erosion(array, footprint=ball),
        ),
        (
            "dilate ball 1.5 mm (mask)",
            full,
            lambda: pp.dilate(mask, radius_mm=1.5),
            lambda: ndimage.binary_dilation(mask.array, ball),
        ),
        (
            "opening ball 1.5 mm (grey)",
            full,
            lambda: pp.opening(image, radius_mm=1.5),
            lambda: ndimage.grey_opening(array, footprint=ball),
        ),
        (
            "fill_holes (mask)",
            full,
            lambda: pp.fill_holes(mask),
            lambda: ndimage.binary_fill_holes(mask.array, ndimage.generate_binary_structure(3, 1)),
        ),
        (
            "resample to 1 mm linear",
            full,
            lambda: pp.resample(image, spacing_mm=1.0),
            sitk_resample,
        ),
        (
            "zscore",
            full,
            lambda: pp.zscore(image),
            lambda: (array - array.mean(dtype=np.float64)) / array.std(dtype=np.float64),
        ),
        ("equalize", full, lambda: pp.equalize(image), lambda: exposure.equalize_hist(array)),
        (
            "bilateral 1 mm / 50 HU",
            sub,
            lambda: pp.bilateral(small_image, sigma_mm=1.0, sigma_intensity=50.0),
            lambda: sitk.GetArrayFromImage(sitk.Bilateral(_sitk(small), 1.0, 50.0)),
        ),
        (
            "clahe",
            sub,
            lambda: pp.clahe(small_image),
            lambda: exposure.equalize_adapthist((small - small.min()) / np.ptp(small)),
        ),
        (
            # radii in mm of 1 and 5 voxels on every axis: the work scikit-image does
            "nlmeans h=20 patch 1 / search 5 vox",
            tinys,
            lambda: pp.nlmeans(
                tiny_image,
                h=20.0,
                patch_radius_mm=SPACING,
                search_radius_mm=tuple(5 * s for s in SPACING),
            ),
            lambda: restoration.denoise_nl_means(
                tiny, h=20.0, patch_size=3, patch_distance=5, fast_mode=True, channel_axis=None
            ),
        ),
        (
            "n4 (shrink 2, 3 x 20 it.)",
            sub,
            lambda: pp.n4(small_image, shrink=2, iterations=20, levels=3),
            sitk_n4,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="120,512,512", help="z,y,x voxels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated step-name prefixes")
    parser.add_argument("--write", action="store_true", help="write results/preprocess.md")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    array = _volume(shape)  # type: ignore[arg-type]
    lines = [
        "| step | volume (x y z) | medscale (s) | library (s) | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    print("\n".join(lines), flush=True)
    wanted = [w for w in args.only.split(",") if w]
    for name, size, ours, direct in cases(array):
        if wanted and not any(name.startswith(w) for w in wanted):
            continue
        best_ours, best_direct = np.inf, np.inf
        for _ in range(args.repeats):
            started = time.perf_counter()
            ours()
            best_ours = min(best_ours, time.perf_counter() - started)
            started = time.perf_counter()
            direct()
            best_direct = min(best_direct, time.perf_counter() - started)
        line = (
            f"| {name} | {size} | {best_ours:.3f} | {best_direct:.3f} | "
            f"{best_ours / best_direct:.2f} |"
        )
        lines.append(line)
        print(line, flush=True)
    if args.write:
        RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
