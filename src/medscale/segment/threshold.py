"""Global thresholding: fixed values, Otsu and multi-level Otsu."""

from __future__ import annotations

import logging

import numpy as np

from medscale.errors import ConfigError, renamed_argument
from medscale.image import Image, Mask
from medscale.params import require
from medscale.segment.methods import METHODS, as_mask

log = logging.getLogger(__name__)


@METHODS.register("threshold")
def threshold(image: Image, *, lower: float | None = None, upper: float | None = None) -> Mask:
    """Voxels with ``lower <= value <= upper`` (either bound may be left open).

    Parameters
    ----------
    lower, upper : float, image units, optional
        Inclusive bounds; at least one is required.
    """
    if lower is None and upper is None:
        raise ConfigError("threshold: give parameter 'lower', 'upper' or both")
    if lower is not None and upper is not None:
        require(upper >= lower, "threshold", "upper", f">= lower ({lower})", upper)
    inside = np.ones(image.shape, dtype=bool)
    if lower is not None:
        inside &= image.array >= lower
    if upper is not None:
        inside &= image.array <= upper
    return as_mask(image, inside)


def otsu_value(values: np.ndarray, *, n_bins: int = 256) -> float:
    """Otsu's threshold of `values`: maximises the between-class variance (Otsu 1979)."""
    from skimage.filters import threshold_otsu

    return float(threshold_otsu(np.asarray(values), nbins=n_bins))


@METHODS.register("otsu")
def otsu(image: Image, *, n_bins: int = 256, invert: bool = False) -> Mask:
    """Otsu's global threshold: voxels above it (below it with `invert`).

    Parameters
    ----------
    n_bins : int
        Histogram bins (>= 2).
    invert : bool
        Keep the dark class instead of the bright one.

    Notes
    -----
    Otsu N. IEEE Trans SMC 1979;9:62-66; `skimage.filters.threshold_otsu`.
    """
    require(n_bins >= 2, "otsu", "n_bins", ">= 2", n_bins)
    if image.array.min() == image.array.max():
        raise ConfigError("otsu: the image is constant; there is no threshold to find")
    value = otsu_value(image.array, n_bins=n_bins)
    log.debug("otsu threshold %.4g", value)
    return as_mask(image, image.array <= value if invert else image.array > value)


@METHODS.register("multi_otsu", renamed={"classes": "n_classes"})
def multi_otsu(
    image: Image,
    *,
    n_classes: int = 3,
    keep: int = -1,
    n_bins: int = 256,
    classes: int | None = None,
) -> Mask:
    """Multi-level Otsu: split into `n_classes` intensity classes, keep class `keep`.

    Parameters
    ----------
    n_classes : int
        Number of classes (2 to 5), as `n_clusters` of ``kmeans`` / ``gmm``.
    keep : int
        Class to keep, 0 the darkest, -1 the brightest (Python indexing).
    n_bins : int
        Histogram bins.
    classes : int, optional
        Deprecated spelling of `n_classes` (a `MedscaleDeprecationWarning`).

    Notes
    -----
    Liao, Chen and Chung, J Inf Sci Eng 2001;17:713; `skimage.filters.threshold_multiotsu`.
    """
    from skimage.filters import threshold_multiotsu

    n_classes = renamed_argument(
        n_classes, classes, 3, names=("classes", "n_classes"), where="multi_otsu"
    )
    require(2 <= n_classes <= 5, "multi_otsu", "n_classes", "in 2..5", n_classes)
    require(
        -n_classes <= keep < n_classes,
        "multi_otsu",
        "keep",
        f"in {-n_classes}..{n_classes - 1}",
        keep,
    )
    thresholds = threshold_multiotsu(image.array, classes=n_classes, nbins=n_bins)
    labels = np.digitize(image.array, thresholds)
    return as_mask(image, labels == (keep % n_classes))
