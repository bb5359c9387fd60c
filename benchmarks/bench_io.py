"""Reading speed of medscale.io against SimpleITK on the IBSI CT phantom (60 CT slices).

Run: ``.venv/bin/python benchmarks/bench_io.py [DATA_DIR]`` (default ../shared/data).
Prints the median wall time of each reader and the ratio medscale / SimpleITK.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def median_seconds(function: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    import SimpleITK as sitk

    from medscale.io.dicom import read_dicom
    from medscale.io.rtstruct import read_rtstruct_mask

    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "shared/data"
    series = data / "ibsi1/ct_phantom/dicom/image"
    rtstruct = data / "ibsi1/ct_phantom/dicom/mask/DCM_RS_00060.dcm"

    def read_sitk() -> np.ndarray:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(series)))
        return sitk.GetArrayFromImage(reader.Execute())

    ours = median_seconds(lambda: read_dicom(series))
    theirs = median_seconds(read_sitk)
    image = read_dicom(series)
    assert np.array_equal(image.array, read_sitk()[::1]) or np.array_equal(
        image.array, read_sitk()[::-1]
    ), "readers disagree on the voxels"
    voxels = image.array.size
    print(
        f"DICOM series (60 x 201 x 204): medscale {ours * 1e3:.0f} ms, "
        f"SimpleITK {theirs * 1e3:.0f} ms, ratio {ours / theirs:.2f}; "
        f"medscale {voxels / ours / 1e6:.1f} Mvoxel/s"
    )
    raster = median_seconds(lambda: read_rtstruct_mask(rtstruct, image, roi="GTV-1"))
    print(f"RTSTRUCT GTV-1 (26 contours, 9 661 points) rasterised in {raster * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
