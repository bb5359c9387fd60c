"""Where each registered public file comes from upstream (repository @ commit, path).

The table follows the data mirror's ``MANIFEST.md``. Files with no public upstream (written for
this project: the IBSI-1 reference table and configurations, the READMEs) and the licence
copies, whose upstream path the manifest does not record, come only from a mirror
(``MEDSCALE_DATA_URL``); `upstream` gives None for them.
"""

from __future__ import annotations

from dataclasses import dataclass

_IBSI_DATA = ("theibsi/data_sets", "6da96021bc91faf4c0cb7fd7fa56a4225d2064a8")
_IBSI2_REF = ("theibsi/ibsi_2_reference_data", "5404579fb3e0")
_PYRADIOMICS = ("AIM-Harvard/pyradiomics", "8ed579383b44")

# local folder prefix -> (repository, commit, upstream folder prefix); suffix kept as is
_FOLDERS: tuple[tuple[str, tuple[str, str], str], ...] = (
    ("ibsi1/digital_phantom/", _IBSI_DATA, "ibsi_1_digital_phantom/nifti/"),
    ("ibsi1/ct_phantom/nifti/", _IBSI_DATA, "ibsi_1_ct_radiomics_phantom/nifti/"),
    ("ibsi1/ct_phantom/dicom/", _IBSI_DATA, "ibsi_1_ct_radiomics_phantom/dicom/"),
    ("ibsi2/digital_phantom/", _IBSI_DATA, "ibsi_2_digital_phantom/nifti/"),
    ("ibsi2/reference_response_maps/", _IBSI2_REF, "reference_response_maps/"),
    ("samples/", _PYRADIOMICS, "data/"),
)
# local path -> (repository, commit, upstream path), for files renamed or from one-off sources
_FILES: dict[str, tuple[str, str, str]] = {
    "medmnist/pneumoniamnist_subset.npz": (
        "aksufatih/snn-medmnist",
        "5df79ab2ac7b",
        "pneumoniamnist.npz",
    ),
    "medmnist/adrenalmnist3d.npz": (
        "yohann1146/cg-marching-cubes",
        "e3f7b962baf3",
        "adrenalmnist3d.npz",
    ),
    "medmnist/adrenalmnist3d_64.npz": (
        "yohann1146/cg-marching-cubes",
        "342971a6f013",
        "adrenalmnist3d_64.npz",
    ),
}
# written for this project: no public upstream, mirror only
PROJECT_WRITTEN: frozenset[str] = frozenset(
    {
        "ibsi1/configs.md",
        "ibsi1/reference_values.csv",
        "ibsi2/README.md",
        "ibsi2/phase2_configs.md",
        "medmnist/README.md",
    }
)
_DATA_SUFFIXES = (".nii.gz", ".nii", ".dcm", ".nrrd", ".npz")


@dataclass(frozen=True)
class Upstream:
    """A file in a public GitHub repository at a fixed commit."""

    repository: str
    commit: str
    path: str

    @property
    def url(self) -> str:
        """The raw-content URL of the file at that commit."""
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{self.path}"


def upstream(path: str) -> Upstream | None:
    """The upstream of registry path `path` (e.g. ``samples/lung1_image.nrrd``), or None.

    None for the files written for this project and for licence copies: fetch those from a
    mirror (``MEDSCALE_DATA_URL``).
    """
    if path in _FILES:
        return Upstream(*_FILES[path])
    if path in PROJECT_WRITTEN or not path.endswith(_DATA_SUFFIXES):
        return None
    for prefix, (repository, commit), remote in _FOLDERS:
        if path.startswith(prefix):
            return Upstream(repository, commit, remote + path[len(prefix) :])
    return None
