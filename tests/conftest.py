"""Shared fixtures: where the public reference data lives, and small generated images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ibsi_reference import shared_data_dir

from medscale import Image, Mask

pytest_plugins = ["ibsi_scores_plugin", "ibsi2_maps_plugin", "data_plugin"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public reference data folder; skips the test, saying why, when it is absent."""
    found = shared_data_dir()
    if found is None:
        pytest.skip(
            "public reference data not found: set MEDSCALE_DATA, use ../shared/data or run "
            "`medscale datasets fetch all`"
        )
    return found


@pytest.fixture
def sphere_case() -> tuple[Image, Mask]:
    """A 32^3 noisy CT-like image at 1 x 0.8 x 0.8 mm with a sphere of radius 8 voxels."""
    rng = np.random.default_rng(0)
    z, y, x = np.mgrid[:32, :32, :32]
    inside = (z - 16) ** 2 + (y - 16) ** 2 + (x - 16) ** 2 <= 8**2
    array = np.where(inside, 40.0, -800.0) + rng.normal(0, 10, inside.shape)
    image = Image(
        array.astype(np.float32),
        spacing=(1.0, 0.8, 0.8),
        origin=(-12.4, 3.0, 50.0),
        meta={"modality": "CT", "units": "HU"},
    )
    return image, Mask.like(image, inside)
