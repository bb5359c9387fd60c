"""Dispatch on the path: which reader or writer handles a file or folder."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import InputError, renamed_argument
from medscale.image import Image, Mask

ITK_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
WRITE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".mha")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def read_image(path: str | Path) -> Image:
    """Read an image from NIfTI, NRRD, MetaImage, PNG/JPEG or DICOM (file or series folder).

    Raises
    ------
    InputError
        The path does not exist, or its format is not one medscale reads.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = _suffix(path)
    if path.is_dir() or suffix in (".dcm", ".dicom", "") or is_dicom(path):
        from medscale.io import dicom

        return dicom.read_dicom(path)
    if suffix in ITK_SUFFIXES:
        return _read_itk(path)
    if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        from medscale.io import png

        return png.read_picture(path)
    raise InputError(
        f"{path}: unknown image format {suffix!r}; medscale reads NIfTI, NRRD, "
        "MetaImage, PNG/JPEG and DICOM"
    )


def image_shape(path: str | Path) -> tuple[int, ...]:
    """The (z, y, x) shape `read_image` would return, from the header alone where it can.

    NIfTI, NRRD and MetaImage headers are read without their voxels (a 2-D file is one slice,
    z = 1); other formats are read whole.

    Raises
    ------
    InputError
        As `read_image`.
    """
    path = Path(path)
    if not path.is_file() or _suffix(path) not in ITK_SUFFIXES:
        return read_image(path).shape
    from medscale.io.sitk_bridge import read_header

    size = tuple(int(n) for n in reversed(read_header(path).GetSize()))
    return (1, *size) if len(size) == 2 else size


def read_mask(
    path: str | Path,
    *,
    mask_label: int | None = None,
    roi: str | None = None,
    reference: Image | None = None,
    label: int | None = None,
) -> Mask:
    """Read a mask: a label image (voxels == `mask_label`, or non-zero), an RTSTRUCT ROI or a
    SEG.

    An RTSTRUCT or DICOM SEG needs the `reference` image grid it is rasterised on; `roi` picks
    the structure (or SEG segment label; `mask_label` a SEG segment number) by name, and may be
    omitted when there is only one. `label` is the deprecated name of `mask_label`.
    """
    label = renamed_argument(
        mask_label, label, None, names=("label", "mask_label"), where="read_mask"
    )
    path = Path(path)
    if path.is_file() and is_dicom(path):
        from medscale.io import rtstruct, seg

        if rtstruct.is_rtstruct(path):
            if reference is None:
                raise InputError(f"{path}: an RTSTRUCT mask needs the reference image grid")
            return rtstruct.read_rtstruct_mask(path, reference, roi=roi)
        if seg.is_seg(path):
            if reference is None:
                raise InputError(f"{path}: a DICOM SEG mask needs the reference image grid")
            return seg.read_seg_mask(path, reference, segment=roi if roi is not None else label)
    labels = read_image(path)
    values = labels.array
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise InputError(f"{path}: a mask must be numeric, got dtype {values.dtype}")
    selected = values == label if label is not None else values != 0
    mask = Mask(selected, labels.spacing, labels.origin, labels.direction, {"source": str(path)})
    if label is not None and mask.is_empty:
        present = np.unique(values)[:10].tolist()
        raise InputError(f"{path}: label {label} does not occur (labels present: {present})")
    return mask


def write_image(image: Image, path: str | Path) -> Path:
    """Write `image` as NIfTI (.nii, .nii.gz), NRRD or MetaImage, geometry kept."""
    import SimpleITK as sitk

    from medscale.io.sitk_bridge import to_sitk

    path = Path(path)
    if _suffix(path) not in WRITE_SUFFIXES:
        raise InputError(
            f"{path}: medscale writes {', '.join(WRITE_SUFFIXES)}; got {_suffix(path)!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(to_sitk(image), str(path), useCompression=_suffix(path) != ".nii")
    return path


def _read_itk(path: Path) -> Image:
    """Read with SimpleITK, except float NIfTI: ITK 5.4 reads its NaN/Inf voxels as 0, so
    `medscale.io.nifti` decodes those voxels itself (geometry still from SimpleITK)."""
    import SimpleITK as sitk

    from medscale.io.sitk_bridge import from_sitk

    readable_name: Any = nullcontext
    if _suffix(path) in (".nii", ".nii.gz"):  # (other formats do not import the NIfTI code)
        from medscale.io.nifti import itk_readable_name, read_float_nifti

        image = read_float_nifti(path)
        if image is not None:
            return image
        readable_name = itk_readable_name  # not the .nii beside a .nii.gz
    try:
        with readable_name(path) as readable:
            try:  # naming the ImageIO skips probing every format (0.1-0.2 ms a file)
                sitk_image = sitk.ReadImage(str(readable), imageIO=_ITK_IO[_suffix(path)])
            except RuntimeError:  # ITK's own probing, for its error message
                sitk_image = sitk.ReadImage(str(readable))
    except RuntimeError as err:
        raise InputError(f"{path}: cannot read ({str(err).strip().splitlines()[-1]})") from err
    return from_sitk(sitk_image, meta={"source": str(path)})


_ITK_IO = {
    ".nii": "NiftiImageIO",
    ".nii.gz": "NiftiImageIO",
    ".nrrd": "NrrdImageIO",
    ".nhdr": "NrrdImageIO",
    ".mha": "MetaImageIO",
    ".mhd": "MetaImageIO",
}


def is_dicom(path: Path) -> bool:
    """True when `path` is a file with the DICM preamble marker."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False
