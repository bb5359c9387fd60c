"""Float NIfTI voxels decoded by medscale, so that NaN and ±Inf survive the read.

ITK's vendored ``nifti_read_buffer`` (ITK <= 5.4, hence SimpleITK 2.5) overwrites every non-finite
float or double voxel with 0 while reading, silently: a NaN "outside the ROI" marker becomes a real
intensity. The bytes on disk are right (writing was never affected). For a single-file float32 or
float64 NIfTI, `read_float_nifti` therefore takes the geometry from SimpleITK's header-only read
(origin, spacing and direction exactly as ITK derives them from qform/sform) and decodes the voxels
once itself: one ``numpy.fromfile`` for ``.nii``, one zlib-ng inflate for ``.nii.gz`` (the inflate
ITK 5.4 uses, 2.5x faster than the standard library's zlib). No ITK pixel read happens, so a read
costs less than ``sitk.ReadImage`` (benchmarks/results/io_nifti.md). Fixed upstream in ITK 6
(InsightSoftwareConsortium/ITK pull request 6683).

Every other file (integer payloads, vector or 4-D images, headers without the single-file magic)
is left to SimpleITK by the caller, through `itk_readable_name`.

References
----------
NIfTI-1 header: https://nifti.nimh.nih.gov/pub/dist/src/niftilib/nifti1.h;
NIfTI-2 header: https://nifti.nimh.nih.gov/pub/dist/doc/nifti2.h.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import logging
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import InputError
from medscale.image import Image

log = logging.getLogger(__name__)

FLOAT_CODES = {16: "f4", 64: "f8"}
"""NIfTI ``datatype`` codes of the payloads ITK zeroes non-finite values in (float32, float64)."""

SITK_PIXEL_IDS = {"f4": 8, "f8": 9}
"""SimpleITK pixel ids (``sitkFloat32``, ``sitkFloat64``) ITK reads those payloads as."""

_zlib: Any = (  # the inflate ITK 5.4 uses; the standard library's is 2.5x slower, same output
    importlib.import_module("zlib_ng.zlib_ng") if importlib.util.find_spec("zlib_ng") else zlib
)
GZIP_MAGIC = b"\x1f\x8b"
EPSILON = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class PayloadLayout:
    """Where and how a NIfTI file stores its voxels.

    Attributes
    ----------
    dtype : numpy.dtype
        On-disk element type, byte order included.
    offset : int
        Byte offset of the first voxel: ``vox_offset``, or the header size when it is smaller
        (as niftilib reads it).
    n_voxels : int
        Product of the image dimensions ``dim[1..dim[0]]`` (a dimension of 0 counts as 1).
    slope, intercept : float
        ``scl_slope`` and ``scl_inter`` as stored.
    version : int
        1 for NIfTI-1, 2 for NIfTI-2.
    single_file : bool
        The magic says header and voxels share one file (``n+1``, ``n+2``); else the voxels
        are in a separate ``.img`` (``ni1``) or the header is ANALYZE 7.5 (no magic).
    """

    dtype: np.dtype
    offset: int
    n_voxels: int
    slope: float
    intercept: float
    version: int = 1
    single_file: bool = True


def parse_header(header: bytes) -> PayloadLayout | None:
    """The payload layout from the first 540 bytes of a NIfTI-1 or NIfTI-2 file.

    Parameters
    ----------
    header : bytes
        At least 348 bytes (NIfTI-1) or 540 bytes (NIfTI-2) from the start of the file.

    Returns
    -------
    PayloadLayout or None
        None when the payload is not float32/float64 (nothing ITK would zero).

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
    (header_size,) = struct.unpack(order + "i", header[:4])
    if len(header) < header_size:
        raise InputError(f"NIfTI header truncated at {len(header)} of {header_size} bytes")
    if header_size == 348:
        dims = struct.unpack(order + "8h", header[40:56])
        (code,) = struct.unpack(order + "h", header[70:72])
        offset, slope, intercept = struct.unpack(order + "3f", header[108:120])
        magic = header[344:348]
    else:
        (code,) = struct.unpack(order + "h", header[12:14])
        dims = struct.unpack(order + "8q", header[16:80])
        offset, slope, intercept = struct.unpack(order + "q2d", header[168:192])
        magic = header[4:8]
    if code not in FLOAT_CODES:
        return None
    n_dims = int(dims[0])
    if not 1 <= n_dims <= 7:
        raise InputError(f"NIfTI header has dim[0] = {n_dims}; expected 1..7")
    return PayloadLayout(
        dtype=np.dtype(order + FLOAT_CODES[code]),
        offset=max(int(offset), header_size),  # niftilib: never inside the header
        n_voxels=int(np.prod([max(int(d), 1) for d in dims[1 : n_dims + 1]])),
        slope=float(slope),
        intercept=float(intercept),
        version=1 if header_size == 348 else 2,
        single_file=magic in (b"n+1\0", b"n+2\0"),
    )


def _is_gzip(path: Path) -> bool:
    """True when `path` starts with the gzip magic (whatever its name: ITK reads through gzread,
    which takes both kinds)."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def _header_bytes(path: Path, *, gzipped: bool) -> bytes:
    """The first 540 bytes of the (decompressed) file, or all of it when shorter."""
    if not gzipped:
        with path.open("rb") as handle:
            return handle.read(540)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(540)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(f"{path}: corrupt gzip stream ({err})") from err


def read_layout(path: Path) -> PayloadLayout | None:
    """The payload layout of a ``.nii`` / ``.nii.gz`` file (its header alone is read).

    Raises
    ------
    InputError
        The file does not start with a NIfTI-1 or NIfTI-2 header.
    """
    try:
        return parse_header(_header_bytes(path, gzipped=_is_gzip(path)))
    except InputError as err:
        raise InputError(f"{path}: {err}") from err


def itk_scaling(slope: float, intercept: float) -> tuple[float, float] | None:
    """The (slope, intercept) ITK 5.4 applies to a NIfTI payload, or None when it applies none.

    Notes
    -----
    niftilib replaces a non-finite ``scl_slope`` or ``scl_inter`` by 0; ITK's NiftiImageIO then
    takes a slope below machine epsilon as 1 (keeping the intercept, unlike the NIfTI-1 text,
    which ignores the intercept when the slope is 0) and rescales only when the slope differs
    from 1 or the intercept from 0 by more than epsilon. Values are scaled in double precision,
    ``float(stored) * slope + intercept``, then cast back to the payload type.
    """
    slope = slope if np.isfinite(slope) else 0.0
    intercept = intercept if np.isfinite(intercept) else 0.0
    if abs(slope) < EPSILON:
        slope = 1.0
    if abs(slope - 1.0) > EPSILON or abs(intercept) > EPSILON:
        return slope, intercept
    return None


def _gunzip(path: Path) -> bytes:
    """The whole decompressed content of a gzip file (every member), one inflate per member."""
    data, parts = path.read_bytes(), []
    try:
        while data:
            member = _zlib.decompressobj(wbits=31)
            parts.append(member.decompress(data))
            if not member.eof:
                raise InputError(f"{path}: gzip stream truncated")
            data = member.unused_data
    except _zlib.error as err:
        raise InputError(f"{path}: corrupt gzip stream ({err})") from err
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _stored_values(path: Path, layout: PayloadLayout) -> np.ndarray:
    """The payload as stored (unscaled, file byte order), shape (n_voxels,): read whole from a
    ``.nii`` file, a read-only view of the decompressed bytes of a ``.nii.gz``."""
    n_bytes = layout.n_voxels * layout.dtype.itemsize
    gzipped = _is_gzip(path)
    content = _gunzip(path) if gzipped else b""
    available = (len(content) if gzipped else path.stat().st_size) - layout.offset
    if available < n_bytes:
        raise InputError(
            f"{path}: voxel data truncated ({max(available, 0)} of {n_bytes} bytes after "
            f"offset {layout.offset})"
        )
    if not gzipped:
        return np.fromfile(path, dtype=layout.dtype, count=layout.n_voxels, offset=layout.offset)
    values = np.frombuffer(content, dtype=layout.dtype, count=layout.n_voxels, offset=layout.offset)
    return values if values.flags.aligned else values.copy()


def _as_values(stored: np.ndarray, layout: PayloadLayout) -> np.ndarray:
    """Stored values in native byte order, scaled as ITK scales them (`itk_scaling`)."""
    native = layout.dtype.newbyteorder("=")
    values = stored if stored.dtype == native else stored.astype(native)
    scaling = itk_scaling(layout.slope, layout.intercept)
    if scaling is None:
        return values
    slope, intercept = scaling
    return (values.astype(np.float64) * slope + intercept).astype(native, copy=False)


def read_payload(path: Path) -> np.ndarray | None:
    """The float voxels of a single-file NIfTI in file order (x fastest), scaled as ITK does.

    Parameters
    ----------
    path : pathlib.Path
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    numpy.ndarray of float32 or float64, shape (n_voxels,), or None
        The voxels, NaN and ±Inf kept; None when the payload is not float or not in this file
        (magic other than ``n+1``/``n+2``).

    Raises
    ------
    InputError
        The header is not NIfTI, or the file ends before its last voxel.
    """
    layout = read_layout(path)
    if layout is None or not layout.single_file:
        return None
    return _as_values(_stored_values(path, layout), layout)


@contextmanager
def itk_readable_name(path: Path) -> Iterator[Path]:
    """`path`, or a link to it alone in a temporary folder when ITK would read another file.

    Parameters
    ----------
    path : pathlib.Path
        An image file.

    Yields
    ------
    pathlib.Path
        A name under which ITK reads `path` itself, valid inside the ``with`` block.

    Notes
    -----
    ITK 5.4's niftilib looks a NIfTI name up by its base name, ``.nii`` first: asked for
    ``scan.nii.gz``, ``sitk.ReadImage`` takes the header (size, geometry) from it but the voxels
    from ``scan.nii`` whenever that file lies beside it. A symbolic link (a copy where links are
    not allowed) in an empty folder has no such sibling.
    """
    name = path.name
    base = name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else None
    if base is None or not any(path.with_name(base + ext).exists() for ext in (".nii", ".NII")):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="medscale-nifti-") as folder:
        alone = Path(folder) / name
        try:
            alone.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, alone)
        log.debug("%s: read through %s (ITK would read the .nii beside it)", path, alone)
        yield alone


def read_float_nifti(path: Path) -> Image | None:
    """A 2-D or 3-D scalar float NIfTI as an `Image`, NaN and ±Inf voxels kept.

    Parameters
    ----------
    path : pathlib.Path
        A single-file NIfTI-1 or NIfTI-2 image (``.nii``, or gzip-compressed ``.nii.gz``).

    Returns
    -------
    Image or None
        Voxels (z, y, x) equal bit for bit to ``sitk.ReadImage`` wherever they are finite, and
        the file's own value where they are not; geometry from SimpleITK's header read.
        None when the payload is not float32/float64, the magic is not ``n+1``/``n+2``, or
        the image is not 2-D/3-D scalar: the caller reads those with SimpleITK.

    Raises
    ------
    InputError
        The header is not NIfTI, SimpleITK cannot read it, the file ends before its last voxel,
        or the voxel count disagrees with SimpleITK's reading of the header.
    """
    from medscale.io.sitk_bridge import geometry_from_sitk, read_header

    layout = read_layout(path)
    if layout is None or not layout.single_file:
        return None
    try:
        reader = read_header(path)  # ITK reads this header even with a .nii beside it
    except InputError as err:
        if layout.version == 2:
            raise InputError(
                f"{path}: NIfTI-2 file, which SimpleITK (ITK 5.4) does not read; "
                "save it as NIfTI-1 (e.g. nibabel.Nifti1Image)"
            ) from err
        raise
    pixel_id = SITK_PIXEL_IDS[layout.dtype.str[1:]]
    if reader.GetDimension() not in (2, 3) or reader.GetNumberOfComponents() != 1:
        return None
    if reader.GetPixelID() != pixel_id:
        return None
    size = tuple(int(n) for n in reversed(reader.GetSize()))
    if int(np.prod(size)) != layout.n_voxels:
        raise InputError(
            f"{path}: NIfTI header gives {layout.n_voxels} voxels but SimpleITK reads size "
            f"{tuple(reversed(size))}"
        )
    values = _as_values(_stored_values(path, layout), layout).reshape(size)
    log.debug("%s: float NIfTI decoded by medscale (%d voxels)", path, values.size)
    return Image(values, **geometry_from_sitk(reader), meta={"source": str(path)})
