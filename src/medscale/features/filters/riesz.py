"""IBSI-2 Riesz transform (sec. 2.10) of a filter response, in the Fourier domain."""

from __future__ import annotations

from collections.abc import Callable
from math import factorial

import numpy as np

from medscale.errors import ConfigError
from medscale.features.filters.base import Boundary, pad

__all__ = ["riesz_filter", "riesz_transform"]


def riesz_filter(
    array: np.ndarray,
    base: Callable[[np.ndarray], np.ndarray],
    *,
    order: tuple[int, int, int],
    boundary: Boundary | str = "zero",
    pad_width: int | None = None,
) -> np.ndarray:
    """Riesz transform of ``base(array)``: pad the image once (``pad_width`` voxels, default
    half its largest side) by ``boundary``, filter, transform, crop back to ``array``'s grid.

    ``base`` must treat its input as periodic or be local (e.g. LoG with the same boundary).
    """
    rule = Boundary.coerce(boundary)
    width = 0 if rule is Boundary.PERIODIC else (pad_width or max(array.shape) // 2)
    data = pad(array.astype(np.float64), width, rule, (0, 1, 2)) if width else array
    out = riesz_transform(base(data), order=order)
    if width:
        out = out[width:-width, width:-width, width:-width]
    return np.ascontiguousarray(out)


def riesz_transform(
    response: np.ndarray,
    *,
    order: tuple[int, int, int],
    linspace_grid: bool = True,
) -> np.ndarray:
    """Riesz transform of ``order`` (l_x, l_y, l_z) of a (z, y, x) array; float64 real part.

    Notes
    -----
    ``R(w) = (-i)^L sqrt(L! / (l_x! l_y! l_z!)) w_x^l_x w_y^l_y w_z^l_z / |w|^L`` with
    ``L = l_x + l_y + l_z``; R(0) = 0. The array is treated as periodic; each axis samples
    ``pi * linspace(-1, 1, n)`` as the Simoncelli filter does (``linspace_grid=False``: the
    ``2 pi k / n`` grid; both reproduce 9.a, 9.b.1 and 10.b.1, linspace more closely).
    """
    if len(order) != 3 or any(o < 0 for o in order) or sum(order) == 0:
        raise ConfigError(f"Riesz order must be three non-negative integers, not all 0: {order}")
    data = response.astype(np.float64)
    grids: list[np.ndarray] = []
    for n in data.shape:
        if linspace_grid:
            grids.append(np.fft.ifftshift(np.pi * np.linspace(-1.0, 1.0, n)))
        else:
            grids.append(2.0 * np.pi * np.fft.fftfreq(n))
    wz, wy, wx = np.meshgrid(*grids, indexing="ij")
    norm = np.sqrt(wx**2 + wy**2 + wz**2)
    norm[norm == 0] = np.inf
    total = sum(order)
    coef = np.sqrt(factorial(total) / np.prod([factorial(o) for o in order]))
    transfer = (
        (-1j) ** total * coef * wx ** order[0] * wy ** order[1] * wz ** order[2] / norm**total
    )
    return np.real(np.fft.ifftn(np.fft.fftn(data) * transfer))
