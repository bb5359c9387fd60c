"""What both header readers (the fast walker of `.header`, pydicom in `.fallback`) check: that
the file is complete, and the error they raise for a file they cannot read."""

from __future__ import annotations

from typing import Any

from medscale.errors import DicomError

PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})  # (Float / Double) Pixel Data
UNDEFINED_LENGTH = 0xFFFFFFFF


class UnreadableFileError(DicomError):
    """A file that is not DICOM, is cut short, or cannot be parsed.

    Attributes
    ----------
    error_type : str
        ``not_dicom``, ``truncated`` or ``unreadable`` (the ``error_type`` column).
    """

    def __init__(self, path: str, error_type: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.error_type = error_type
        self.reason = reason


def truncated(path: str, what: str) -> UnreadableFileError:
    """The error for a file cut short, saying what is missing."""
    return UnreadableFileError(path, "truncated", f"truncated DICOM file: {what}")


def check_pixel_data_fits(path: str, value_start: int, length: int, size: int) -> None:
    """A Pixel Data value of `length` bytes at byte `value_start` must end within the `size`
    bytes of the file (an undefined length, encapsulated pixels, is not checked here)."""
    if length != UNDEFINED_LENGTH and value_start + length > size:
        raise truncated(path, f"Pixel Data needs {length} bytes, {size - value_start} remain")


def check_not_cut(values: dict[str, Any], path: str) -> None:
    """A file with Rows but no Pixel Data was cut at an element boundary after (0028,0010).

    An image SOP class without Rows nor Pixel Data may be a header-only copy (or a file cut
    before its image attributes, which nothing in the file betrays): it is a row, with
    ``has_pixel_data`` false.
    """
    if values.get("rows") is not None:
        raise truncated(path, "an image (Rows present) that ends before its Pixel Data")
