"""Segmentation benchmark: Dice and HD95 of every method on the synthetic cohort's lesions and
on the pyradiomics sample cases; U-Net training and inference time.

    python benchmarks/bench_segment.py                 # train the U-Net if missing, evaluate all
    python benchmarks/bench_segment.py train --model build/unet --threads 2   # a model folder
    python benchmarks/bench_segment.py evaluate --model build/unet --cases 30
    python benchmarks/bench_segment.py speed --model build/unet --threads 2
    python benchmarks/bench_segment.py evaluate --no-unet --start 0 --methods region_growing
    python benchmarks/bench_segment.py evaluate --no-unet --random-seeds

Protocol (synthetic cohort, `medscale.datasets.generate_ct_case`, seed 0): the U-Net trains on
cases 0..N-1 and every method is scored on cases 1000..1000+M-1 (never seen in training). Each
method gets the seed (the lesion voxel nearest to the label's centroid) and a box (the label's
bounding box grown by 10 mm); methods that do not use a seed keep the connected component at
the seed. The U-Net is also scored on the whole image with no seed or box. Samples: lung1,
lung2, breast1 from the shared data (``*_image.nrrd`` / ``*_label.nrrd``), seed = centroid.
Tune on cases below 1000 (``--start 0``); ``--random-seeds`` puts the seed at a random lesion
voxel at least 2 mm deep (robustness to where a user clicks).
Results are printed and written to benchmarks/results/segment.md (with `--write`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from medscale import Image, Mask  # noqa: E402

DEFAULT_MODEL = Path(os.environ.get("MEDSCALE_UNET", ROOT / "build" / "unet-synthetic"))
RESULTS = ROOT / "benchmarks" / "results" / "segment.md"
SYNTHETIC_METHODS = [
    "otsu",
    "kmeans",
    "gmm",
    "edges",
    "watershed",
    "region_growing",
    "confidence_connected",
    "morphological_chan_vese",
    "geodesic_active_contour",
]
SAMPLE_METHODS = [
    "region_growing",
    "confidence_connected",
    "watershed",
    "morphological_chan_vese",
    "geodesic_active_contour",
    "otsu",
    "kmeans",
]


def seed_of(mask: Mask) -> tuple[int, int, int]:
    """The mask voxel nearest (in mm) to the mask's centroid."""
    points = np.argwhere(mask.array)
    centre = points.mean(axis=0)
    distance = (((points - centre) * np.asarray(mask.spacing)) ** 2).sum(axis=1)
    return tuple(int(v) for v in points[int(np.argmin(distance))])  # type: ignore[return-value]


def random_seed_of(mask: Mask, rng: np.random.Generator, depth_mm: float = 2.0) -> tuple[int, ...]:
    """A random mask voxel at least `depth_mm` from the mask's border (any voxel if none)."""
    from scipy import ndimage

    deep = ndimage.distance_transform_edt(mask.array, sampling=mask.spacing) >= depth_mm
    points = np.argwhere(deep if deep.any() else mask.array)
    return tuple(int(v) for v in points[int(rng.integers(len(points)))])


def box_of(mask: Mask, margin_mm: float = 10.0) -> tuple[int, ...]:
    lower, upper = mask.bounding_box()
    margin = np.ceil(margin_mm / np.asarray(mask.spacing)).astype(int)
    lower = np.maximum(lower - margin, 0)
    upper = np.minimum(upper + margin, mask.shape)
    return tuple(int(v) for v in (*lower, *upper))


def train(args: argparse.Namespace) -> Path:
    import torch

    from medscale.datasets import generate_ct_case
    from medscale.segment.unet import UNetSettings, train_unet

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    cases = [generate_ct_case(i) for i in range(args.train_cases)]
    settings = UNetSettings(
        base_channels=args.base_channels,
        depth=3,
        pixel_spacing_mm=float(cases[0].image.spacing[2]),
        context_slices=args.context,
    )
    model = train_unet(
        [c.image for c in cases],
        [c.mask for c in cases],
        settings=settings,
        epochs=args.epochs,
        batch_size=16,
        learning_rate=2e-3,
        crop_size=args.crop or None,
        negative_fraction=args.negative_fraction,
        max_seconds=args.max_seconds,
        seed=0,
    )
    elapsed = time.perf_counter() - started
    path = model.save(args.model)
    print(
        f"U-Net trained on {len(cases)} synthetic cases with {args.threads} threads in "
        f"{elapsed:.0f} s (data generation included); saved to {path}"
    )
    return path


def _score(method: str, image: Image, truth: Mask, **params: object) -> dict[str, float]:
    from medscale.segment import evaluate, segment

    started = time.perf_counter()
    mask = segment(image, method, **params)
    scores = evaluate(mask, truth)
    scores["seconds"] = time.perf_counter() - started
    return scores


def _summary(rows: list[dict[str, float]]) -> str:
    dice = np.array([r["dice"] for r in rows])
    hd95 = np.array([r["hd95_mm"] for r in rows], dtype=float)
    seconds = np.mean([r["seconds"] for r in rows])
    return (
        f"| {np.mean(dice):.3f} | {np.median(dice):.3f} | {np.mean(dice >= 0.9):.0%} | "
        f"{np.nanmedian(hd95):.1f} | {seconds:.2f} |"
    )


def evaluate_synthetic(args: argparse.Namespace, model: Path | None) -> list[str]:
    from medscale.datasets import generate_ct_case

    methods = [m for m in SYNTHETIC_METHODS if not args.methods or m in args.methods.split(",")]
    results: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    unet_rows: dict[str, list[dict[str, float]]] = {
        "unet (whole image)": [],
        "unet (whole image, largest component)": [],
        "unet (seed + box)": [],
    }
    lung_only: dict[str, list[float]] = {}
    rng = np.random.default_rng(7)
    for index in range(args.start, args.start + args.cases):
        case = generate_ct_case(index)
        seed, box = seed_of(case.mask), box_of(case.mask)
        if args.random_seeds:
            seed = random_seed_of(case.mask, rng)
        in_lung = _lung_fraction(case) >= 0.5
        for method in methods:
            row = _score(method, case.image, case.mask, seed=seed, box=box)
            results[method].append(row)
            if in_lung:
                lung_only.setdefault(method, []).append(row["dice"])
        if model is not None:
            net: dict[str, object] = {"model": str(model)}
            if args.unet_threshold is not None:  # else the method's defaults (hysteresis)
                net["threshold"] = args.unet_threshold
            whole = _score("unet", case.image, case.mask, **net)
            largest = _score("unet", case.image, case.mask, **net, largest_component=True)
            unet_rows["unet (whole image, largest component)"].append(largest)
            seeded = _score("unet", case.image, case.mask, **net, seed=seed, box=box)
            unet_rows["unet (whole image)"].append(whole)
            unet_rows["unet (seed + box)"].append(seeded)
            if in_lung:
                lung_only.setdefault("unet (whole image)", []).append(whole["dice"])
                lung_only.setdefault("unet (whole image, largest component)", []).append(
                    largest["dice"]
                )
        print(
            f"{case.case_id}: "
            + " ".join(f"{m}={results[m][-1]['dice']:.2f}" for m in methods)
            + (f" unet={unet_rows['unet (whole image)'][-1]['dice']:.2f}" if model else ""),
            flush=True,
        )
    results.update({k: v for k, v in unet_rows.items() if v})
    n_lung = len(next(iter(lung_only.values()), []))
    lines = [
        f"### Synthetic cohort: {args.cases} lesions (cases {args.start}-"
        f"{args.start + args.cases - 1}, seed 0"
        + (", random seeds >= 2 mm deep)" if args.random_seeds else ")"),
        "",
        f"Lesions whose surface touches lung for >= 50 %: {n_lung} of {args.cases}; the others "
        "touch the chest wall or mediastinum, where lesion and soft tissue have the same HU.",
        "",
        "| method | mean Dice | median Dice | Dice >= 0.90 | median HD95 (mm) | s/case | "
        "mean Dice, lung lesions |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method, rows in results.items():
        lung = lung_only.get(method, [])
        lung_text = f"{np.mean(lung):.3f}" if lung else "-"
        lines.append(f"| {method} {_summary(rows)} {lung_text} |")
    return lines


def _lung_fraction(case: object) -> float:
    from scipy import ndimage

    from medscale.datasets import TISSUE_CODES

    mask = case.mask.array  # type: ignore[attr-defined]
    ring = ndimage.binary_dilation(mask) & ~mask
    tissue = case.tissue.array  # type: ignore[attr-defined]
    return float(np.isin(tissue[ring], [TISSUE_CODES["lung"], TISSUE_CODES["vessel"]]).mean())


def evaluate_samples(args: argparse.Namespace) -> list[str]:
    from medscale.io import read_image, read_mask

    data = Path(os.environ.get("MEDSCALE_DATA", ROOT.parent / "shared" / "data")) / "samples"
    if not data.is_dir():
        return ["(sample cases not found: set MEDSCALE_DATA)"]
    lines = [
        "### Sample cases (pyradiomics): seed = centroid voxel of the label, box = label "
        "bounding box + 10 mm",
        "",
        "| case | method | Dice | HD95 (mm) | ASSD (mm) | volume diff (ml) | s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in ("lung1", "lung2", "breast1"):
        image = read_image(data / f"{case}_image.nrrd")
        truth = read_mask(data / f"{case}_label.nrrd")
        seed, box = seed_of(truth), box_of(truth)
        for method in SAMPLE_METHODS:
            try:
                row = _score(method, image, truth, seed=seed, box=box)
            except Exception as err:  # noqa: BLE001 - a benchmark reports, never stops
                lines.append(f"| {case} | {method} | error: {err} | | | | |")
                continue
            lines.append(
                f"| {case} | {method} | {row['dice']:.3f} | {row['hd95_mm']:.1f} | "
                f"{row['assd_mm']:.1f} | {row['volume_difference_ml']:+.2f} | "
                f"{row['seconds']:.1f} |"
            )
            print(lines[-1], flush=True)
    return lines


def speed(args: argparse.Namespace, model: Path) -> list[str]:
    import torch

    from medscale.segment.unet import UNetSegmenter

    torch.set_num_threads(args.threads)
    segmenter = UNetSegmenter.load(model)
    rng = np.random.default_rng(0)
    image = Image(
        rng.normal(-500, 300, (64, 256, 256)).astype(np.int16),
        spacing=(
            2.5,
            segmenter.settings.pixel_spacing_mm or 1.0,
            segmenter.settings.pixel_spacing_mm or 1.0,
        ),
    )
    segmenter.predict(Image(image.array[:2], spacing=image.spacing))  # warm-up
    lines = []
    for flip in (False, True):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            segmenter.predict(image, flip_average=flip)
            times.append(time.perf_counter() - started)
        lines.append(
            f"U-Net inference on a 256 x 256 x 64 volume with {args.threads} threads"
            f"{' (flip averaging, the default of method unet)' if flip else ''}: "
            f"best {min(times):.2f} s, median {np.median(times):.2f} s of {args.repeats}"
        )
        print(lines[-1])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action", nargs="?", default="all", choices=["all", "train", "evaluate", "samples", "speed"]
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-cases", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--context", type=int, default=2, help="slices each side (2.5-D)")
    parser.add_argument("--crop", type=int, default=64, help="training crop (0: whole slices)")
    parser.add_argument("--negative-fraction", type=float, default=0.3)
    parser.add_argument(
        "--unet-threshold", type=float, default=None, help="default: the unet method's own"
    )
    parser.add_argument("--max-seconds", type=float, default=540.0)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument(
        "--start", type=int, default=1000, help="first case (1000: test; tune on 0-999)"
    )
    parser.add_argument(
        "--random-seeds",
        action="store_true",
        help="seed at a random lesion voxel >= 2 mm deep instead of the centroid",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-unet", action="store_true")
    parser.add_argument("--methods", default="", help="comma-separated subset of methods")
    parser.add_argument("--write", action="store_true", help="write results/segment.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("medscale.segment.methods").setLevel(logging.ERROR)
    if args.action == "train":
        train(args)
        return
    model: Path | None = None
    if not args.no_unet:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch missing: the U-Net rows are skipped")
        else:
            model = args.model if (args.model / "model.json").is_file() else None
            if model is None and args.action == "all":
                model = train(args)
    lines: list[str] = []
    if args.action == "speed" and model is not None:
        lines += speed(args, model)
    if args.action in ("all", "evaluate"):
        lines += evaluate_synthetic(args, model)
    if args.action in ("all", "samples"):
        lines += [""] + evaluate_samples(args)
    if args.action == "all" and model is not None:
        lines += [""] + speed(args, model)
    print("\n".join(lines))
    if args.write:
        RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
