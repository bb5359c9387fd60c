"""IBSI diagnostic values: checks of the image-processing chain at each stage.

The ids are those of the ``diagnostics`` rows of the IBSI-1 reference table (configs A-E):
``<measure>_<stage>`` with stage ``init_img`` / ``interp_img`` for the image before and after
interpolation, and ``init_roi`` / ``interp_roi`` / ``reseg_roi`` for the ROI as loaded, after
mask interpolation, and after re-segmentation. Dimensions are reported in x, y, z order (array
axes 2, 1, 0); voxel dimensions in mm; bounding boxes as voxel counts along each axis.
"""

from __future__ import annotations

import numpy as np

_AXES = (("x", 2), ("y", 1), ("z", 0))


def image_diagnostics(
    intensity: np.ndarray, spacing_mm: tuple[float, float, float], *, stage: str
) -> dict[str, float]:
    """Grid size, voxel size (mm) and mean / min / max intensity of a whole image.

    Parameters
    ----------
    intensity : numpy.ndarray, shape (z, y, x)
        The whole image at this stage.
    spacing_mm : (z, y, x) mm
    stage : {"init", "interp"}
    """
    result: dict[str, float] = {}
    for axis_name, axis in _AXES:
        result[f"img_dim_{axis_name}_{stage}_img"] = float(intensity.shape[axis])
    for axis_name, axis in _AXES:
        result[f"vox_dim_{axis_name}_{stage}_img"] = float(spacing_mm[axis])
    result[f"mean_int_{stage}_img"] = float(np.mean(intensity, dtype=np.float64))
    result[f"min_int_{stage}_img"] = float(np.min(intensity))
    result[f"max_int_{stage}_img"] = float(np.max(intensity))
    return result


def _bounding_box_size(mask: np.ndarray) -> list[float]:
    sizes = []
    for axes in ((1, 2), (0, 2), (0, 1)):
        present = np.flatnonzero(mask.any(axis=axes))
        sizes.append(float(present[-1] - present[0] + 1) if present.size else 0.0)
    return sizes


def roi_diagnostics(
    intensity: np.ndarray, morph_mask: np.ndarray, intensity_mask: np.ndarray, *, stage: str
) -> dict[str, float]:
    """Mask grid size, bounding boxes, voxel counts and ROI intensity mean / min / max.

    Parameters
    ----------
    intensity : numpy.ndarray, float, shape (z, y, x)
        The whole image on the masks' grid.
    morph_mask, intensity_mask : numpy.ndarray, bool, same shape
        Morphological and intensity masks at this stage.
    stage : {"init", "interp", "reseg"}
    """
    result: dict[str, float] = {}
    for axis_name, axis in _AXES:
        result[f"int_mask_dim_{axis_name}_{stage}_roi"] = float(intensity_mask.shape[axis])
    for prefix, mask in (("int_mask", intensity_mask), ("morph_mask", morph_mask)):
        sizes = _bounding_box_size(mask)
        for axis_name, axis in _AXES:
            result[f"{prefix}_bb_dim_{axis_name}_{stage}_roi"] = sizes[axis]
    result[f"int_mask_vox_count_{stage}_roi"] = float(np.count_nonzero(intensity_mask))
    result[f"morph_mask_vox_count_{stage}_roi"] = float(np.count_nonzero(morph_mask))
    values = intensity[intensity_mask]
    empty = values.size == 0
    result[f"int_mask_mean_int_{stage}_roi"] = np.nan if empty else float(values.mean())
    result[f"int_mask_min_int_{stage}_roi"] = np.nan if empty else float(values.min())
    result[f"int_mask_max_int_{stage}_roi"] = np.nan if empty else float(values.max())
    return result
