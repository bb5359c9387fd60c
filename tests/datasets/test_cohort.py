"""Writing cohorts (NIfTI, DICOM, PNG) and the learnability of the synthetic label."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import measure
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medscale.datasets import generate_cohort, write_cohort
from medscale.datasets.cohort import MANIFEST_COLUMNS
from medscale.errors import ConfigError
from medscale.io import read_image, read_mask

SMALL = {"shape": (16, 48, 48), "spacing_mm": (2.5, 1.0, 1.0)}


def _rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_write_nifti_cohort(tmp_path: Path) -> None:
    cases = list(generate_cohort(3, seed=2, **SMALL))
    manifest = write_cohort(iter(cases), tmp_path / "out")
    assert manifest == (tmp_path / "out" / "manifest.csv").resolve()
    rows = _rows(manifest)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    for case, row in zip(cases, rows, strict=True):
        assert (row["case_id"], int(row["label"]), row["patient_id"], row["site"]) == (
            case.case_id,
            case.label,
            case.patient_id,
            case.site,
        )
        assert Path(row["image"]).is_absolute() and row["modality"] == "CT"
        image, mask = read_image(row["image"]), read_mask(row["mask"])
        np.testing.assert_array_equal(image.array, case.image.array)
        np.testing.assert_array_equal(mask.array, case.mask.array)
        assert image.geometry_equal(case.image) and mask.geometry_equal(case.image)


def test_write_dicom_cohort_reads_back(tmp_path: Path) -> None:
    cases = list(generate_cohort(2, seed=1, **SMALL))
    rows = _rows(write_cohort(cases, tmp_path, fmt="dicom"))
    for case, row in zip(cases, rows, strict=True):
        assert Path(row["image"]).is_dir() and row["mask"].endswith("rtstruct.dcm")
        image = read_image(row["image"])
        assert image.geometry_equal(case.image, tol_mm=1e-4)
        np.testing.assert_allclose(image.array, case.image.array)
        mask = read_mask(row["mask"], reference=image, roi="lesion")
        overlap = np.count_nonzero(mask.array & case.mask.array)
        assert 2 * overlap / (mask.voxel_count + case.mask.voxel_count) >= 0.95


def test_write_xray_cohort_png_and_dicom(tmp_path: Path) -> None:
    cases = list(generate_cohort(2, kind="xray", seed=0))
    for fmt in ("png", "dicom"):
        rows = _rows(write_cohort(cases, tmp_path / fmt, fmt=fmt))
        for case, row in zip(cases, rows, strict=True):
            image, mask = read_image(row["image"]), read_mask(row["mask"])
            np.testing.assert_array_equal(image.array.reshape(case.image.shape), case.image.array)
            np.testing.assert_array_equal(mask.array.reshape(case.mask.shape), case.mask.array)
            assert row["modality"] == "CR"
            assert image.geometry_equal(mask)  # image and mask files agree on the grid
            if fmt == "dicom":
                assert image.geometry_equal(case.image)


def test_write_cohort_errors(tmp_path: Path) -> None:
    case = next(generate_cohort(1, **SMALL))
    with pytest.raises(ConfigError, match="format"):
        write_cohort([case], tmp_path, fmt="jpeg2000")
    with pytest.raises(ConfigError, match="png"):
        write_cohort([case], tmp_path, fmt="png")
    with pytest.raises(ConfigError, match="twice"):
        write_cohort([case, case], tmp_path)


def _shape_texture_features(case) -> list[float]:
    """[sphericity, SD of the eroded lesion interior, mean, log volume] of one case."""
    mask = case.mask.array
    interior = ndi.binary_erosion(mask, np.ones((1, 3, 3)))
    if interior.sum() < 5:
        interior = mask
    values = case.image.array.astype(float)
    if case.image.is_2d:
        area = mask.sum()
        sphericity = 4 * np.pi * area / measure.perimeter(mask[0]) ** 2
        volume = area
    else:
        verts, faces, _, _ = measure.marching_cubes(
            np.pad(mask, 1).astype(np.uint8), 0.5, spacing=case.image.spacing
        )
        volume = mask.sum() * case.image.voxel_volume_mm3
        sphericity = (36 * np.pi * volume**2) ** (1 / 3) / measure.mesh_surface_area(verts, faces)
    return [sphericity, values[interior].std(), values[mask].mean(), np.log(volume)]


def _cv_auc(features: np.ndarray, labels: np.ndarray) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression())
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


@pytest.mark.parametrize(
    ("kind", "seed", "kwargs"),
    [
        ("ct", 0, {"shape": (32, 80, 80), "spacing_mm": (2.5, 0.9, 0.9)}),
        ("xray", 3, {}),
    ],
)
def test_label_is_learnable_but_not_trivial(kind: str, seed: int, kwargs: dict) -> None:
    """Shape + texture statistics give a cross-validated AUC in [0.7, 0.98]; the mean does not."""
    cases = list(generate_cohort(80, kind=kind, seed=seed, **kwargs))
    features = np.array([_shape_texture_features(case) for case in cases])
    labels = np.array([case.label for case in cases])
    auc = _cv_auc(features[:, :2], labels)
    assert 0.7 <= auc <= 0.98, auc
    mean_auc = _cv_auc(features[:, 2:3], labels)
    assert mean_auc < 0.7, mean_auc
