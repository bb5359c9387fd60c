"""Synthetic cohorts: determinism, anatomy, lesion, labels, patients, sites, speed."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from medscale.datasets import (
    TISSUE_CODES,
    generate_cohort,
    generate_ct_case,
    generate_xray_case,
)
from medscale.datasets.population import SITES
from medscale.errors import ConfigError

SMALL = {"shape": (24, 64, 64), "spacing_mm": (2.5, 1.0, 1.0)}


@pytest.fixture(scope="module")
def ct_cohort() -> list:
    """60 small CT cases (seed 0): enough for label balance and site statistics."""
    return list(generate_cohort(60, seed=0, **SMALL))


def test_ct_case_is_deterministic_and_independent_of_cohort() -> None:
    alone = generate_ct_case(7, seed=5)
    again = generate_ct_case(7, seed=5)
    in_cohort = list(generate_cohort(8, seed=5))[7]
    for other in (again, in_cohort):
        np.testing.assert_array_equal(alone.image.array, other.image.array)
        np.testing.assert_array_equal(alone.mask.array, other.mask.array)
        assert (alone.label, alone.patient_id, alone.site, alone.header) == (
            other.label,
            other.patient_id,
            other.site,
            other.header,
        )


def test_different_seeds_and_indices_differ() -> None:
    base = generate_ct_case(0, seed=0)
    assert not np.array_equal(base.image.array, generate_ct_case(0, seed=1).image.array)
    assert not np.array_equal(base.image.array, generate_ct_case(1, seed=0).image.array)
    assert base.header["StudyInstanceUID"] != generate_ct_case(1, seed=0).header["StudyInstanceUID"]


def test_ct_image_values_and_geometry() -> None:
    case = generate_ct_case(3, seed=2)
    image, tissue = case.image, case.tissue
    assert image.shape == (40, 96, 96) and image.dtype == np.int16
    assert image.spacing == (2.5, 0.8, 0.8)
    assert case.mask.geometry_equal(image) and tissue.geometry_equal(image)
    values = image.array.astype(float)
    codes = tissue.array
    # Tissue medians within the noise of their nominal HU (site offset at most 15 HU, scale 4 %).
    expected = {"air": -1000, "lung": -850, "fat": -100, "soft_tissue": 40}
    for name, hu in expected.items():
        inner = codes == TISSUE_CODES[name]
        assert abs(np.median(values[inner]) - hu) < 60, name
    assert np.median(values[codes == TISSUE_CODES["bone"]]) > 300
    assert image.meta["units"] == "HU"


@pytest.mark.parametrize("index", range(6))
def test_lesion_mask_non_empty_inside_body_and_sized(index: int) -> None:
    case = generate_ct_case(index, seed=11)
    mask, codes = case.mask.array, case.tissue.array
    assert mask.any()
    assert np.all(codes[mask] == TISSUE_CODES["lesion"])
    assert np.all(codes[mask] != TISSUE_CODES["air"])
    # Equivalent-sphere radius within the drawn 5-20 mm range (15 mm cap on this grid), +/- shape.
    volume_mm3 = mask.sum() * np.prod(case.image.spacing)
    radius = (3 * volume_mm3 / (4 * np.pi)) ** (1 / 3)
    assert 3.0 < radius < 22.0
    # Not cut by the array border in-plane.
    assert not (
        mask[:, 0].any() or mask[:, -1].any() or mask[:, :, 0].any() or mask[:, :, -1].any()
    )


def test_labels_balanced_and_patients_share_ids(ct_cohort: list) -> None:
    labels = np.array([case.label for case in ct_cohort])
    assert set(labels) == {0, 1}
    assert 0.4 <= labels.mean() <= 0.6
    by_patient = defaultdict(list)
    for case in ct_cohort:
        by_patient[case.patient_id].append(case)
    sizes = [len(cases) for cases in by_patient.values()]
    assert 1 <= min(sizes) and max(sizes) <= 3 and max(sizes) >= 2
    assert 20 <= len(by_patient) <= 45
    for cases in by_patient.values():
        # A patient's facts agree across cases; the studies differ.
        assert len({c.site for c in cases}) == 1
        assert len({(c.header["PatientName"], c.header["PatientBirthDate"]) for c in cases}) == 1
        assert len({c.header["StudyInstanceUID"] for c in cases}) == len(cases)
    assert len({case.case_id for case in ct_cohort}) == len(ct_cohort)


def test_acquisitions_on_working_days_and_hours_over_weeks(ct_cohort: list) -> None:
    import datetime as dt

    stamps = [
        dt.datetime.strptime(c.header["AcquisitionDateTime"], "%Y%m%d%H%M%S") for c in ct_cohort
    ]
    assert all(s.weekday() < 5 and 8 <= s.hour < 18 for s in stamps)
    assert (max(stamps) - min(stamps)).days >= 28
    devices = {(c.header["Manufacturer"], c.header["StationName"]) for c in ct_cohort}
    assert len(devices) >= 3


def test_site_effect_on_soft_tissue_hu(ct_cohort: list) -> None:
    """Site calibration (SITE-A +0, SITE-B +15 and x1.04, SITE-C -12 and x0.97) is measurable."""
    medians = defaultdict(list)
    for case in ct_cohort:
        soft = case.tissue.array == TISSUE_CODES["soft_tissue"]
        medians[case.site].append(np.median(case.image.array[soft]))
    means = {site: float(np.mean(values)) for site, values in medians.items()}
    assert set(means) == {"SITE-A", "SITE-B", "SITE-C"}
    # Expected soft tissue (40-45 HU): A ~ 40, B ~ 57, C ~ 27.
    assert means["SITE-B"] - means["SITE-A"] > 10
    assert means["SITE-A"] - means["SITE-C"] > 8
    noise = {
        site: np.mean([_soft_tissue_noise(c) for c in ct_cohort if c.site == site])
        for site in means
    }
    assert noise["SITE-A"] < noise["SITE-B"] < noise["SITE-C"]


def _soft_tissue_noise(case) -> float:
    """SD of in-plane neighbour differences inside eroded soft tissue (noise, not anatomy)."""
    from scipy import ndimage as ndi

    soft = ndi.binary_erosion(case.tissue.array == TISSUE_CODES["soft_tissue"], np.ones((1, 5, 5)))
    values = case.image.array.astype(float)
    differences = (values[:, :, 1:] - values[:, :, :-1])[soft[:, :, 1:] & soft[:, :, :-1]]
    return float(np.std(differences))


def test_mean_intensity_does_not_give_the_label_away(ct_cohort: list) -> None:
    from sklearn.metrics import roc_auc_score

    means = [case.image.array[case.mask.array].mean() for case in ct_cohort]
    auc = roc_auc_score([case.label for case in ct_cohort], means)
    assert 0.3 < auc < 0.7


def test_xray_case() -> None:
    case = generate_xray_case(4, seed=1)
    assert case.image.shape == (1, 256, 256) and case.image.dtype == np.uint16
    assert case.case_id == "xray_00004" and case.header["Modality"] == "CR"
    np.testing.assert_array_equal(case.image.array, generate_xray_case(4, seed=1).image.array)
    mask = case.mask.array[0]
    assert mask.any()
    values = case.image.array[0].astype(float)
    codes = case.tissue.array[0]
    # Lung fields darker than the mediastinum/spine, air darkest.
    lung = np.median(values[codes == TISSUE_CODES["lung"]])
    bone = np.median(values[codes == TISSUE_CODES["bone"]])
    air = np.median(values[codes == TISSUE_CODES["air"]])
    assert air < lung < bone
    # The nodule is an opacity: brighter than the lung around it.
    from scipy import ndimage as ndi

    ring = ndi.binary_dilation(mask, iterations=4) & ~ndi.binary_dilation(mask, iterations=1)
    assert values[mask].mean() > values[ring].mean() + 100


def test_site_table_comes_from_the_package_data() -> None:
    """Six sites in file order, each with CT and X-ray scanners (every cohort draws from them)."""
    assert [site.name for site in SITES] == [f"SITE-{letter}" for letter in "ABCDEF"]
    assert all(site.ct_scanners and site.xray_scanners for site in SITES)
    assert (SITES[0].hu_scale, SITES[3].blur_mm, SITES[5].institution) == (
        1.0,
        0.55,
        "Riverside Children's and Adults' Hospital",
    )
    assert [scanner.station for scanner in SITES[2].xray_scanners] == ["LRMCDX-A", "LRMCDX-B"]


@pytest.mark.parametrize(
    "bad",
    [
        {"seed": -1},
        {"n_sites": 0},
        {"n_sites": 9},
        {"shape": (4, 4, 4)},
        {"spacing_mm": (1.0, 0.0, 1.0)},
    ],
)
def test_bad_arguments_raise_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError):
        generate_ct_case(0, **bad)


def test_cohort_rejects_unknown_kind_at_call() -> None:
    with pytest.raises(ConfigError, match="kind"):
        generate_cohort(3, kind="pet")
    with pytest.raises(ConfigError):
        generate_ct_case(-1)
