"""Feature robustness (ICC(3,1)) on the pyradiomics sample cases, and its cost.

The 5 image/label pairs of ``shared/data/samples`` (brain1, brain2, breast1, lung1, lung2: MR,
MR, breast MR, CT, CT), ``default`` settings (every family, bin width 25), each case extracted
as given and under the 5 perturbations of `medscale.models.robustness` (one-voxel erode and
dilate, 10 % ROI-std noise, 3-degree rotation, bin width x 1.25). Prints per family the number of
features, how many are robust (ICC >= 0.75) and the median ICC, a few named features, and the
wall time. Five very different cases is a small, heterogeneous cohort: the figures say how the
machinery behaves on real images, not how robust a feature is in a given study.

    python benchmarks/bench_robustness.py [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from medscale.models.robustness import assess_manifest

CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
NAMED = ("stat_mean", "stat_var", "morph_volume", "ih_entropy", "cm_contrast_3D_avg")


def data_dir() -> Path:
    return Path(os.environ.get("MEDSCALE_DATA", Path(__file__).parents[2] / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    samples = data_dir() / "samples"
    cases = [
        {
            "case_id": name,
            "image": str(samples / f"{name}_image.nrrd"),
            "mask": str(samples / f"{name}_label.nrrd"),
        }
        for name in CASES
    ]
    start = time.perf_counter()
    result = assess_manifest(cases, "default", workers=args.workers)
    wall = time.perf_counter() - start
    table = result.table.set_index("feature")
    table["family"] = table.index.str.split("_").str[0]
    summary = table.groupby("family").agg(
        features=("icc", "size"), robust=("robust", "sum"), median_icc=("icc", "median")
    )
    print(f"{result.n_cases} cases, {len(result.failures)} skipped, wall {wall:.1f} s")
    print(f"{result.n_robust} of {len(table)} features robust (ICC >= 0.75)")
    print(summary.round(3).to_string())
    print(table.loc[list(NAMED), ["icc", "ci_low", "ci_high", "robust"]].round(3).to_string())


if __name__ == "__main__":
    main()
