"""Who and where a synthetic case comes from: patients, sites, scanners and DICOM-ish facts.

Everything here is a pure function of ``(seed, index)``, so that case ``i`` gets the same patient,
site, label and header whether it is generated alone or inside a cohort.

Cases are grouped in blocks of `BLOCK_SIZE` consecutive indices. Inside a block the labels are a
shuffled half-and-half split (so a cohort's labels are balanced to within one block), and the
cases are shared out among 2 to 6 patients who own 1 to 3 cases each, all at the patient's site.
All names, dates and identifiers are invented.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np

from medscale.datasets.case import SyntheticCase
from medscale.errors import ConfigError
from medscale.image import Image, Mask

BLOCK_SIZE = 6

# Package data next to this module: one row per site (calibration and noise), and one per
# scanner (``kind`` ``ct`` or ``xray``, in the order a study draws from).
SITES_FILE, SCANNERS_FILE = "sites.csv", "site_scanners.csv"

# Random-stream codes, so that each kind of draw has its own independent stream.
STREAM_BLOCK, STREAM_PATIENT, STREAM_STUDY, STREAM_CT, STREAM_XRAY = 101, 202, 303, 404, 505


@dataclass(frozen=True)
class Scanner:
    """One imaging device: the DICOM equipment facts."""

    manufacturer: str
    model: str
    station: str
    serial: str


@dataclass(frozen=True)
class Site:
    """One hospital with its own calibration and noise.

    ``hu_offset`` (HU) and ``hu_scale`` (unitless) change every CT value as
    ``hu_scale * hu + hu_offset``; ``noise_sd`` is the standard deviation (HU for CT, grey levels
    per 1000 for X-ray) of the correlated noise; ``blur_mm`` is the Gaussian blur sigma in mm.
    """

    name: str
    institution: str
    hu_offset: float
    hu_scale: float
    noise_sd: float
    blur_mm: float
    ct_scanners: tuple[Scanner, ...]
    xray_scanners: tuple[Scanner, ...]


def _package_rows(name: str) -> list[dict[str, str]]:
    """The rows of the package-data CSV `name` next to this module."""
    text = resources.files("medscale.datasets").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _load_sites() -> tuple[Site, ...]:
    """The sites of `SITES_FILE`, in its order, with their scanners from `SCANNERS_FILE`."""
    scanners: dict[tuple[str, str], list[Scanner]] = {}
    for row in _package_rows(SCANNERS_FILE):
        scanner = Scanner(row["manufacturer"], row["model"], row["station"], row["serial"])
        scanners.setdefault((row["site"], row["kind"]), []).append(scanner)
    return tuple(
        Site(
            name=row["name"],
            institution=row["institution"],
            hu_offset=float(row["hu_offset"]),
            hu_scale=float(row["hu_scale"]),
            noise_sd=float(row["noise_sd"]),
            blur_mm=float(row["blur_mm"]),
            ct_scanners=tuple(scanners[row["name"], "ct"]),
            xray_scanners=tuple(scanners[row["name"], "xray"]),
        )
        for row in _package_rows(SITES_FILE)
    )


SITES: tuple[Site, ...] = _load_sites()
"""The invented hospitals, from `SITES_FILE` and `SCANNERS_FILE`; ``n_sites`` takes the first."""

_GIVEN_F = (
    "Alice",
    "Maria",
    "Sofia",
    "Hannah",
    "Grace",
    "Nora",
    "Ines",
    "Leila",
    "Yuki",
    "Amara",
    "Clara",
    "Rosa",
    "Elena",
    "Freya",
    "Mei",
    "Zara",
)
_GIVEN_M = (
    "James",
    "Omar",
    "Lukas",
    "Mateo",
    "Noah",
    "Arjun",
    "Felix",
    "Jonas",
    "Kenji",
    "Tomas",
    "Samuel",
    "Hugo",
    "Ivan",
    "Elias",
    "Diego",
    "Kwame",
)
_FAMILY = (
    "Smith",
    "Garcia",
    "Novak",
    "Okafor",
    "Larsen",
    "Rossi",
    "Tanaka",
    "Kowalski",
    "Haddad",
    "Fischer",
    "Moreau",
    "Silva",
    "Nguyen",
    "Petrov",
    "Brennan",
    "Lindqvist",
    "Mensah",
    "Costa",
    "Weber",
    "Duarte",
)
_FIRST_STUDY_DAY = dt.date(2024, 3, 4)  # a Monday
_STUDY_WEEKS = 12


@dataclass(frozen=True)
class CaseIdentity:
    """Who, where and which class a case is: everything but the pixels."""

    case_id: str
    patient_id: str
    patient_number: int
    site_index: int
    label: int


def check_case_args(index: int, seed: int, n_sites: int) -> None:
    """Raise `ConfigError` for a negative index or seed, or an unknown number of sites."""
    if int(index) != index or index < 0:
        raise ConfigError(f"the case index must be a non-negative integer, got {index!r}")
    if int(seed) != seed or seed < 0:
        raise ConfigError(f"the seed must be a non-negative integer, got {seed!r}")
    if not 1 <= n_sites <= len(SITES):
        raise ConfigError(f"n_sites must be between 1 and {len(SITES)}, got {n_sites!r}")


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent random generator for the integer keys (seed first), reproducible."""
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


def _block_plan(seed: int, block: int, n_sites: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, patient slot and patient site of each case of one block."""
    rng = rng_for(seed, block, STREAM_BLOCK)
    labels = rng.permutation(np.arange(BLOCK_SIZE) % 2)
    sizes: list[int] = []
    while sum(sizes) < BLOCK_SIZE:
        sizes.append(int(rng.integers(1, 4)))
    sizes[-1] -= sum(sizes) - BLOCK_SIZE
    slots = np.repeat(np.arange(len(sizes)), sizes)
    sites = rng.integers(0, n_sites, size=len(sizes))
    return labels, slots, sites


def case_identity(index: int, *, seed: int, n_sites: int, prefix: str = "case") -> CaseIdentity:
    """The case id, patient, site and label of case `index`; see the module notes."""
    check_case_args(index, seed, n_sites)
    block, position = divmod(int(index), BLOCK_SIZE)
    labels, slots, sites = _block_plan(seed, block, n_sites)
    slot = int(slots[position])
    patient_number = block * BLOCK_SIZE + slot
    return CaseIdentity(
        case_id=f"{prefix}_{index:05d}",
        patient_id=f"MRN{seed % 100:02d}{patient_number:06d}",
        patient_number=patient_number,
        site_index=int(sites[slot]),
        label=int(labels[position]),
    )


def header_facts(
    identity: CaseIdentity, *, seed: int, index: int, modality: str
) -> dict[str, object]:
    """DICOM-keyword facts of one study: invented patient, dates in working hours, device.

    Patient facts (name, sex, birth date) depend on the patient only, so they agree between
    the cases of one patient; study facts depend on the case.
    """
    patient_rng = rng_for(seed, identity.patient_number, STREAM_PATIENT)
    sex = "F" if patient_rng.random() < 0.5 else "M"
    given = patient_rng.choice(_GIVEN_F if sex == "F" else _GIVEN_M)
    family = patient_rng.choice(_FAMILY)
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=int(patient_rng.integers(0, 50 * 365)))

    study_rng = rng_for(seed, index, STREAM_STUDY)
    day = _FIRST_STUDY_DAY + dt.timedelta(
        weeks=int(study_rng.integers(0, _STUDY_WEEKS)), days=int(study_rng.integers(0, 5))
    )
    start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(
        seconds=int(study_rng.integers(0, 9 * 3600 + 30 * 60))
    )
    acquired = start + dt.timedelta(seconds=int(study_rng.integers(60, 600)))
    site = SITES[identity.site_index]
    scanners = site.ct_scanners if modality == "CT" else site.xray_scanners
    scanner = scanners[int(study_rng.integers(0, len(scanners)))]
    # drawn last, so the draws above (and every earlier cohort) are unchanged
    scan_seconds = float(study_rng.integers(3 * 60, 15 * 60)) if modality == "CT" else 0.0
    age_years = (day - birth).days // 365
    from pydicom.uid import generate_uid

    uids = {
        name: str(
            generate_uid(entropy_srcs=["medscale-synthetic", str(seed), str(index), modality, name])
        )
        for name in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID")
    }
    return {
        "PatientName": f"{family}^{given}",
        "PatientID": identity.patient_id,
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": sex,
        "PatientAge": f"{age_years:03d}Y",
        "StudyDate": day.strftime("%Y%m%d"),
        "StudyTime": start.strftime("%H%M%S"),
        "SeriesDate": day.strftime("%Y%m%d"),
        "SeriesTime": start.strftime("%H%M%S"),
        "AcquisitionDateTime": acquired.strftime("%Y%m%d%H%M%S"),
        **({"AcquisitionDuration": scan_seconds} if scan_seconds else {}),
        "AccessionNumber": f"ACC{seed % 100:02d}{index:07d}",
        "StudyID": f"{index % 100000:05d}",
        "Manufacturer": scanner.manufacturer,
        "ManufacturerModelName": scanner.model,
        "StationName": scanner.station,
        "DeviceSerialNumber": scanner.serial,
        "InstitutionName": site.institution,
        "ReferringPhysicianName": f"{_FAMILY[(index + 3) % len(_FAMILY)]}^Referrer",
        "Modality": modality,
        "StudyDescription": "CT CHEST" if modality == "CT" else "XR CHEST PA",
        "SeriesDescription": "Synthetic chest, lesion" if modality == "CT" else "PA",
        "BodyPartExamined": "CHEST",
        **uids,
    }


def make_case(
    identity: CaseIdentity,
    site: Site,
    image: Image,
    mask: np.ndarray,
    tissue_codes: np.ndarray,
    header: dict[str, object],
) -> SyntheticCase:
    """The `SyntheticCase` of `identity` at `site`: `image`, its lesion `mask` (bool array on
    the image grid), the tissue codes before blur and noise (same grid) and the header facts."""
    return SyntheticCase(
        case_id=identity.case_id,
        patient_id=identity.patient_id,
        site=site.name,
        label=identity.label,
        image=image,
        mask=Mask.like(image, mask),
        header=header,
        tissue=Image(
            tissue_codes, spacing=image.spacing, origin=image.origin, meta={"units": "tissue code"}
        ),
    )
