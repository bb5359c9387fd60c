"""Data sets: synthetic cohorts with ground truth (always available, offline) and public sets.

- `generate_ct_case`, `generate_xray_case`, `generate_cohort`: deterministic synthetic cases
  (`SyntheticCase`) with a lesion mask and a shape/texture-driven binary label.
- `write_cohort`: write cases as NIfTI, DICOM (series + RTSTRUCT) or PNG plus ``manifest.csv``.
- `DATASETS`, `data_root`, `fetch_path`, `load_sample` (`medscale.datasets.public`): the
  registry of public reference data in a local mirror (``$MEDSCALE_DATA``), with SHA-256 checks.
"""

from medscale.datasets.case import TISSUE_CODES, SyntheticCase
from medscale.datasets.cohort import generate_cohort, write_cohort
from medscale.datasets.ct import generate_ct_case
from medscale.datasets.public import DATASETS, data_root, fetch_path, load_sample
from medscale.datasets.xray import generate_xray_case

__all__ = [
    "DATASETS",
    "TISSUE_CODES",
    "SyntheticCase",
    "data_root",
    "fetch_path",
    "generate_cohort",
    "generate_ct_case",
    "generate_xray_case",
    "load_sample",
    "write_cohort",
]
