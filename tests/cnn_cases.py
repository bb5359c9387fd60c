"""Small synthetic image manifests for the CNN tests: a learnable 2-D task and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from medscale.image import Image, Mask
from medscale.io import write_image


def write_cohort(
    folder: Path,
    *,
    n_cases: int = 48,
    size: int = 20,
    depth: int = 1,
    seed: int = 0,
    with_masks: bool = False,
) -> Path:
    """Write `n_cases` noisy images (label 1: a bright disc, label 0: none) and a manifest.

    Two cases per patient (``patient_id``), both with the same label.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    zz, yy, xx = np.mgrid[0:depth, 0:size, 0:size]
    for case in range(n_cases):
        label = (case // 2) % 2
        array = rng.normal(0.0, 1.0, (depth, size, size)).astype(np.float32)
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= (size / 5) ** 2
        if label:
            array[disc] += 2.5
        image = Image(array, spacing=(1.0, 0.8, 0.8))
        path = folder / f"case{case:03d}.nii.gz"
        write_image(image, path)
        row = {
            "case_id": f"c{case:03d}",
            "image": path.name,
            "label": label,
            "patient_id": f"p{case // 2:03d}",
        }
        if with_masks:
            box = np.zeros_like(array, dtype=np.uint8)
            box[:, 2:-2, 2:-2] = 1
            write_image(Mask.like(image, box), folder / f"mask{case:03d}.nii.gz")
            row["mask"] = f"mask{case:03d}.nii.gz"
        rows.append(row)
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest
