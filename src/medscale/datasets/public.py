"""Registry of the public reference data sets, found in a local mirror and checked by SHA-256.

The data live in a folder (the *data root*) laid out as the project's ``shared/data`` mirror
(``ibsi1/``, ``ibsi2/``, ``samples/``, ``medmnist/``); ``medscale datasets fetch`` fills one
(`medscale.datasets.download`). `data_root` finds it: ``$MEDSCALE_DATA`` when set, else
``../shared/data`` beside the medscale repository, else ``../shared/data`` or
``./shared/data`` from the current directory, else the user cache ``~/.cache/medscale/data``.

`fetch_path` gives the path of one file of a data set after checking its SHA-256 (once per
file version and process); `load_sample` reads an image and its mask; `load_medmnist` one
split of a MedMNIST archive.

Examples
--------
>>> sorted(DATASETS)[:3]
['ibsi1_ct_phantom', 'ibsi1_digital_phantom', 'ibsi1_reference_values']
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medscale.datasets.checksums import SHA256
from medscale.datasets.download import user_cache
from medscale.errors import ConfigError, InputError
from medscale.image import Image, Mask

ENV_VARIABLE = "MEDSCALE_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class PublicDataset:
    """One public data set: where it lies under the data root, its licence and citation.

    ``folder`` is relative to the data root; file names are relative to ``folder``. Files are
    those of the checksum table under ``folder`` whose names end with one of ``suffixes``.
    """

    name: str
    folder: str
    description: str
    licence: str
    citation: str
    suffixes: tuple[str, ...]

    @property
    def files(self) -> dict[str, str]:
        """File name (relative to ``folder``) -> SHA-256, sorted by name."""
        prefix = f"{self.folder}/"
        return {
            path[len(prefix) :]: digest
            for path, digest in sorted(SHA256.items())
            if path.startswith(prefix) and path.endswith(self.suffixes)
        }


_IBSI1 = (
    "Zwanenburg A, et al. The Image Biomarker Standardization Initiative. Radiology "
    "2020;295:328-338. arXiv:1612.07003"
)
_IBSI2 = (
    "Whybra P, et al. The Image Biomarker Standardization Initiative: Standardized "
    "Convolutional Filters. Radiology 2024;310:e231319. arXiv:2006.05470"
)

DATASETS: dict[str, PublicDataset] = {
    d.name: d
    for d in (
        PublicDataset(
            "ibsi1_digital_phantom",
            "ibsi1/digital_phantom",
            "IBSI-1 digital phantom: 5 x 4 x 4 voxels at 2 mm, grey levels 1-6, 74-voxel "
            "mask (phantom.nii.gz, mask.nii.gz)",
            "CC BY 4.0",
            _IBSI1,
            (".nii.gz",),
        ),
        PublicDataset(
            "ibsi1_ct_phantom",
            "ibsi1/ct_phantom",
            "IBSI-1 CT radiomics phantom (lung cancer patient, ROI GTV-1) as NIfTI "
            "(nifti/phantom.nii.gz, nifti/mask.nii.gz) and DICOM (dicom/image/ 60 "
            "slices, dicom/mask/DCM_RS_00060.dcm RTSTRUCT)",
            "CC BY-NC 3.0 (non-commercial)",
            _IBSI1,
            (".nii.gz", ".dcm"),
        ),
        PublicDataset(
            "ibsi1_reference_values",
            "ibsi1",
            "IBSI-1 consensus reference values (reference_values.csv) and the settings "
            "of each configuration (configs.md)",
            "facts from the IBSI manual",
            _IBSI1,
            ("reference_values.csv", "configs.md"),
        ),
        PublicDataset(
            "ibsi2_digital_phantom",
            "ibsi2/digital_phantom",
            "IBSI-2 phase-1 digital phantoms (<name>/<name>.nii.gz and <name>/mask.nii.gz)",
            "CC BY 4.0",
            _IBSI2,
            (".nii.gz",),
        ),
        PublicDataset(
            "ibsi2_reference_response_maps",
            "ibsi2/reference_response_maps",
            "IBSI-2 phase-1 consensus filter response maps (<test>-ValidCRM.nii)",
            "CC0 1.0",
            _IBSI2,
            (".nii",),
        ),
        PublicDataset(
            "samples",
            "samples",
            "pyradiomics test cases brain1, brain2, breast1 (MR), lung1, lung2 (CT): "
            "<case>_image.nrrd and <case>_label.nrrd",
            "BSD-3-Clause",
            "van Griethuysen JJM, et al. Cancer Research 2017;77:e104-e107",
            (".nrrd",),
        ),
        PublicDataset(
            "medmnist",
            "medmnist",
            "MedMNIST: pneumoniamnist_subset.npz (chest X-ray 28 x 28), adrenalmnist3d.npz "
            "(28^3) and adrenalmnist3d_64.npz (64^3)",
            "CC BY 4.0",
            "Yang J, et al. MedMNIST v2. Scientific Data 2023;10:41",
            (".npz",),
        ),
    )
}

# name -> (dataset, image file, mask file, modality)
SAMPLES: dict[str, tuple[str, str, str, str]] = {
    **{
        case: ("samples", f"{case}_image.nrrd", f"{case}_label.nrrd", modality)
        for case, modality in (
            ("brain1", "MR"),
            ("brain2", "MR"),
            ("breast1", "MR"),
            ("lung1", "CT"),
            ("lung2", "CT"),
        )
    },
    "ibsi1_digital_phantom": ("ibsi1_digital_phantom", "phantom.nii.gz", "mask.nii.gz", ""),
    "ibsi1_ct_phantom": ("ibsi1_ct_phantom", "nifti/phantom.nii.gz", "nifti/mask.nii.gz", "CT"),
}


def _candidate_roots() -> list[Path]:
    cwd = Path.cwd()
    return [
        _REPO_ROOT.parent / "shared" / "data",
        cwd.parent / "shared" / "data",
        cwd / "shared" / "data",
        user_cache(),
    ]


def data_root() -> Path:
    """The folder holding the public data: ``$MEDSCALE_DATA``, ``../shared/data``, user cache.

    Raises
    ------
    InputError
        ``$MEDSCALE_DATA`` names a missing folder, or no candidate folder exists; the message
        lists the folders looked at and how to set ``MEDSCALE_DATA``.
    """
    configured = os.environ.get(ENV_VARIABLE)
    if configured:
        root = Path(configured).expanduser()
        if not root.is_dir():
            raise InputError(
                f"{ENV_VARIABLE}={configured} is not a folder; point it at the "
                "public data mirror (the folder holding ibsi1/, samples/, ...)"
            )
        return root
    candidates = _candidate_roots()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise InputError(
        f"public data not found (looked in {looked}); set {ENV_VARIABLE} to the "
        "folder holding ibsi1/, ibsi2/, samples/ and medmnist/, e.g. "
        f"`export {ENV_VARIABLE}=/path/to/shared/data`, or download it with "
        "`medscale datasets fetch all`"
    )


def _dataset(name: str) -> PublicDataset:
    if name not in DATASETS:
        close = difflib.get_close_matches(name, DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown public data set {name!r}{hint} Known: {sorted(DATASETS)}")
    return DATASETS[name]


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERIFIED: set[tuple[str, int, int]] = set()


def fetch_path(dataset: str, file: str, *, verify: bool = True) -> Path:
    """The local path of `file` of public data set `dataset`, checked against its SHA-256.

    Parameters
    ----------
    dataset : str
        A key of `DATASETS`, e.g. ``"samples"``.
    file : str
        File name relative to the data set's folder, e.g. ``"lung1_image.nrrd"``.
    verify : bool
        Check the SHA-256 (once per file version and process; about 0.1 s per 20 MB).

    Raises
    ------
    ConfigError
        Unknown data set or file name.
    InputError
        No data root, the file is absent (the message names the folder looked in and
        ``MEDSCALE_DATA``), or its checksum differs from the registry's.
    """
    entry = _dataset(dataset)
    files = entry.files
    if file not in files:
        close = difflib.get_close_matches(file, files, n=3)
        raise ConfigError(
            f"{dataset!r} has no file {file!r}"
            + (f"; close names: {close}" if close else f"; files: {list(files)[:8]}")
        )
    root = data_root()
    path = root / entry.folder / file
    if not path.is_file():
        raise InputError(
            f"{dataset}: {file} is not in {root / entry.folder}; set "
            f"{ENV_VARIABLE} to a complete copy of the public data "
            f"(currently {os.environ.get(ENV_VARIABLE) or 'unset'})"
        )
    if verify:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _VERIFIED:
            actual = sha256_of(path)
            if actual != files[file]:
                raise InputError(
                    f"{path}: SHA-256 {actual} differs from the registry's "
                    f"{files[file]} for {dataset}/{file}; the file is corrupt or "
                    "another version: restore it from the source named in "
                    "MANIFEST.md"
                )
            _VERIFIED.add(key)
    return path


def verify_dataset(dataset: str) -> dict[str, Path]:
    """Check every file of `dataset`; return file name -> path. Raises like `fetch_path`."""
    return {file: fetch_path(dataset, file) for file in _dataset(dataset).files}


def load_sample(name: str, *, verify: bool = True) -> tuple[Image, Mask]:
    """Read a reference case: image and mask on the same grid.

    Parameters
    ----------
    name : str
        ``brain1``, ``brain2``, ``breast1``, ``lung1``, ``lung2`` (pyradiomics samples),
        ``ibsi1_digital_phantom`` or ``ibsi1_ct_phantom`` (NIfTI copy).
    verify : bool
        Check the files' SHA-256 first.

    Returns
    -------
    (Image, Mask)
        The image (meta ``modality`` set for the samples) and its mask (label != 0).

    Raises
    ------
    ConfigError
        Unknown name.
    InputError
        Data absent or corrupt (see `fetch_path`).
    """
    from medscale.io.formats import read_image, read_mask

    if name not in SAMPLES:
        close = difflib.get_close_matches(name, SAMPLES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown sample {name!r}{hint} Known: {sorted(SAMPLES)}")
    dataset, image_file, mask_file, modality = SAMPLES[name]
    image = read_image(fetch_path(dataset, image_file, verify=verify))
    mask = read_mask(fetch_path(dataset, mask_file, verify=verify))
    if modality:
        image = image.with_array(image.array, modality=modality, sample=name)
    image.require_same_grid(mask, what=f"mask of sample {name}")
    return image, mask


def load_medmnist(
    file: str, *, split: str = "train", verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split of a MedMNIST file of the registry.

    Parameters
    ----------
    file : str
        ``pneumoniamnist_subset.npz`` (2-D, 28 x 28), ``adrenalmnist3d.npz`` (28^3) or
        ``adrenalmnist3d_64.npz`` (64^3; about 415 MB in memory for all splits).
    split : {"train", "val", "test"}
        Only this split's arrays are read.
    verify : bool
        Check the file's SHA-256 first.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 28, 28) or (n, d, d, d)
        Grey levels 0..255 (the 3-D sets are shape masks, 0 or 255).
    labels : numpy.ndarray of uint8, shape (n,)
        Class per image (see ``medmnist/README.md`` of the data).

    Raises
    ------
    ConfigError
        Unknown file or split.
    InputError
        Data absent or corrupt (see `fetch_path`).
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown MedMNIST split {split!r}; choose train, val or test")
    path = fetch_path("medmnist", file, verify=verify)
    with np.load(path, allow_pickle=False) as archive:
        return archive[f"{split}_images"], archive[f"{split}_labels"].reshape(-1)
