"""Body and lung-field masks on the synthetic chest CT, against its tissue map."""

from __future__ import annotations

import numpy as np
import pytest

from medscale import Mask
from medscale.segment import dice, segment

datasets = pytest.importorskip("medscale.datasets", reason="medscale.datasets not available")


@pytest.fixture(scope="module")
def chest():
    return datasets.generate_ct_case(4, shape=(24, 96, 96))


def test_body_mask_matches_the_tissue_map(chest) -> None:
    tissue = chest.tissue.array
    truth = Mask.like(chest.image, tissue != datasets.TISSUE_CODES["air"])
    assert dice(segment(chest.image, "body"), truth) > 0.97


def test_lung_fields_match_the_tissue_map(chest) -> None:
    codes = datasets.TISSUE_CODES
    tissue = chest.tissue.array
    from scipy import ndimage

    lung = np.isin(tissue, [codes["lung"], codes["vessel"]])
    truth = Mask.like(
        chest.image,
        ndimage.binary_fill_holes(
            lung, structure=np.array([np.zeros((3, 3)), np.ones((3, 3)), np.zeros((3, 3))], bool)
        ),
    )
    found = segment(chest.image, "lungs")
    assert dice(found, truth) > 0.9
    # two lungs, not the outside air
    assert not found.array[:, 0, :].any()
