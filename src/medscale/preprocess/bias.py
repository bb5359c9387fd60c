"""N4 bias-field correction for MRI (SimpleITK)."""

from __future__ import annotations

import logging

import numpy as np

from medscale.image import Image
from medscale.params import float_dtype, new_image, require, require_finite
from medscale.preprocess.chain import STEPS

log = logging.getLogger(__name__)


@STEPS.register("n4")
def n4(
    image: Image,
    *,
    shrink: int = 2,
    iterations: int = 50,
    levels: int = 4,
    control_points: int = 4,
) -> Image:
    """N4 bias-field correction: divide out a smooth multiplicative intensity field.

    Parameters
    ----------
    shrink : int
        Down-sampling factor used to estimate the field (1 = full resolution), per axis
        (z is not shrunk for 2-D images or thin stacks).
    iterations : int
        Maximum iterations per fitting level.
    levels : int
        Number of B-spline fitting levels (each doubles the control-point grid).
    control_points : int
        Control points per axis at the first level (>= 4, the spline order + 1).

    Notes
    -----
    Tustison et al., IEEE TMI 2010;29:1310. The field is estimated inside an Otsu foreground
    mask on the shrunken image (`SimpleITK.N4BiasFieldCorrectionImageFilter`), then evaluated at
    full resolution, and the image is divided by it. Intensities must be positive: the image
    is shifted by ``1 - min`` first when it is not, and shifted back after.
    """
    import SimpleITK as sitk

    from medscale.io.sitk_bridge import to_sitk

    require(shrink >= 1, "n4", "shrink", ">= 1", shrink)
    require(iterations >= 1, "n4", "iterations", ">= 1", iterations)
    require(1 <= levels <= 8, "n4", "levels", "in 1..8", levels)
    require(control_points >= 4, "n4", "control_points", ">= 4", control_points)
    require_finite(image, "n4")
    dtype = float_dtype(image.array)
    offset = 0.0
    minimum = float(image.array.min())
    if minimum <= 0:
        offset = 1.0 - minimum
    shifted = new_image(image, image.array.astype(np.float32) + np.float32(offset))
    full = to_sitk(shifted if not image.is_2d else shifted.with_array(shifted.array))
    if image.is_2d:
        full = full[:, :, 0]
    mask = sitk.OtsuThreshold(full, 0, 1, 200)
    factors = [shrink] * full.GetDimension()
    if full.GetDimension() == 3 and image.shape[0] < 4 * shrink:
        factors[2] = 1
    small = sitk.Shrink(full, factors)
    small_mask = sitk.Shrink(mask, factors)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([iterations] * levels)
    corrector.SetNumberOfControlPoints([control_points] * full.GetDimension())
    corrector.Execute(small, small_mask)
    log_field = corrector.GetLogBiasFieldAsImage(full)
    field = np.exp(sitk.GetArrayFromImage(log_field))
    corrected = shifted.array.reshape(field.shape) / field
    out = (corrected - offset).astype(dtype).reshape(image.shape)
    return new_image(image, out)
