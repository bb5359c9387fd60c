"""Float NIfTI reading: medscale.io.read_image against SimpleITK, 120 x 512 x 512 float32 images.

Run: ``.venv/bin/python benchmarks/bench_nifti.py [REPEATS]`` (default 7). Writes six files to a
temporary folder (float32 .nii and .nii.gz: zero background as in normalised MRI, PET or
probability maps, with and without one NaN voxel; and dense noise without any zero) and
prints the median wall time of

- ``medscale.io.read_image`` (voxels decoded by medscale.io.nifti, NaN kept),
- ``sitk.ReadImage`` alone (NaN read as 0) and with ``sitk.GetArrayFromImage`` (what medscale
  returned before, a NumPy array),
- the medscale decoder with the standard library's zlib instead of zlib-ng (.nii.gz only),

and the ratio medscale / ``sitk.ReadImage``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

SHAPE = (120, 512, 512)


def interleaved_medians(
    functions: dict[str, Callable[[], object]], repeats: int
) -> dict[str, float]:
    """Median wall time of each function, run in turn within each repeat (so that every reader
    sees the same load on a shared machine)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _with_stdlib_zlib(path: Path) -> object:
    """read_image with the medscale decoder inflating through the standard library's zlib."""
    from medscale.io import nifti, read_image

    fast, nifti._zlib = nifti._zlib, zlib
    try:
        return read_image(path)
    finally:
        nifti._zlib = fast


def write_cases(folder: Path) -> dict[str, Path]:
    """The four benchmark files: a noisy disc of radius 180 voxels in each slice, zero outside."""
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    y, x = np.ogrid[: SHAPE[1], : SHAPE[2]]
    disc = (y - 256) ** 2 + (x - 256) ** 2 < 180**2
    array = np.zeros(SHAPE, np.float32)
    array[:, disc] = rng.normal(100, 20, (SHAPE[0], int(disc.sum())))
    cases = {}
    for tag in ("zeros", "zeros+NaN", "dense"):
        if tag == "zeros+NaN":
            array[60, 10, 10] = np.nan
        if tag == "dense":  # no zero voxel: nothing ITK could have zeroed
            array = rng.normal(100, 20, SHAPE).astype(np.float32)
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((0.8, 0.8, 2.0))
        for suffix in (".nii", ".nii.gz"):
            # one folder each: ITK 5.4 reads the voxels of x.nii when asked for x.nii.gz beside it
            path = folder / f"{tag.replace('+', '_')}{suffix.replace('.', '_')}" / f"image{suffix}"
            path.parent.mkdir()
            sitk.WriteImage(image, str(path), useCompression=suffix == ".nii.gz")
            cases[f"float32 {suffix:7s} {tag}"] = path
    return cases


def main() -> None:
    import SimpleITK as sitk

    from medscale.io import read_image

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as folder:
        cases = write_cases(Path(folder))
        print(f"{SHAPE[0]} x {SHAPE[1]} x {SHAPE[2]} float32, median of {repeats} reads (s)")
        print(
            f"{'file':26s} {'medscale':>9s} {'sitk.Read':>9s} {'+array':>9s} "
            f"{'ratio':>6s} {'stdlib zlib':>11s}  NaN kept"
        )
        for label, path in cases.items():
            readers = {
                "medscale": lambda p=path: read_image(p),
                "alone": lambda p=path: sitk.ReadImage(str(p)),
                "array": lambda p=path: sitk.GetArrayFromImage(sitk.ReadImage(str(p))),
            }
            if path.name.endswith(".gz"):
                readers["stdlib"] = lambda p=path: _with_stdlib_zlib(p)
            medians = interleaved_medians(readers, repeats)
            ours, alone = medians["medscale"], medians["alone"]
            stdlib = f"{medians['stdlib']:.3f}" if "stdlib" in medians else "-"
            array = read_image(path).array
            kept = "yes" if np.isnan(array[60, 10, 10]) else "-"
            print(
                f"{label:26s} {ours:9.3f} {alone:9.3f} {medians['array']:9.3f} "
                f"{ours / alone:6.2f} {stdlib:>11s}  {kept}"
            )


if __name__ == "__main__":
    main()
