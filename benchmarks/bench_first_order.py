"""Time the first-order families (morphology, local intensity, statistics, histogram, IVH).

Usage: ``.venv/bin/python benchmarks/bench_first_order.py [--repeat 5]``

Runs each family's ``compute`` on the pyradiomics sample cases (public data in
``../shared/data/samples``) the way the chain calls it: cropped to the ROI bounding box (+1
voxel for morphology, + the 6.2 mm sphere radius for local intensity), original grid, fixed
bin size 25 for the histogram. Prints the median time per family and case, in ms.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics as pystats
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from medscale.features import intensity_histogram, ivh, local_intensity, morphology
from medscale.features import statistics as stat_family
from medscale.io import read_image, read_mask

DATA = Path(
    os.environ.get("MEDSCALE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CASES = ("breast1", "brain2", "lung1", "brain1", "lung2")


def crop(mask: np.ndarray, margin: tuple[int, int, int]) -> tuple[slice, ...]:
    where = np.nonzero(mask)
    return tuple(
        slice(max(int(w.min()) - m, 0), min(int(w.max()) + m + 1, n))
        for w, m, n in zip(where, margin, mask.shape, strict=True)
    )


def timed(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000.0 * pystats.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(
        f"{'case':<9}{'voxels':>8}{'morph':>9}{'local':>9}{'stat':>8}{'ih':>8}{'ivh':>8}"
        f"{'total':>9}   (ms, median of {args.repeat})"
    )
    for case in CASES:
        image = read_image(DATA / "samples" / f"{case}_image.nrrd")
        mask = read_mask(DATA / "samples" / f"{case}_label.nrrd").array.astype(bool)
        spacing = image.spacing
        intensity = np.asarray(image.array, dtype=np.float64)
        box = crop(mask, (1, 1, 1))
        m, x = mask[box], intensity[box]
        margin = tuple(int(math.ceil(local_intensity.SPHERE_RADIUS_MM / s)) for s in spacing)
        local_box = crop(mask, margin)
        values = intensity[mask]
        levels = (np.floor((values - values.min()) / 25.0) + 1).astype(np.int64)
        n_levels = int(levels.max())
        calls = {
            "morph": partial(morphology.compute, m, spacing, intensity=x, intensity_mask=m),
            "local": partial(
                local_intensity.compute, intensity[local_box], mask[local_box], spacing
            ),
            "stat": partial(stat_family.compute, values),
            "ih": partial(intensity_histogram.compute, levels, n_levels),
            "ivh": partial(ivh.compute, values, discretisation="none"),
        }
        times = {name: timed(call, args.repeat) for name, call in calls.items()}
        total = sum(times.values())
        print(
            f"{case:<9}{int(mask.sum()):>8}"
            + "".join(
                f"{v:>9.1f}" if k in ("morph", "local") else f"{v:>8.1f}" for k, v in times.items()
            )
            + f"{total:>9.1f}"
        )


if __name__ == "__main__":
    main()
