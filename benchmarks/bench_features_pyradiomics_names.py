"""Check the pyradiomics name mapping against pyradiomics itself (not a test: needs the peers venv).

Run: ``.venv/bin/python benchmarks/bench_features_pyradiomics_names.py [DATA_DIR]``
(default ../shared/data; pyradiomics from ``PEERS_VENV``, default ~/.cache/medscale-peers/venv).

For the five pyradiomics sample cases (3-D) and three synthetic X-ray cases (one slice), compute
medscale's features with ``names="pyradiomics"`` and pyradiomics's (binWidth 25; 2-D cases with
force2D). So that both use the same grey levels, medscale gets a re-segmentation range whose
lower bound is pyradiomics's first bin edge (the ROI minimum rounded down to a multiple of 25),
which removes no voxel. Prints, per mapped name, the largest relative difference over the
cases, and writes benchmarks/results/features_pyradiomics_names.md.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
XRAY = (1, 3, 5)
BIN_WIDTH = 25.0


def worker_pyradiomics(pairs: list[tuple[str, str, bool]]) -> dict:
    import logging

    import radiomics
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    radiomics.logger.setLevel(logging.ERROR)
    out = {}
    for image, mask, two_d in pairs:
        settings = {"binWidth": BIN_WIDTH, "label": 1}
        if two_d:
            settings |= {"force2D": True, "force2Ddimension": 0}
        extractor = RadiomicsFeatureExtractor(**settings)
        extractor.enableAllFeatures()
        if two_d:
            extractor.enableFeatureClassByName("shape", enabled=False)
            extractor.enableFeatureClassByName("shape2D")
        else:
            extractor.enableFeaturesByName(
                shape=[
                    "MeshVolume",
                    "VoxelVolume",
                    "SurfaceArea",
                    "SurfaceVolumeRatio",
                    "Sphericity",
                    "Compactness1",
                    "Compactness2",
                    "SphericalDisproportion",
                    "Maximum3DDiameter",
                    "MajorAxisLength",
                    "MinorAxisLength",
                    "LeastAxisLength",
                    "Elongation",
                    "Flatness",
                ]
            )
        found = extractor.execute(image, mask)
        out[image] = {k: float(v) for k, v in found.items() if k.startswith("original_")}
    return out


def _medscale(pairs: list[tuple[str, str, bool]]) -> dict:
    import warnings

    import numpy as np

    from medscale.errors import MedscaleWarning
    from medscale.features import extract
    from medscale.io import read_image, read_mask

    warnings.simplefilter("ignore", MedscaleWarning)
    out = {}
    for image_path, mask_path, two_d in pairs:
        image, mask = read_image(image_path), read_mask(mask_path, mask_label=1)
        low = math.floor(float(np.min(image.array[mask.array])) / BIN_WIDTH) * BIN_WIDTH
        settings = {
            "name": "default-2d" if two_d else "default",
            "resegmentation": {"range": [low, None]},
            "texture": {"dimensions": ["2D" if two_d else "3D"]},
        }
        if two_d:
            settings["families"] = [
                "morphology_2d",
                "statistics",
                "intensity_histogram",
                "glcm",
                "glrlm",
                "glszm",
                "ngtdm",
                "ngldm",
            ]
        out[image_path] = extract(image, mask, settings, names="pyradiomics")
    return out


def _xray_files(folder: Path) -> list[tuple[str, str, bool]]:
    import numpy as np

    from medscale.datasets import generate_xray_case
    from medscale.io import write_image

    pairs = []
    for index in XRAY:
        case = generate_xray_case(index)
        image, mask = folder / f"xray{index}_image.nrrd", folder / f"xray{index}_label.nrrd"
        write_image(case.image, image)
        write_image(case.mask.with_array(case.mask.array.astype(np.uint8)), mask)
        pairs.append((str(image), str(mask), True))
    return pairs


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data") / "samples"
    python = os.path.expanduser(os.environ.get("PEERS_VENV", "~/.cache/medscale-peers/venv"))
    pairs = [(str(data / f"{c}_image.nrrd"), str(data / f"{c}_label.nrrd"), False) for c in CASES]
    with tempfile.TemporaryDirectory() as folder:
        pairs += _xray_files(Path(folder))
        done = subprocess.run(
            [f"{python}/bin/python", __file__, "--worker", json.dumps(pairs)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"pyradiomics worker failed:\n{done.stderr[-3000:]}")
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        ours = _medscale(pairs)
    worst: dict[str, float] = {}
    for key in ours:
        for name, value in ours[key].items():
            if not name.startswith("original_"):
                continue
            other = theirs[key].get(name)
            if other is None:
                worst[name] = math.inf
                continue
            scale = max(abs(value), abs(other), 1e-12)
            difference = 0.0 if value == other else abs(value - other) / scale
            worst[name] = max(worst.get(name, 0.0), difference)
    lines = [
        "# pyradiomics names: medscale vs pyradiomics v3.1 on the same grey levels",
        "",
        "Five pyradiomics sample cases (3-D) and synthetic X-ray cases "
        f"{', '.join(map(str, XRAY))} (one slice; pyradiomics force2D), bin width 25 with "
        "pyradiomics's bin edges. Largest relative difference over the cases (inf: "
        "pyradiomics did not return the name).",
        "",
        "| pyradiomics name | max relative difference |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {diff:.2e} |" for name, diff in sorted(worst.items())]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).parent / "results" / "features_pyradiomics_names.md"
    out.write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker_pyradiomics(json.loads(sys.argv[2]))))
    else:
        main()
