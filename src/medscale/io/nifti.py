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
import zlib
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


def _gunzip(path: Path) -> bytes:
    """The whole decompressed content of a gzip file (every member), via zlib in one call."""
    data, parts = path.read_bytes(), []
    try:
        while data:
            member = zlib.decompressobj(wbits=31)
            parts.append(member.decompress(data))
            if not member.eof:
                raise InputError(f"{path}: gzip stream truncated")
            data = member.unused_data
    except zlib.error as err:
        raise InputError(f"{path}: corrupt gzip stream ({err})") from err
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _stored_values(path: Path, layout: PayloadLayout) -> np.ndarray:
    """The payload as stored (unscaled, file byte order), shape (n_voxels,): a read-only memory
    map of a ``.nii`` file, a view of the decompressed bytes of a ``.nii.gz``."""
    n_bytes = layout.n_voxels * layout.dtype.itemsize
    if path.name.lower().endswith(".gz"):
        content = _gunzip(path)
        available = len(content) - layout.offset
    else:
        available = path.stat().st_size - layout.offset
    if available < n_bytes:
        raise InputError(
            f"{path}: voxel data truncated ({max(available, 0)} of {n_bytes} bytes after "
            f"offset {layout.offset})"
        )
    if path.name.lower().endswith(".gz"):
        return np.frombuffer(
            content, dtype=layout.dtype, count=layout.n_voxels, offset=layout.offset
        )
    return np.memmap(
        path, dtype=layout.dtype, mode="r", offset=layout.offset, shape=(layout.n_voxels,)
    )


def _as_values(stored: np.ndarray, layout: PayloadLayout) -> np.ndarray:
    """Stored values in native byte order, scaled as the header says (a copy)."""
    values = stored.astype(layout.dtype.newbyteorder("="))
    return values * layout.slope + layout.intercept if _scaled(layout) else values


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
    return _as_values(_stored_values(path, layout), layout)


def restore_non_finite(path: Path, image: Image, *, n_checks: int = 4096) -> Image:
    """`image` (as SimpleITK read it from `path`) with the file's NaN and ±Inf voxels put back.

    Parameters
    ----------
    path : pathlib.Path
        The ``.nii`` / ``.nii.gz`` file `image` was read from.
    image : Image
        SimpleITK's reading of `path`, in which non-finite voxels became 0 (then scaled, so
        ``scl_inter`` when the file has scaling).
    n_checks : int
        Evenly spread voxels at which the file and `image` must agree before anything is
        restored (a guard against a voxel order other than the one expected).

    Returns
    -------
    Image
        `image` itself when it is not float, the payload is not float, no voxel holds the value
        a replaced voxel would have (nothing can have been replaced), or the file holds no
        non-finite value at those voxels; else a copy with them restored.

    Raises
    ------
    InputError
        The file's payload does not match the image SimpleITK read (size, or values at the
        checked voxels), so the voxel order cannot be trusted.

    Notes
    -----
    Only the voxels that read as the replaced value are looked up in the file: a ``.nii`` is
    memory-mapped, a ``.nii.gz`` decompressed once.
    """
    array = image.array
    if not np.issubdtype(array.dtype, np.floating):
        return image
    layout = read_layout(path)
    if layout is None:
        return image
    flat = array.reshape(-1)
    candidates = np.flatnonzero(flat == (layout.intercept if _scaled(layout) else 0.0))
    if candidates.size == 0:
        return image
    stored = _stored_values(path, layout)
    if stored.size != flat.size:
        raise InputError(
            f"{path}: NIfTI payload has {stored.size} voxels but SimpleITK read {flat.size}"
        )
    found = _as_values(stored[candidates], layout)
    non_finite = ~np.isfinite(found)
    if not non_finite.any():
        return image
    checked = np.unique(np.linspace(0, flat.size - 1, min(n_checks, flat.size)).astype(np.int64))
    expected = _as_values(stored[checked], layout)
    finite = np.isfinite(expected)
    if not np.allclose(expected[finite], flat[checked][finite], rtol=1e-6, atol=0):
        raise InputError(
            f"{path}: NIfTI payload disagrees with SimpleITK's reading at finite voxels; "
            "cannot restore its NaN/Inf voxels safely"
        )
    restored = flat.copy()
    restored[candidates[non_finite]] = found[non_finite]
    log.debug("%s: restored %d non-finite voxels", path, int(non_finite.sum()))
    return image.with_array(restored.reshape(array.shape))
