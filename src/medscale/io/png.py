"""2-D pictures (PNG, JPEG, TIFF, BMP) as one-slice `Image` objects, read with Pillow."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from medscale.errors import InputError, MedscaleWarning
from medscale.image import Image

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: ITU-R BT.601 luma weights of R, G, B.
BT601_WEIGHTS = np.array([0.299, 0.587, 0.114])
_MM_PER_INCH = 25.4


def luma_bt601(rgb: np.ndarray) -> np.ndarray:
    """Grey values of RGB pixels: ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601).

    Parameters
    ----------
    rgb : ndarray, shape (..., 3)
        Red, green and blue samples, any numeric dtype.

    Returns
    -------
    ndarray, shape (...), float32
        Luma in the units of the input samples (0-255 for 8-bit pictures).

    Examples
    --------
    >>> luma_bt601(np.array([[255, 255, 255], [255, 0, 0]])).tolist()
    [255.0, 76.24500274658203]
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3:
        raise InputError(f"luma needs 3 colour samples on the last axis, got shape {rgb.shape}")
    return (rgb.astype(np.float64) @ BT601_WEIGHTS).astype(np.float32)


def read_picture(path: str | Path, *, use_dpi: bool = False) -> Image:
    """Read a PNG, JPEG, TIFF or BMP picture as a grey 2-D image (shape (1, y, x)).

    Parameters
    ----------
    path : str or Path
        The picture file.
    use_dpi : bool, default False
        Take the pixel spacing from the file's resolution (DPI; 25.4 / dpi mm) when it has one.
        Off by default because most pictures carry a nominal 72 or 96 dpi; the spacing is then
        1 mm.

    Returns
    -------
    Image
        Grey pictures keep their dtype (uint8; 16-bit PNG/TIFF stay uint16). RGB pictures become
        float32 ITU-R BT.601 luma (`luma_bt601`); an alpha channel is dropped with a
        `MedscaleWarning` naming the file; palette pictures are expanded to RGB first.
        Origin (0, 0, 0), identity direction (array y runs down the picture).

    Raises
    ------
    InputError
        The file cannot be opened or decoded as a picture.
    """
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    path = Path(path)
    try:
        with PILImage.open(path) as picture:
            picture.load()
            mode, dpi = picture.mode, picture.info.get("dpi")
            n_frames = getattr(picture, "n_frames", 1)
            if mode == "P":
                converted = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
                mode, array = converted.mode, np.array(converted)
            else:
                array = np.array(picture)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise InputError(f"{path}: cannot read as a picture ({err})") from err
    if n_frames > 1:
        warnings.warn(
            f"{path}: {n_frames} frames/pages, only the first is read",
            MedscaleWarning,
            stacklevel=2,
        )
    array = _grey(array, mode, path)
    spacing = 1.0, 1.0
    if use_dpi and dpi and all(float(d) > 0 for d in dpi):
        spacing = _MM_PER_INCH / float(dpi[1]), _MM_PER_INCH / float(dpi[0])
    return Image(
        array,
        spacing=(1.0, *spacing),
        meta={"modality": "", "units": "", "source": str(path), "picture_mode": mode},
    )


def _grey(array: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """One grey channel from a Pillow array of the given mode."""
    if array.ndim == 2:
        if mode == "1":
            return array.astype(np.uint8)
        if mode.startswith("I;16"):
            return array.astype(np.uint16)
        return array
    channels = array.shape[-1]
    if channels in (2, 4):
        warnings.warn(f"{path}: alpha channel ({mode}) dropped", MedscaleWarning, stacklevel=3)
        array = array[..., :-1]
    if array.shape[-1] == 1:
        return array[..., 0]
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        raise InputError(f"{path}: colour mode {mode} is not supported; save it as RGB or grey")
    return luma_bt601(array)
