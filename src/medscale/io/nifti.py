"""NIfTI voxels that ITK 5.4 loses on read: NaN and ±Inf in float images.

ITK's vendored ``nifti_read_buffer`` (ITK <= 5.4, hence SimpleITK 2.5) overwrites every non-finite
float or double voxel with 0 while reading, silently: a NaN "outside the ROI" marker becomes a real
intensity. The bytes on disk are right (writing was never affected), so after SimpleITK has read
the geometry we read the float payload ourselves and put the non-finite voxels back. Fixed
upstream in ITK 6 (InsightSoftwareConsortium/ITK pull request 6683).

Only single-file NIfTI-1 and NIfTI-2 (``.nii``, ``.nii.gz``) with a float32 or float64 payload
are patched; every other file is returned unchanged.

References
----------
NIfTI-1 header: https://nifti.nimh.nih.gov/pub/dist/src/niftilib/nifti1.h;
NIfTI-2 header: https://nifti.nimh.nih.gov/pub/dist/doc/nifti2.h.
"""

from __future__ import annotations

import gzip
import io
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medscale.errors import InputError
from medscale.image import Image

log = logging.getLogger(__name__)

FLOAT_CODES = {16: "f4", 64: "f8"}
"""NIfTI ``datatype`` codes of the payloads ITK zeroes non-finite values in (float32, float64)."""


@dataclass(frozen=True)
class PayloadLayout:
    """Where and how a NIfTI file stores its voxels.

    Attributes
    ----------
    dtype : numpy.dtype
        On-disk element type, byte order included.
    offset : int
        Byte offset of the first voxel (``vox_offset``).
    n_voxels : int
        Product of the image dimensions ``dim[1..dim[0]]``.
    slope, intercept : float
        ``scl_slope`` and ``scl_inter``; a slope of 0 means no scaling.
    """

    dtype: np.dtype
    offset: int
    n_voxels: int
    slope: float
    intercept: float


def _open(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def parse_header(header: bytes) -> PayloadLayout | None:
    """The payload layout from the first 540 bytes of a NIfTI-1 or NIfTI-2 file.

    Parameters
    ----------
    header : bytes
        At least 348 bytes (NIfTI-1) or 540 bytes (NIfTI-2) from the start of the file.

    Returns
    -------
    PayloadLayout or None
        None when the payload is not float32/float64 (nothing to restore).

    Raises
    ------
    InputError
        The bytes are not a NIfTI-1 or NIfTI-2 header.
    """
    for order in ("<", ">"):
        if len(header) >= 4 and struct.unpack(order + "i", header[:4])[0] in (348, 540):
            break
    else:
        raise InputError("not a NIfTI-1/NIfTI-2 header (sizeof_hdr is neither 348 nor 540)")
    if struct.unpack(order + "i", header[:4])[0] == 348:
        if len(header) < 348:
            raise InputError(f"NIfTI-1 header truncated at {len(header)} bytes")
        dims = struct.unpack(order + "8h", header[40:56])
        (code,) = struct.unpack(order + "h", header[70:72])
        offset, slope, intercept = struct.unpack(order + "3f", header[108:120])
    else:
        if len(header) < 540:
            raise InputError(f"NIfTI-2 header truncated at {len(header)} bytes")
        (code,) = struct.unpack(order + "h", header[12:14])
        dims = struct.unpack(order + "8q", header[16:80])
        offset, slope, intercept = struct.unpack(order + "q2d", header[168:192])
    if code not in FLOAT_CODES:
        return None
    n_dims = int(dims[0])
    if not 1 <= n_dims <= 7:
        raise InputError(f"NIfTI header has dim[0] = {n_dims}; expected 1..7")
    return PayloadLayout(
        dtype=np.dtype(order + FLOAT_CODES[code]),
        offset=int(offset),
        n_voxels=int(np.prod([max(int(d), 1) for d in dims[1 : n_dims + 1]])),
        slope=float(slope),
        intercept=float(intercept),
    )


def read_layout(path: Path) -> PayloadLayout | None:
    """The payload layout of a ``.nii`` / ``.nii.gz`` file (its header alone is read).

    Raises
    ------
    InputError
        The file does not start with a NIfTI-1 or NIfTI-2 header.
    """
    with _open(path) as handle:
        header = handle.read(540)
    try:
        return parse_header(header)
    except InputError as err:
        raise InputError(f"{path}: {err}") from err


def _scaled(layout: PayloadLayout) -> bool:
    return layout.slope != 0 and (layout.slope, layout.intercept) != (1.0, 0.0)


def read_payload(path: Path) -> np.ndarray | None:
    """The float voxels of a single-file NIfTI exactly as stored (x fastest), scaled.

    Parameters
    ----------
    path : pathlib.Path
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    numpy.ndarray of float32 or float64, shape (n_voxels,), or None
        ``stored * scl_slope + scl_inter`` (unscaled when the slope is 0); None when the payload
        is not float.

    Raises
    ------
    InputError
        The header is not NIfTI, or the file ends before its last voxel.
    """
    layout = read_layout(path)
    if layout is None:
        return None
    n_bytes = layout.n_voxels * layout.dtype.itemsize
    with _open(path) as handle:
        handle.seek(layout.offset)
        data = handle.read(n_bytes)
    if len(data) != n_bytes:
        raise InputError(
            f"{path}: voxel data truncated ({len(data)} of {n_bytes} bytes after offset "
            f"{layout.offset})"
        )
    values = np.frombuffer(data, dtype=layout.dtype).astype(layout.dtype.newbyteorder("="))
    if _scaled(layout):
        values = values * layout.slope + layout.intercept
    return values


def restore_non_finite(path: Path, image: Image) -> Image:
    """`image` (as SimpleITK read it from `path`) with the file's NaN and ±Inf voxels put back.

    Parameters
    ----------
    path : pathlib.Path
        The ``.nii`` / ``.nii.gz`` file `image` was read from.
    image : Image
        SimpleITK's reading of `path`, in which non-finite voxels became 0 (then scaled, so
        ``scl_inter`` when the file has scaling).

    Returns
    -------
    Image
        `image` itself when it is not float, the payload is not float, no voxel holds the value
        a replaced voxel would have (nothing can have been replaced), or the file holds no
        non-finite value; else a copy with those voxels restored.

    Raises
    ------
    InputError
        The file's payload does not match the image SimpleITK read (size or finite values), so
        the voxel order cannot be trusted.
    """
    array = image.array
    if not np.issubdtype(array.dtype, np.floating):
        return image
    layout = read_layout(path)
    if layout is None:
        return image
    replaced_value = layout.intercept if _scaled(layout) else 0.0
    if not np.any(array == replaced_value):
        return image
    payload = read_payload(path)
    if payload is None:
        return image
    if payload.size != array.size:
        raise InputError(
            f"{path}: NIfTI payload has {payload.size} voxels but SimpleITK read {array.size}"
        )
    stored = payload.reshape(array.shape)
    non_finite = ~np.isfinite(stored)
    if not non_finite.any():
        return image
    if not np.allclose(stored[~non_finite], array[~non_finite], rtol=1e-6, atol=0):
        raise InputError(
            f"{path}: NIfTI payload disagrees with SimpleITK's reading at finite voxels; "
            "cannot restore its NaN/Inf voxels safely"
        )
    restored = np.where(non_finite, stored.astype(array.dtype), array)
    log.debug("%s: restored %d non-finite voxels", path, int(non_finite.sum()))
    return image.with_array(restored)
