"""Synthetic feature tables with a known answer, for the models tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cohort(*, n_patients: int = 60, per_patient: int = 2, separable: bool, seed: int = 0):
    """Two lesions per patient; label per patient; `stat_mean` carries the label if separable."""
    rng = np.random.default_rng(seed)
    label = np.repeat(rng.integers(0, 2, n_patients), per_patient)
    n = n_patients * per_patient
    signal = 3.0 * label if separable else 0.0
    return pd.DataFrame(
        {
            "case_id": [f"case{i:03d}" for i in range(n)],
            "patient_id": np.repeat([f"p{i:02d}" for i in range(n_patients)], per_patient),
            "site": np.repeat(rng.integers(0, 3, n_patients), per_patient),
            "label": label,
            "stat_mean": signal + rng.normal(size=n),
            "cm_contrast_3D_avg": rng.normal(size=n),
            "morph_volume": rng.normal(10, 2, size=n),
            "image": [f"images/case{i:03d}.nii.gz" for i in range(n)],
        }
    )


def regression_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 150
    texture, volume = rng.normal(size=n), rng.uniform(1, 3, n)
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "cm_contrast_3D_avg": texture,
            "morph_volume": volume,
            "noise_feature": rng.normal(size=n),
            "effect": texture**2 + np.sin(2 * volume) + 0.1 * rng.normal(size=n),
        }
    )
