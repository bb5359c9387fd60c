"""A small generated archive: pydicom test files, IBSI phantom slices, junk and truncated files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

PHANTOM_SLICES = ("DCM_IMG_00000.dcm", "DCM_IMG_00001.dcm", "DCM_IMG_00002.dcm")


def write_copy(source: str | Path, target: Path, *, sop_uid: str, **changes: str) -> Path:
    """A copy of ``source`` with a new SOPInstanceUID and the given attribute changes."""
    dataset = pydicom.dcmread(source)
    dataset.SOPInstanceUID = sop_uid
    dataset.file_meta.MediaStorageSOPInstanceUID = sop_uid
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target)
    return target


def write_ct_slices(folder: Path) -> None:
    """Three CT slices of 201 x 204 pixels, 3 mm apart, named like the IBSI phantom's files.

    Generated here (not copied from the shared data) so that the catalog tests always run;
    implicit VR little endian like the phantom, to exercise that path of the header reader.
    """
    import numpy as np

    from medscale import Image
    from medscale.io.dicom_write import write_dicom_series

    rng = np.random.default_rng(5)
    image = Image(
        rng.integers(-1000, 1500, (3, 201, 204)).astype(np.int16),
        spacing=(3.0, 0.977, 0.977),
        origin=(-99.5, -120.0, -180.0),
        meta={"modality": "CT"},
    )
    header = {"PatientID": "PAT1", "Manufacturer": "medscale", "SliceThickness": 3.0}
    written = write_dicom_series(image, folder / "tmp", header=header)
    for name, path in zip(PHANTOM_SLICES, written, strict=True):
        dataset = pydicom.dcmread(path)  # re-encoded as the phantom is: implicit VR
        dataset.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        dataset.save_as(folder / name, implicit_vr=True, little_endian=True)
        path.unlink()
    (folder / "tmp").rmdir()


@pytest.fixture
def archive(tmp_path: Path) -> dict[str, object]:
    """The archive folder and what a scan must find in it.

    Instances (6): ct/CT_small.dcm; mr/MR_small.dcm and mr/MR_small_b.dcm (same series,
    second instance with its own acquisition time); phantom/ three generated CT slices
    shaped like the IBSI CT phantom's (201 x 204, 3 mm).
    Errors (3): notes.txt (not DICOM), broken/ct_cut_pixels.dcm (cut inside Pixel Data),
    broken/ct_cut_header.dcm (cut inside the header).
    """
    root = tmp_path / "archive"
    (root / "ct").mkdir(parents=True)
    (root / "mr").mkdir()
    (root / "phantom").mkdir()
    (root / "broken").mkdir()
    ct_small = get_testdata_file("CT_small.dcm")
    mr_small = get_testdata_file("MR_small.dcm")
    shutil.copyfile(ct_small, root / "ct" / "CT_small.dcm")
    shutil.copyfile(mr_small, root / "mr" / "MR_small.dcm")
    write_copy(
        mr_small,
        root / "mr" / "MR_small_b.dcm",
        sop_uid="1.2.826.0.1.3680043.8.498.1",
        AcquisitionDate="20040826",
        AcquisitionTime="190102.5",
        InstanceNumber="2",
    )
    write_ct_slices(root / "phantom")
    (root / "notes.txt").write_text("not a DICOM file\n")
    data = Path(ct_small).read_bytes()
    (root / "broken" / "ct_cut_pixels.dcm").write_bytes(data[:-1000])
    (root / "broken" / "ct_cut_header.dcm").write_bytes(data[:700])
    instances = sorted(
        str(path)
        for path in (
            root / "ct" / "CT_small.dcm",
            root / "mr" / "MR_small.dcm",
            root / "mr" / "MR_small_b.dcm",
            *(root / "phantom" / name for name in PHANTOM_SLICES),
        )
    )
    errors = {
        str(root / "notes.txt"): "not_dicom",
        str(root / "broken" / "ct_cut_pixels.dcm"): "truncated",
        str(root / "broken" / "ct_cut_header.dcm"): "truncated",
    }
    return {"root": root, "instances": instances, "errors": errors}
