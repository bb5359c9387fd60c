"""The check a family's ``compute`` makes on the arrays and spacing it is handed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from medscale.errors import InputError


def check_grid(op: str, spacing_mm: Sequence[float], **arrays: npt.ArrayLike) -> np.ndarray:
    """The spacing as a float array, after checking that `arrays` are 3-D and of one shape.

    Parameters
    ----------
    op : str
        Who asks (``"morphology.compute"``), for the message.
    spacing_mm : sequence of float
        Voxel spacing in mm, (z, y, x); three positive values.
    **arrays : array_like
        The arrays that must lie on one (z, y, x) grid, by argument name.

    Raises
    ------
    InputError
        Shapes differ or are not 3-D, or a bad spacing; the message names `op`.
    """
    shapes = {np.shape(array) for array in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise InputError(
            f"{op}: {', '.join(arrays)} must be 3-D (z, y, x) arrays on one grid, "
            f"got shapes {sorted(shapes)}"
        )
    spacing = np.asarray(spacing_mm, dtype=float)
    if spacing.shape != (3,) or not np.all(spacing > 0):
        raise InputError(
            f"{op}: spacing_mm must be 3 positive values (z, y, x) in mm, got {spacing_mm!r}"
        )
    return spacing
