"""Small cohorts on disk for the engine tests (generated here, always available)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medscale import Image
from medscale.io import write_image


def write_cases(folder: Path, n_cases: int, *, seed: int = 0) -> Path:
    """`n_cases` small spheres of varying radius and texture; returns the manifest path."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    z, y, x = np.mgrid[:16, :24, :24]
    rows = []
    for index in range(n_cases):
        radius = 3 + index % 5
        inside = (z - 8) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= radius**2
        values = np.where(inside, 60 + 10 * (index % 3), -700) + rng.normal(0, 15, inside.shape)
        image = Image(values.astype(np.int16), spacing=(2.0, 1.0, 1.0))
        case_id = f"case{index:03d}"
        write_image(image, folder / f"{case_id}_image.nii.gz")
        write_image(image.with_array(inside.astype(np.uint8)), folder / f"{case_id}_mask.nii.gz")
        rows.append(
            {
                "case_id": case_id,
                "image": f"{case_id}_image.nii.gz",
                "mask": f"{case_id}_mask.nii.gz",
                "label": index % 2,
                "patient_id": f"P{index // 2:03d}",
                "site": f"site{index % 3}",
            }
        )
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


@pytest.fixture
def small_cohort(tmp_path: Path) -> Path:
    return write_cases(tmp_path / "cohort", 6)


@pytest.fixture(scope="session")
def cohort_writer():
    """The cohort writer, for tests that need their own size: ``cohort_writer(folder, n)``."""
    return write_cases
