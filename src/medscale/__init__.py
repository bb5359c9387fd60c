"""medscale: medical-image analysis at scale.

Ingest DICOM / NIfTI / NRRD / PNG, protect, preprocess, segment, extract IBSI radiomics,
learn, and triage worklists, on a laptop or a Dask cluster.
"""

import logging

from medscale.errors import (
    ConfigError,
    DicomError,
    GeometryError,
    InputError,
    MaskError,
    MedscaleError,
    PacsError,
)
from medscale.image import Image, Mask

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfigError",
    "DicomError",
    "GeometryError",
    "Image",
    "InputError",
    "Mask",
    "MaskError",
    "MedscaleError",
    "PacsError",
    "__version__",
]
