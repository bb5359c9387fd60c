"""Reading and writing images and masks: NIfTI, NRRD, PNG/JPEG, DICOM series, RTSTRUCT, SEG.

`read_image` and `read_mask` take any supported path and return `Image` / `Mask` with exact
geometry; `write_image` writes NIfTI or NRRD.
"""

from medscale.io.cases import read_case
from medscale.io.formats import read_image, read_mask, write_image
from medscale.io.sitk_bridge import from_sitk, to_sitk

__all__ = ["from_sitk", "read_case", "read_image", "read_mask", "to_sitk", "write_image"]
