"""U-Net: train it through the CLI, choose the post-processing on validation cases, score it
once on the test cases, time it.

    python benchmarks/bench_unet.py train --model /tmp/unet --data /tmp/unet-data  # the CLI
    python benchmarks/bench_unet.py tune --model /tmp/unet      # 900-929
    python benchmarks/bench_unet.py evaluate --model /tmp/unet  # 1000-1029
    python benchmarks/bench_unet.py speed --model /tmp/unet --threads 2

`train` writes synthetic cases 0..N-1 as NIfTI image + mask files and a manifest under `--data`,
then runs ``medscale train MANIFEST --task segmentation --model unet --out MODEL --device cpu``
in a subprocess and times it (the data writing is timed apart). `--model` is a model folder.

Protocol: the synthetic cohort of `bench_segment.py` (`generate_ct_case(i)`, seed 0). `tune`
computes the net's probabilities (flip averaging) once per validation case 900-929 and scores
every combination of the ``unet`` method's post-processing parameters (`threshold`,
`core_threshold`, `select`, `min_size_mm3`) with `select_components`, the function the method
calls. `evaluate` runs `segment(image, "unet", ...)` with the method's defaults on test cases
1000-1029, derives the older variants from the same probabilities, and prints rows in the format
of results/segment.md (seed + box: the component at the seed among those inside the box).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_segment import (  # noqa: E402
    _lung_fraction,
    _summary,
    box_of,
    seed_of,
)

from medscale import Image  # noqa: E402

VALIDATION = range(900, 930)
TEST = range(1000, 1030)
GRID = {
    "threshold": (0.3, 0.4, 0.5, 0.6, 0.7),
    "core_threshold": (0.0, 0.95, 0.98, 0.99, 0.995, 0.999),
    "select": ("sum", "max", "size", "all"),
    "min_size_mm3": (0.0, 200.0),
}


def _dice(mask: np.ndarray, truth: np.ndarray) -> float:
    total = mask.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * (mask & truth).sum() / total)


def tune(args: argparse.Namespace) -> list[str]:
    """Mean / median Dice on the validation cases for every parameter combination."""
    import torch

    from medscale.datasets import generate_ct_case
    from medscale.segment.unet import UNetSegmenter
    from medscale.segment.unet_select import select_components

    torch.set_num_threads(args.threads)
    segmenter = UNetSegmenter.load(args.model)
    cases = []
    for index in VALIDATION:
        case = generate_ct_case(index)
        prob = segmenter.probabilities(case.image, flip_average=True)
        cases.append((index, prob, case.mask.array, case.image.spacing))
    rows = []
    for threshold, core, select, min_size in itertools.product(*GRID.values()):
        core = max(core, threshold)
        params = dict(threshold=threshold, core_threshold=core, select=select)
        params["min_size_mm3"] = min_size
        scores = [
            _dice(select_components(prob, spacing=spacing, **params), truth)
            for _, prob, truth, spacing in cases
        ]
        rows.append((float(np.mean(scores)), float(np.median(scores)), params, scores))
    rows.sort(key=lambda row: -row[0])
    lines = [
        f"### Validation cases {VALIDATION.start}-{VALIDATION.stop - 1}: best of "
        f"{len(rows)} post-processing combinations ({args.model.name})",
        "",
        "| threshold | core_threshold | select | min_size_mm3 | mean Dice | median Dice |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    seen = set()
    for mean, median, params, _ in rows:
        key = tuple(params.values())
        if key in seen or len(seen) >= args.top:
            continue
        seen.add(key)
        lines.append(
            f"| {params['threshold']} | {params['core_threshold']} | {params['select']} | "
            f"{params['min_size_mm3']:.0f} | {mean:.3f} | {median:.3f} |"
        )
    best = rows[0][3]
    lines += [
        "",
        "Per case (best row): "
        + ", ".join(f"{index} {score:.2f}" for (index, *_), score in zip(cases, best, strict=True)),
    ]
    return lines


def evaluate(args: argparse.Namespace) -> list[str]:
    """segment.md rows for the U-Net on the test cases (run once, after `tune`).

    The net runs three times per case: once through `segment(image, "unet", model=...)` with
    the method's defaults (its time is the s/case column), then for the probabilities with and
    without flip averaging, from which the variants are derived with `select_components`; the
    defaults row must equal the method's mask (checked).
    """
    import torch

    from medscale.datasets import generate_ct_case
    from medscale.segment import evaluate as scores_of
    from medscale.segment import segment
    from medscale.segment.unet import UNetSegmenter
    from medscale.segment.unet_select import select_components

    torch.set_num_threads(args.threads)
    segmenter = UNetSegmenter.load(args.model)
    defaults = "unet (whole image, defaults: threshold 0.4, largest summed probability)"
    variants: dict[str, dict[str, object]] = {
        "unet (whole image, threshold 0.5, no selection)": {
            "threshold": 0.5,
            "core_threshold": 0.5,
            "select": "all",
        },
        "unet (whole image, threshold 0.7, largest component; round 2)": {
            "threshold": 0.7,
            "core_threshold": 0.7,
            "select": "size",
        },
        "unet (whole image, hysteresis 0.99, largest summed probability; round 3)": {
            "threshold": 0.4,
            "core_threshold": 0.99,
        },
        "unet (whole image, threshold 0.4, every component)": {
            "threshold": 0.4,
            "core_threshold": 0.4,
            "select": "all",
        },
        defaults: {"threshold": 0.4, "core_threshold": 0.4},
        "unet (seed + box, defaults)": {"use_seed": True},
        "unet (whole image, defaults, no flip averaging)": {
            "threshold": 0.4,
            "core_threshold": 0.4,
            "flip": False,
        },
        "unet (seed + box, defaults, no flip averaging)": {"use_seed": True, "flip": False},
    }
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    lung: dict[str, list[float]] = {name: [] for name in variants}
    for index in TEST:
        case = generate_ct_case(index)
        in_lung = _lung_fraction(case) >= 0.5
        started = time.perf_counter()
        method_mask = segment(case.image, "unet", model=str(args.model))
        seconds = time.perf_counter() - started
        probs = {
            flip: segmenter.probabilities(case.image, flip_average=flip) for flip in (True, False)
        }
        for name, params in variants.items():
            params = dict(params)
            prob = probs[bool(params.pop("flip", True))]
            if params.pop("use_seed", False):
                lower, upper = np.split(np.asarray(box_of(case.mask)), 2)
                prob_in_box = np.zeros_like(prob)
                inside = tuple(slice(lo, hi) for lo, hi in zip(lower, upper, strict=True))
                prob_in_box[inside] = prob[inside]
                array = select_components(
                    prob_in_box,
                    threshold=0.4,
                    core_threshold=0.4,
                    spacing=case.image.spacing,
                    seed=seed_of(case.mask),
                )
            else:
                array = select_components(prob, spacing=case.image.spacing, **params)
            if name == defaults and not np.array_equal(array, method_mask.array):
                raise RuntimeError(f"{case.case_id}: select_components differs from the method")
            row = scores_of(method_mask.with_array(array), case.mask)
            row["seconds"] = seconds
            rows[name].append(row)
            if in_lung:
                lung[name].append(row["dice"])
        print(
            f"{case.case_id}: " + " ".join(f"{r[-1]['dice']:.2f}" for r in rows.values()),
            flush=True,
        )
    lines = [
        f"### Test cases {TEST.start}-{TEST.stop - 1} ({args.model.name}; "
        "flip averaging unless noted)",
        "",
        "| method | mean Dice | median Dice | Dice >= 0.90 | median HD95 (mm) | s/case | "
        "mean Dice, lung lesions |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, scored in rows.items():
        lines.append(f"| {name} {_summary(scored)} {np.mean(lung[name]):.3f} |")
    lines += [
        "",
        "Per case (defaults, whole image): "
        + ", ".join(
            f"{index} {row['dice']:.2f}" for index, row in zip(TEST, rows[defaults], strict=True)
        ),
    ]
    return lines


def speed(args: argparse.Namespace) -> list[str]:
    """Seconds of `segment(image, "unet")` (net, flip averaging and selection) on 256x256x64."""
    import torch

    from medscale.segment import segment
    from medscale.segment.unet import UNetSegmenter

    torch.set_num_threads(args.threads)
    spacing = UNetSegmenter.load(args.model).settings.pixel_spacing_mm or 1.0
    rng = np.random.default_rng(0)
    image = Image(
        rng.normal(-500, 300, (64, 256, 256)).astype(np.int16), spacing=(2.5, spacing, spacing)
    )
    segment(Image(image.array[:2], spacing=image.spacing), "unet", model=str(args.model))
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        segment(image, "unet", model=str(args.model))
        times.append(time.perf_counter() - started)
    prob = rng.random(image.shape, dtype=np.float32)
    from medscale.segment.unet_select import select_components

    started = time.perf_counter()
    select_components(prob, threshold=0.9, spacing=image.spacing)
    post = time.perf_counter() - started
    return [
        f"unet method (defaults) on 256 x 256 x 64 with {args.threads} threads: best "
        f"{min(times):.2f} s, median {np.median(times):.2f} s of {args.repeats}; of which "
        f"component selection on a noisy map (~{int((prob > 0.9).sum())} voxels above "
        f"threshold): {post:.2f} s"
    ]


def train(args: argparse.Namespace) -> list[str]:
    """Write the training cohort and a manifest, then time `medscale train` on it."""
    import csv
    import os
    import subprocess

    from medscale.datasets import generate_ct_case
    from medscale.io import write_image

    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = []
    for index in range(args.cases):
        case = generate_ct_case(index)
        image, mask = data / f"case{index:04d}.nii.gz", data / f"case{index:04d}_mask.nii.gz"
        if not (image.is_file() and mask.is_file()):
            write_image(case.image, image)
            write_image(case.image.with_array(case.mask.array.astype(np.uint8)), mask)
        rows.append((f"case{index:04d}", image.name, mask.name))
    manifest = data / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "image", "mask"])
        writer.writerows(rows)
    prepared = time.perf_counter() - started
    command = [
        "medscale",
        "train",
        str(manifest),
        "--task",
        "segmentation",
        "--model",
        "unet",
        "--out",
        str(args.model),
        "--device",
        args.device,
        "--epochs",
        str(args.epochs),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    seconds = time.perf_counter() - started
    load = os.getloadavg()
    return [
        f"data: {args.cases} synthetic cases written in {prepared:.0f} s",
        f"`{' '.join(command)}`: {seconds:.0f} s wall ({args.threads} threads, "
        f"{os.cpu_count()} cores on the machine, load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["train", "tune", "evaluate", "speed"])
    parser.add_argument("--model", type=Path, required=True, help="the model folder")
    parser.add_argument("--data", type=Path, default=Path("unet-data"), help="train: cases")
    parser.add_argument("--cases", type=int, default=300, help="train: cases 0..N-1")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=15, help="rows of the tuning table")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("medscale.segment.methods").setLevel(logging.ERROR)
    action = {"train": train, "tune": tune, "evaluate": evaluate, "speed": speed}[args.action]
    print("\n".join(action(args)))


if __name__ == "__main__":
    main()
