"""How far can connected-threshold region growing go on the synthetic lesions? An oracle bound.

    python benchmarks/bench_region_bound.py [--start 1000] [--cases 30]

For each lesion of the segmentation benchmark's cohort (`generate_ct_case(i)`, seed 0; the seed
and 10 mm box of bench_segment.py), every intensity band [low, high] on a 5 HU grid is tried and
the component of the band that holds the seed, inside the box, is scored against the truth. The
best band per case is chosen *knowing the truth*, so its Dice is an upper bound for any region
growing that picks one band (connected threshold, confidence connected, seed statistics), on the
raw image and on a Gaussian-smoothed one (sigma 1 mm). Shape priors are not included: the figure
says how much of the lesion an intensity band can separate at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_segment import _lung_fraction, box_of, seed_of  # noqa: E402

BANDS = np.arange(-300, 305, 5)


def best_band_dice(values: np.ndarray, truth: np.ndarray, seed: tuple[int, ...]) -> float:
    """Highest Dice over the bands [low, high] of the seed's connected component."""
    best = 0.0
    truth_size = truth.sum()
    seed_value = values[seed]
    for low in BANDS[BANDS <= seed_value]:
        for high in BANDS[(BANDS >= seed_value) & (BANDS > low)]:
            band = (values >= low) & (values <= high)
            labels, _ = ndimage.label(band)
            region = labels == labels[seed]
            overlap = np.count_nonzero(region & truth)
            dice = 2 * overlap / (region.sum() + truth_size)
            best = max(best, dice)
            if region.sum() > 8 * truth_size:  # wider bands only grow the leak
                break
    return best


def main() -> None:
    from medscale.datasets import generate_ct_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for index in range(args.start, args.start + args.cases):
        case = generate_ct_case(index)
        seed, box = seed_of(case.mask), box_of(case.mask)
        crop = tuple(slice(lo, hi + 1) for lo, hi in zip(box[:3], box[3:], strict=True))
        local_seed = tuple(s - c.start for s, c in zip(seed, crop, strict=True))
        raw = case.image.array[crop].astype(np.float32)
        truth = case.mask.array[crop].astype(bool)
        sigma = [1.0 / s for s in case.image.spacing]
        smooth = ndimage.gaussian_filter(case.image.array.astype(np.float32), sigma)[crop]
        lung = _lung_fraction(case) >= 0.5
        row = (
            best_band_dice(raw, truth, local_seed),
            best_band_dice(smooth, truth, local_seed),
            lung,
        )
        rows.append(row)
        print(f"case {index}: raw {row[0]:.3f} smoothed {row[1]:.3f} lung {lung}", flush=True)
    table = np.array([(r[0], r[1]) for r in rows])
    lung = np.array([r[2] for r in rows])
    best = table.max(axis=1)
    print(
        f"\noracle band, cases {args.start}-{args.start + args.cases - 1}: "
        f"raw mean {table[:, 0].mean():.3f}, smoothed mean {table[:, 1].mean():.3f}, "
        f"best of both {best.mean():.3f} (median {np.median(best):.3f}, "
        f">= 0.90: {np.mean(best >= 0.9):.0%}); lung lesions {best[lung].mean():.3f} "
        f"({lung.sum()}), others {best[~lung].mean():.3f} ({(~lung).sum()})"
    )


if __name__ == "__main__":
    main()
