"""Per-case speed of `extract` (default preset) and a before/after check of every value.

Run: ``.venv/bin/python benchmarks/bench_features_speed.py [DATA_DIR] [--save F | --compare F]``
(default ../shared/data). For the five pyradiomics sample cases (read once; image + mask in
memory) and two synthetic X-ray cases it prints the best of N extract() time per case and the
time per family summed over the cases. ``--save F`` writes every feature value to F (JSON);
``--compare F`` reports the largest relative difference to a saved run (the speed work must
not change any value beyond 1e-9 relative).
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from pathlib import Path

CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
REPEATS = 15


def _cases(data: Path) -> dict:
    from medscale.datasets import generate_xray_case
    from medscale.io import read_image, read_mask

    cases = {}
    for case in CASES:
        cases[case] = (
            read_image(data / "samples" / f"{case}_image.nrrd"),
            read_mask(data / "samples" / f"{case}_label.nrrd", mask_label=1),
        )
    for index in (1, 3):
        xray = generate_xray_case(index)
        cases[f"xray{index}"] = (xray.image, xray.mask)
    return cases


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = sys.argv[1:]
    data = Path(args[0] if args else "../shared/data")
    from medscale.errors import MedscaleWarning
    from medscale.features import extract

    warnings.simplefilter("ignore", MedscaleWarning)
    cases = _cases(data)
    values, families = {}, {}
    print(f"| case | ROI voxels | best of {REPEATS} (ms) |")
    print("| --- | --- | --- |")
    for name, (image, mask) in cases.items():
        values[name] = extract(image, mask)
        best = math.inf
        for _ in range(REPEATS):
            start = time.perf_counter()
            extract(image, mask)
            best = min(best, time.perf_counter() - start)
        timings: dict[str, float] = {}
        extract(image, mask, timings=timings)
        for family, seconds in timings.items():
            families[family] = families.get(family, 0.0) + seconds
        print(f"| {name} | {int(mask.array.sum())} | {best * 1000:.1f} |")
    print()
    for family, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
        print(f"{family:28s} {seconds * 1000:7.1f} ms")
    if "--save" in flags:
        target = Path(flags[flags.index("--save") + 1])
        target.write_text(json.dumps(values))
    if "--compare" in flags:
        saved = json.loads(Path(flags[flags.index("--compare") + 1]).read_text())
        worst, where = 0.0, ""
        for name, old in saved.items():
            new = values[name]
            if list(new) != list(old):
                print(f"{name}: feature ids differ: {set(new) ^ set(old)}")
            for key, before in old.items():
                after = new.get(key, math.nan)
                if before is None or (isinstance(before, float) and math.isnan(before)):
                    if not math.isnan(after):
                        print(f"{name} {key}: NaN before, {after} now")
                    continue
                diff = abs(after - before) / max(abs(before), 1e-300) if after != before else 0.0
                if not diff <= worst:
                    worst, where = diff, f"{name} {key}"
        print(f"largest relative difference to the saved run: {worst:.3e} ({where})")


if __name__ == "__main__":
    main()
