"""The pyradiomics sample cases (NRRD): shapes, spacings and labels as in the data manifest."""

from __future__ import annotations

import numpy as np
import pytest

from medscale.io import read_image, read_mask

# case: (shape x, y, z), spacing (x, y, z) mm, label voxels; from shared/data/MANIFEST.md
SAMPLES = {
    "brain1": ((256, 256, 25), (0.781, 0.781, 6.5), 4137),
    "brain2": ((256, 256, 23), (0.781, 0.781, 6.5), 453),
    "breast1": ((45, 120, 21), (0.664, 0.664, 2.1), 143),
    "lung1": ((512, 512, 48), (0.570, 0.570, 5.0), 837),
    "lung2": ((512, 512, 61), (0.627, 0.627, 5.0), 24644),
}


@pytest.mark.parametrize("case", sorted(SAMPLES))
def test_sample_case(shared_data, case):
    shape_xyz, spacing_xyz, label_voxels = SAMPLES[case]
    image = read_image(shared_data / f"samples/{case}_image.nrrd")
    mask = read_mask(shared_data / f"samples/{case}_label.nrrd", mask_label=1)
    assert image.shape == tuple(reversed(shape_xyz))
    np.testing.assert_allclose(image.spacing, tuple(reversed(spacing_xyz)), atol=1e-3)
    assert image.dtype == np.int16
    assert mask.voxel_count == label_voxels
    image.require_same_grid(mask, tol_mm=1e-3)
