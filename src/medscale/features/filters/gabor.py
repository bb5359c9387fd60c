"""IBSI-2 Gabor filter (sec. 2.7): 2-D in-plane, optionally pooled over orientations and planes."""

from __future__ import annotations

import numpy as np
from scipy import fft

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, check_sigma, pad, working_float

__all__ = ["gabor_filter", "gabor_kernel", "orientation_weights"]

#: The (row, column) axes of the axial, coronal and sagittal planes of a (z, y, x) array.
PLANES: tuple[tuple[int, int], ...] = ((1, 2), (0, 2), (0, 1))


def gabor_kernel(
    *, sigma_vox: float, wavelength_vox: float, gamma: float, theta: float, truncate: float = 4.0
) -> np.ndarray:
    """Complex 2-D Gabor kernel, rows along y and columns along x (voxel units).

    Notes
    -----
    ``h(x, y) = exp(-(u^2 + gamma^2 v^2) / (2 sigma^2)) exp(2 pi i u / lambda)`` with
    ``u = x cos(theta) + y sin(theta)``, ``v = -x sin(theta) + y cos(theta)``; not normalised
    (the modulus is 1 at the centre), support ``truncate`` times the wider Gaussian axis.
    """
    radius = int(np.ceil(truncate * sigma_vox * max(1.0, 1.0 / gamma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    y, x = np.meshgrid(offsets, offsets, indexing="ij")
    u = x * np.cos(theta) + y * np.sin(theta)
    v = -x * np.sin(theta) + y * np.cos(theta)
    envelope = np.exp(-(u**2 + gamma**2 * v**2) / (2.0 * sigma_vox**2))
    return envelope * np.exp(2j * np.pi * u / wavelength_vox)


def _plane_modulus_sum(
    data: np.ndarray,
    kernels: list[tuple[np.ndarray, int]],
    plane: tuple[int, int],
    rule: Boundary,
) -> np.ndarray:
    """Sum over ``(kernel, weight)`` of ``weight * |data (*) kernel|`` in ``plane``.

    The padded image's 2-D spectrum (over the plane's axes) is computed once and reused by every
    kernel: one forward and one inverse FFT per orientation fewer than a `fftconvolve` call each
    (which transforms the image again every time). The FFT length covers the padded image, so
    the circular convolution equals the linear one on the kept (valid) samples.
    """
    radius = kernels[0][0].shape[0] // 2
    padded = pad(data, radius, rule, plane)
    lengths = [fft.next_fast_len(padded.shape[a]) for a in plane]
    spectrum = fft.fftn(padded, s=lengths, axes=plane)
    del padded
    shape = [1] * data.ndim
    shape[plane[0]], shape[plane[1]] = lengths
    keep = [slice(None)] * data.ndim
    for axis in plane:
        # full-convolution sample j + 2 radius is the valid output j
        keep[axis] = slice(2 * radius, 2 * radius + data.shape[axis])
    total = np.zeros(data.shape, dtype=data.dtype)
    product = np.empty_like(spectrum)
    modulus = np.empty(data.shape, dtype=data.dtype)
    for kernel, weight in kernels:
        # in place: the product buffer is transformed back over itself
        kernel_spectrum = fft.fftn(kernel, s=lengths).astype(spectrum.dtype, copy=False)
        np.multiply(spectrum, kernel_spectrum.reshape(shape), out=product)
        response = fft.ifftn(product, axes=plane, overwrite_x=True)
        np.abs(response[tuple(keep)], out=modulus)
        if weight != 1:
            modulus *= weight
        total += modulus
    return total


def orientation_weights(thetas: np.ndarray) -> list[tuple[float, int]]:
    """``(theta, weight)``: theta and theta + pi give the same modulus (the kernel at theta + pi
    is the complex conjugate, and so is the response of a real image), so each such pair is
    computed once with weight 2 (IBSI-2 5.A / 5.B: 16 orientations, 8 convolutions)."""
    left = [float(t) for t in thetas]
    out: list[tuple[float, int]] = []
    while left:
        theta = left.pop(0)
        twin = next(
            (
                i
                for i, t in enumerate(left)
                if abs(np.angle(np.exp(1j * (t - theta - np.pi)))) < 1e-9
            ),
            None,
        )
        if twin is not None:
            left.pop(twin)
        out.append((theta, 1 if twin is None else 2))
    return out


def gabor_filter(
    array: np.ndarray,
    *,
    sigma_mm: float,
    wavelength_mm: float,
    gamma: float,
    theta: float = 0.0,
    spacing_mm: tuple[float, ...],
    boundary: Boundary | str = "zero",
    rot_inv: bool = False,
    theta_step: float = np.pi / 4,
    orthogonal_planes: bool = False,
) -> np.ndarray:
    """Modulus of the Gabor response (z, y, x): float32 for a float32 input (complex64 FFTs,
    the feature engine's default responses), else float64.

    ``rot_inv`` averages the modulus over ``theta = 0, theta_step, ...`` below 2 pi;
    ``orthogonal_planes`` averages the axial, coronal and sagittal responses (IBSI-2 4.a.2).
    """
    if not gamma > 0 or not wavelength_mm > 0:
        raise ConfigError(
            f"Gabor gamma and wavelength_mm must be > 0, got {gamma}, {wavelength_mm}"
        )
    planes = PLANES if orthogonal_planes else PLANES[:1]
    axes = tuple(sorted({a for p in planes for a in p}))
    sigma_vox = check_sigma(sigma_mm, spacing_mm, axes)
    wavelength_vox = wavelength_mm / float(spacing_mm[axes[0]])
    rule = Boundary.coerce(boundary)
    if rot_inv:
        if not theta_step > 0:
            raise ConfigError(f"Gabor theta_step must be > 0, got {theta_step}")
        thetas = np.arange(0.0, 2.0 * np.pi - 1e-9, theta_step)
    else:
        thetas = np.array([theta])
    data = working_float(array)
    kernels = [
        (
            gabor_kernel(
                sigma_vox=sigma_vox, wavelength_vox=wavelength_vox, gamma=gamma, theta=angle
            ),
            weight,
        )
        for angle, weight in orientation_weights(thetas)
    ]
    total = np.zeros_like(data)
    for plane in planes:
        total += _plane_modulus_sum(data, kernels, plane, rule)
    return total / (len(thetas) * len(planes))
