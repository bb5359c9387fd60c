"""Registry of public data: checksums against the real files, data root, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from medscale.datasets import public
from medscale.datasets.public import (
    DATASETS,
    data_root,
    fetch_path,
    load_medmnist,
    load_sample,
    verify_dataset,
)
from medscale.errors import ConfigError, InputError

EXPECTED_COUNTS = {
    "ibsi1_digital_phantom": 2,
    "ibsi1_ct_phantom": 63,
    "ibsi1_reference_values": 2,
    "ibsi2_digital_phantom": 17,
    "ibsi2_reference_response_maps": 33,
    "samples": 10,
    "medmnist": 3,
}


@pytest.fixture(autouse=True)
def _fresh_verification_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "_VERIFIED", set())


def test_registry_contents() -> None:
    assert {name: len(d.files) for name, d in DATASETS.items()} == EXPECTED_COUNTS
    ct = DATASETS["ibsi1_ct_phantom"].files
    assert "nifti/phantom.nii.gz" in ct and "dicom/mask/DCM_RS_00060.dcm" in ct
    assert sum(name.startswith("dicom/image/") for name in ct) == 60
    assert all(len(digest) == 64 for d in DATASETS.values() for digest in d.files.values())


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_checksums_match_real_files(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("MEDSCALE_DATA", str(shared_data))
    paths = verify_dataset(name)
    assert len(paths) == EXPECTED_COUNTS[name]
    assert all(path.is_file() for path in paths.values())


def test_load_samples(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSCALE_DATA", str(shared_data))
    image, mask = load_sample("ibsi1_digital_phantom")
    assert image.shape == (4, 4, 5) and mask.voxel_count == 74
    image, mask = load_sample("breast1")
    assert mask.voxel_count == 143 and image.meta["modality"] == "MR"
    assert image.geometry_equal(mask)
    image, mask = load_sample("ibsi1_ct_phantom")
    assert mask.voxel_count == 125256 and np.isclose(image.spacing[0], 3.0)


def test_data_root_prefers_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSCALE_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.setenv("MEDSCALE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="MEDSCALE_DATA=.*nowhere"):
        data_root()


def test_missing_data_root_says_where_and_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDSCALE_DATA", raising=False)
    monkeypatch.setattr(public, "_candidate_roots", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(InputError) as caught:
        fetch_path("samples", "lung1_image.nrrd")
    message = str(caught.value)
    assert str(tmp_path / "a") in message and "MEDSCALE_DATA" in message


def test_missing_file_names_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSCALE_DATA", str(tmp_path))
    with pytest.raises(InputError, match=r"lung1_image.nrrd is not in .*samples"):
        fetch_path("samples", "lung1_image.nrrd")


def test_checksum_mismatch(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ibsi1" / "digital_phantom"
    target.mkdir(parents=True)
    shutil.copy(shared_data / "ibsi1" / "digital_phantom" / "mask.nii.gz", target)
    (target / "phantom.nii.gz").write_bytes(b"not the phantom")
    monkeypatch.setenv("MEDSCALE_DATA", str(tmp_path))
    assert fetch_path("ibsi1_digital_phantom", "mask.nii.gz").is_file()
    with pytest.raises(InputError, match="SHA-256"):
        fetch_path("ibsi1_digital_phantom", "phantom.nii.gz")
    assert fetch_path("ibsi1_digital_phantom", "phantom.nii.gz", verify=False).is_file()


def test_unknown_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean 'samples'"):
        fetch_path("sample", "lung1_image.nrrd")
    with pytest.raises(ConfigError, match="lung1_image.nrrd"):
        fetch_path("samples", "lung1_imag.nrrd")
    with pytest.raises(ConfigError, match="lung1"):
        load_sample("lung3")


def test_load_medmnist(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSCALE_DATA", str(shared_data))
    images, labels = load_medmnist("pneumoniamnist_subset.npz", split="val")
    assert images.shape == (270, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (270,) and np.bincount(labels).tolist() == [135, 135]
    images, labels = load_medmnist("adrenalmnist3d.npz", split="test")
    assert images.shape == (298, 28, 28, 28) and np.bincount(labels).tolist() == [229, 69]
    assert set(np.unique(images)) <= {0, 255}
    with pytest.raises(ConfigError, match="split"):
        load_medmnist("adrenalmnist3d.npz", split="dev")
