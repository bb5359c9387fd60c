"""Writing a mask (or a fractional map) as a DICOM Segmentation with highdicom.

The SEG references the source series it was drawn on: one frame per source slice (highdicom
omits empty frames), each frame's SourceImageSequence pointing at its slice, with the same
FrameOfReferenceUID, study and patient. `medscale.io.seg.read_seg_mask` (binary) and
`read_seg_fractions` (fractional) read it back on the source grid.

Frames are matched to source slices by position: slice ``k`` of the medscale array is the source
file whose ImagePositionPatient lies at index ``k`` of the reference grid, so the files may be
given in any order.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medscale.errors import ConfigError, DicomError, MaskError
from medscale.image import Image, Mask

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: Fractional SEG values are stored as integers 0..MAX_FRACTIONAL_VALUE.
MAX_FRACTIONAL_VALUE = 255


def load_highdicom() -> Any:
    """The highdicom module, or a one-line `ConfigError` saying how to install it."""
    try:
        import highdicom
    except ModuleNotFoundError as err:
        raise ConfigError(
            "DICOM-SEG and SR output need highdicom: pip install 'medscale[dicom]'"
        ) from err
    return highdicom


def source_datasets(source: str | Path | Sequence[str | Path]) -> list[Any]:
    """The DICOM datasets of a source series: a folder (searched recursively) or files.

    Raises
    ------
    DicomError
        No readable image file, or files of several series.
    """
    import pydicom

    if isinstance(source, (str, Path)):
        root = Path(source)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    else:
        files = [Path(p) for p in source]
    datasets = []
    for file in files:
        try:
            dataset = pydicom.dcmread(file)
        except Exception:  # noqa: BLE001 - a non-DICOM file in the folder is skipped
            continue
        if "PixelData" in dataset and "ImagePositionPatient" in dataset:
            datasets.append(dataset)
    if not datasets:
        raise DicomError(f"{source}: no DICOM image slices to reference")
    series = {str(ds.SeriesInstanceUID) for ds in datasets}
    if len(series) > 1:
        raise DicomError(f"{source}: {len(series)} series; give the files of one")
    return datasets


def write_seg(
    mask: Mask | Image,
    source: str | Path | Sequence[str | Path],
    path: str | Path,
    *,
    fractional: bool = False,
    label: str = "ROI",
    series_number: int = 300,
    series_description: str = "medscale segmentation",
    algorithm: str = "medscale",
) -> Path:
    """Write `mask` as a one-segment DICOM SEG referencing the series in `source`.

    Parameters
    ----------
    mask : Mask or Image
        On the grid of the source series (as `medscale.io.dicom.read_dicom` reads it). For a
        fractional SEG, an `Image` of values in [0, 1] (a `Mask` gives 0 and 1).
    source : folder, file or list of files
        The DICOM image series segmented.
    path : str or Path
        The SEG file written (folder made).
    fractional : bool, default False
        FRACTIONAL (PROBABILITY, 0..255) rather than BINARY.
    label : str
        SegmentLabel.

    Returns
    -------
    Path

    Raises
    ------
    MaskError
        The mask is not on the source grid, or fractional values outside [0, 1].
    DicomError
        The source has no readable slices.
    """
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    hd = load_highdicom()
    path = Path(path)
    datasets = source_datasets(source)
    array = np.asarray(mask.array)
    if fractional:
        values = array.astype(np.float32)
        if values.size and (np.nanmin(values) < 0 or np.nanmax(values) > 1):
            raise MaskError(f"{path}: fractional values must lie in [0, 1]")
    elif array.dtype != bool:
        raise MaskError(f"{path}: a binary SEG needs a Mask, got dtype {array.dtype}")
    order = _slice_order(mask, datasets, path)
    datasets = [datasets[n] for n in np.argsort(order)]  # array z order
    frames = array.astype(np.float32 if fractional else np.uint8)
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name=algorithm, version=_version(), family=codes.DCM.ArtificialIntelligence
        ),
    )
    key = hashlib.sha256(np.ascontiguousarray(frames).tobytes())
    key.update(f"{datasets[0].SeriesInstanceUID}|{label}|{fractional}".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        seg = hd.seg.Segmentation(
            source_images=datasets,
            pixel_array=frames,
            segmentation_type="FRACTIONAL" if fractional else "BINARY",
            segment_descriptions=[description],
            series_instance_uid=generate_uid(entropy_srcs=[key.hexdigest(), "series"]),
            series_number=series_number,
            sop_instance_uid=generate_uid(entropy_srcs=[key.hexdigest(), "instance"]),
            instance_number=1,
            manufacturer="medscale",
            manufacturer_model_name="medscale",
            software_versions=_version(),
            device_serial_number="0",
            series_description=series_description,
            max_fractional_value=MAX_FRACTIONAL_VALUE,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)
    return path


def _slice_order(mask: Image, datasets: list[Any], path: Path) -> list[int]:
    """For each dataset, the index k of its slice in `mask`'s array (checking the grid)."""
    rows, columns = mask.shape[1], mask.shape[2]
    order = []
    for dataset in datasets:
        if (int(dataset.Rows), int(dataset.Columns)) != (rows, columns):
            raise MaskError(
                f"{path}: source slices are {dataset.Rows}x{dataset.Columns}, the mask "
                f"{rows}x{columns}; the mask must be on the source grid"
            )
        index = mask.world_to_index(np.array([float(v) for v in dataset.ImagePositionPatient]))
        corner = np.rint(index).astype(int)
        if np.abs(index - corner).max() > 0.1 or corner[1] or corner[2]:
            raise MaskError(
                f"{path}: source slice {dataset.SOPInstanceUID} lies at voxel "
                f"{index.round(3).tolist()} of the mask grid; the mask must be on the source grid"
            )
        if not 0 <= corner[0] < mask.shape[0]:
            raise MaskError(f"{path}: source slice {dataset.SOPInstanceUID} is outside the mask")
        order.append(int(corner[0]))
    if len(set(order)) != len(order) or len(order) != mask.shape[0]:
        raise MaskError(
            f"{path}: {len(datasets)} source slices for a mask of {mask.shape[0]} slices"
        )
    return order


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("medscale")
    except PackageNotFoundError:
        return "0"
