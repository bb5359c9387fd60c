"""Data sets: synthetic cohorts with ground truth (always available, offline) and public sets.

- `generate_ct_case`, `generate_xray_case`, `generate_cohort`: deterministic synthetic cases
  (`SyntheticCase`) with a lesion mask and a shape/texture-driven binary label.
- `write_cohort`: write cases as NIfTI, DICOM (series + RTSTRUCT) or PNG plus ``manifest.csv``.
- `medscale.datasets.public`: the registry of public reference data, with checksums.
"""

from medscale.datasets.case import TISSUE_CODES, SyntheticCase
from medscale.datasets.cohort import generate_cohort, write_cohort
from medscale.datasets.ct import generate_ct_case
from medscale.datasets.xray import generate_xray_case

__all__ = [
    "TISSUE_CODES",
    "SyntheticCase",
    "generate_cohort",
    "generate_ct_case",
    "generate_xray_case",
    "write_cohort",
]
