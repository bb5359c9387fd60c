"""Local intensity features (IBSI-1 section 3.2, family ``loc``).

Both features use the mean intensity in a sphere of 1 cm^3 (radius
:math:`r = (3 / (4\\pi))^{1/3}` cm = 6.2035 mm, world distances) around a voxel of the ROI
intensity mask. Every voxel of the image whose centre lies within the sphere counts, in the
ROI or not; voxels beyond the edge of the image do not exist and are left out of the mean.

References
----------
Zwanenburg A, et al. IBSI reference manual, arXiv:1612.07003, section "Local intensity
features".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import irfftn, next_fast_len, rfftn

from medscale.errors import InputError
from medscale.features.inputs import check_grid
from medscale.features.registry import Family, builtin_features
from medscale.features.statistics import undefined

if TYPE_CHECKING:
    from medscale.features.family_inputs import FamilyInputs
    from medscale.features.settings_model import Settings


_FAMILY = "local_intensity"

#: Radius (mm) of the sphere of volume 1 cm^3.
SPHERE_RADIUS_MM: float = 10.0 * (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)

FEATURES = builtin_features(_FAMILY)


def sphere_kernel(
    spacing_mm: tuple[float, float, float], *, radius_mm: float = SPHERE_RADIUS_MM
) -> np.ndarray:
    """Boolean kernel of the voxels whose centres lie within `radius_mm` of the centre voxel.

    Parameters
    ----------
    spacing_mm : (float, float, float)
        Voxel spacing in mm, (z, y, x); anisotropic spacing gives an anisotropic kernel.
    radius_mm : float
        Sphere radius in mm (default: 1 cm^3 sphere, 6.2035 mm).

    Returns
    -------
    numpy.ndarray, shape (2 hz + 1, 2 hy + 1, 2 hx + 1), bool
        ``h = floor(radius / spacing)`` voxels on each side of the centre.
    """
    axes = []
    for step in spacing_mm:
        half = int(math.floor(radius_mm / float(step) + 1e-9))
        axes.append(np.arange(-half, half + 1, dtype=np.float64) * float(step))
    squared = sum(np.meshgrid(*[a**2 for a in axes], indexing="ij", sparse=True))
    return np.asarray(squared <= radius_mm**2 * (1.0 + 1e-12))


def _extent(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of the set voxels along each axis (from projections, no index list)."""
    found = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        found.append((int(hit[0]), int(hit[-1])))
    return found


def _crop_box(mask: np.ndarray, margin: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(
        slice(max(low - m, 0), min(high + m + 1, n))
        for (low, high), m, n in zip(_extent(mask), margin, mask.shape, strict=True)
    )


def sphere_means(
    intensity: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float, float]
) -> np.ndarray:
    """Mean intensity in the 1 cm^3 sphere around each voxel of `mask`.

    Parameters
    ----------
    intensity : numpy.ndarray, shape (z, y, x), float
        The image (or a crop that extends at least one sphere radius beyond the mask,
        where the image allows).
    mask : numpy.ndarray, shape (z, y, x), bool
        Voxels at which to evaluate the mean (not empty).
    spacing_mm : (float, float, float)
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    numpy.ndarray, shape (mask.sum(),), float64
        Sphere means at the voxels of `mask`, in C order, in intensity units.

    Notes
    -----
    Sums and voxel counts within the sphere are convolutions with the spherical kernel (FFT,
    over the mask's bounding box grown by the kernel radius); their ratio is the mean over
    the voxels that exist, so the sphere is truncated at the image edge.
    """
    kernel = sphere_kernel(spacing_mm).astype(np.float64)
    half = tuple(s // 2 for s in kernel.shape)
    box = _crop_box(mask, half)
    values = np.asarray(intensity, dtype=np.float64)[box]
    inside = mask[box]
    if all(
        low >= h and high + h < n
        for (low, high), h, n in zip(_extent(mask), half, mask.shape, strict=True)
    ):
        # every sphere lies wholly inside the image
        return _convolve_same(values, kernel)[inside] / kernel.sum()
    # Kernel planes farther from the centre than the box is long meet no voxel of the box:
    # drop them (a one-slice image then convolves with the central plane only).
    reach = tuple(
        slice(h - min(h, n - 1), h + min(h, n - 1) + 1)
        for h, n in zip(half, values.shape, strict=True)
    )
    kernel = kernel[reach]
    sums = _convolve_same(values, kernel)[inside]
    counts = np.rint(_convolve_same(np.ones_like(values), kernel))[inside]
    return sums / counts


def compute(
    intensity: np.ndarray, intensity_mask: np.ndarray, spacing_mm: tuple[float, float, float]
) -> dict[str, float]:
    """Local and global intensity peak of an ROI.

    Parameters
    ----------
    intensity : numpy.ndarray, shape (z, y, x), float
        Intensities on a grid that extends beyond the ROI by at least the sphere radius
        (6.2 mm) wherever the image allows; voxels outside the ROI take part in the means.
    intensity_mask : numpy.ndarray, shape (z, y, x), bool
        ROI intensity mask (after re-segmentation).
    spacing_mm : (float, float, float)
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    dict[str, float]
        ``loc_peak_loc`` and ``loc_peak_glob`` in intensity units; NaN with a
        `MedscaleWarning` for an empty mask.

    Raises
    ------
    InputError
        Shapes differ or are not 3-D, a bad spacing, or non-finite intensities.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((3, 9, 9), 5.0)
    >>> mask = np.zeros(image.shape, bool); mask[1, 4, 4] = True
    >>> compute(image, mask, (2.0, 2.0, 2.0))["loc_peak_glob"]
    5.0
    """
    image = np.asarray(intensity, dtype=np.float64)
    roi = np.asarray(intensity_mask, dtype=bool)
    checked = check_grid("local_intensity.compute", spacing_mm, intensity=image, intensity_mask=roi)
    spacing = (float(checked[0]), float(checked[1]), float(checked[2]))
    names = [info.name for info in FEATURES]
    if not roi.any():
        return undefined(names, "the ROI intensity mask is empty")
    box = _crop_box(roi, tuple(s // 2 for s in sphere_kernel(spacing).shape))
    if not np.all(np.isfinite(image[box])):
        raise InputError(
            "local_intensity.compute: the image holds NaN or infinite "
            "intensities within a sphere radius of the ROI"
        )
    means = sphere_means(image, roi, spacing)
    roi_values = image[roi]
    at_max = roi_values == roi_values.max()
    return {"loc_peak_loc": float(means[at_max].max()), "loc_peak_glob": float(means.max())}


def _convolve_same(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Linear convolution by FFT, cropped to the shape of `values` ("same", centred).

    The same result as ``scipy.signal.fftconvolve(values, kernel, mode="same")``, written on
    ``scipy.fft`` so that importing this module does not pull in scipy.signal (0.4 s).
    """
    full = [n + k - 1 for n, k in zip(values.shape, kernel.shape, strict=True)]
    fast = [next_fast_len(n, real=True) for n in full]
    spectrum = rfftn(values, fast) * rfftn(kernel, fast)
    result = irfftn(spectrum, fast)
    start = [(k - 1) // 2 for k in kernel.shape]
    return result[tuple(slice(s, s + n) for s, n in zip(start, values.shape, strict=True))]


def _compute_family(inputs: FamilyInputs, settings: Settings) -> dict[str, float]:
    roi = inputs.roi
    return compute(roi.intensity, roi.intensity_mask, roi.spacing_mm)


FAMILY = Family(
    name=_FAMILY,
    features=FEATURES,
    needs=("roi",),
    compute=_compute_family,
)
