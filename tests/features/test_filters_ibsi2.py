"""IBSI-2 phase 1: every reference response map within 1 % of its range, one test per id.

The id -> phantom, filter and padding table restates ../shared/data/ibsi2/README.md. A summary
table (id, max error as a fraction of the reference range, pass) prints at the end of the run
(tests/ibsi2_maps_plugin.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from ibsi_reference import shared_data_dir

from medscale.features.filters.spec import apply_filter
from medscale.io import read_image

DATA = shared_data_dir("ibsi2/reference_response_maps/1_a_1-ValidCRM.nii")

CASES: dict[str, tuple[str, str]] = {
    "1.a.1": ("checkerboard", "mean:support=15,boundary=zero"),
    "1.a.2": ("checkerboard", "mean:support=15,boundary=nearest"),
    "1.a.3": ("checkerboard", "mean:support=15,boundary=periodic"),
    "1.a.4": ("checkerboard", "mean:support=15,boundary=mirror"),
    "1.b.1": ("impulse", "mean:support=15,boundary=zero,dims=2"),
    "2.a": ("impulse", "log:sigma_mm=3,truncate=4,boundary=zero"),
    "2.b": ("checkerboard", "log:sigma_mm=5,truncate=4,boundary=mirror"),
    "2.c": ("checkerboard", "log:sigma_mm=5,truncate=4,boundary=mirror,dims=2"),
    "3.a.1": ("impulse", "laws:kernel=E5L5S5,boundary=zero"),
    "3.a.2": ("impulse", "laws:kernel=E5L5S5,rot_inv=true,pooling=max,boundary=zero"),
    "3.a.3": ("impulse", "laws:kernel=E5L5S5,rot_inv=true,energy_delta=7,boundary=zero"),
    "3.b.1": ("checkerboard", "laws:kernel=E3W5R5,boundary=mirror"),
    "3.b.2": ("checkerboard", "laws:kernel=E3W5R5,rot_inv=true,boundary=mirror"),
    "3.b.3": ("checkerboard", "laws:kernel=E3W5R5,rot_inv=true,energy_delta=7,boundary=mirror"),
    "3.c.1": ("checkerboard", "laws:kernel=L5S5,dims=2,boundary=mirror"),
    "3.c.2": ("checkerboard", "laws:kernel=L5S5,dims=2,rot_inv=true,boundary=mirror"),
    "3.c.3": (
        "checkerboard",
        "laws:kernel=L5S5,dims=2,rot_inv=true,energy_delta=7,boundary=mirror",
    ),
    "4.a.1": ("impulse", "gabor:sigma_mm=10,wavelength_mm=4,gamma=0.5,theta_deg=60"),
    "4.a.2": (
        "impulse",
        "gabor:sigma_mm=10,wavelength_mm=4,gamma=0.5,rot_inv=true,theta_step_deg=45,"
        "planes=orthogonal",
    ),
    "4.b.1": (
        "sphere",
        "gabor:sigma_mm=20,wavelength_mm=8,gamma=2.5,theta_deg=225,boundary=mirror",
    ),
    "4.b.2": (
        "sphere",
        "gabor:sigma_mm=20,wavelength_mm=8,gamma=2.5,rot_inv=true,theta_step_deg=22.5,"
        "planes=orthogonal,boundary=mirror",
    ),
    "5.a.1": ("impulse", "wavelet:name=db2,band=LHL,level=1,boundary=zero"),
    "5.a.2": ("impulse", "wavelet:name=db2,band=LHL,level=1,rot_inv=true,boundary=zero"),
    "6.a.1": ("sphere", "wavelet:name=coif1,band=HHL,level=1,boundary=periodic"),
    "6.a.2": ("sphere", "wavelet:name=coif1,band=HHL,level=1,rot_inv=true,boundary=periodic"),
    "7.a.1": ("checkerboard", "wavelet:name=haar,band=LLL,level=2,rot_inv=true,boundary=mirror"),
    "7.a.2": ("checkerboard", "wavelet:name=haar,band=HHH,level=2,rot_inv=true,boundary=mirror"),
    "8.a.1": ("checkerboard", "simoncelli:level=1,boundary=periodic"),
    "8.a.2": ("checkerboard", "simoncelli:level=2,boundary=periodic"),
    "8.a.3": ("checkerboard", "simoncelli:level=3,boundary=periodic"),
    "9.a": ("impulse", "log:sigma_mm=3,truncate=4,boundary=zero,riesz=1-0-0"),
    "9.b.1": ("sphere", "log:sigma_mm=3,truncate=4,boundary=zero,riesz=0-2-0"),
    "10.b.1": ("pattern_1", "simoncelli:level=1,boundary=nearest,riesz=0-2-0"),
}


@pytest.mark.parametrize("test_id", list(CASES))
def test_phase1_response_map(test_id: str, ibsi2_map_table: dict) -> None:
    if DATA is None:
        pytest.skip("IBSI-2 reference maps not found: set MEDSCALE_DATA or use ../shared/data")
    phantom, spec = CASES[test_id]
    folder = DATA / "ibsi2"
    image = read_image(folder / "digital_phantom" / phantom / f"{phantom}.nii.gz")
    reference = read_image(
        folder / "reference_response_maps" / f"{test_id.replace('.', '_')}-ValidCRM.nii"
    )
    response = apply_filter(image.array, tuple(image.spacing), spec)
    expected = reference.array.astype(np.float64)
    assert response.shape == expected.shape
    error = float(np.abs(response - expected).max() / (expected.max() - expected.min()))
    ibsi2_map_table[test_id] = error
    assert error <= 0.01, f"{test_id} ({spec}): max error {error:.4f} of the reference range"
