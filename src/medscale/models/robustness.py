"""Feature robustness: re-extract each case under small perturbations, ICC(3,1) per feature.

Radiomics reviewers ask whether a feature survives what a second reader or a second scan would
change. Each case is extracted once as given and once per perturbation:

- ``erode`` / ``dilate``: the mask eroded / dilated by one voxel (face-connected neighbours;
  in-plane only for a one-slice image), a second reader's contour;
- ``noise``: Gaussian noise added to the image, sigma `noise_fraction` (default 0.1) of the
  standard deviation of the intensities inside the ROI, seeded per case (same seed, same table);
- ``rotate``: image and mask rotated in-plane by `rotation_deg` (default 3) degrees about the
  grid centre (image linear, mask nearest-neighbour), a repositioned patient (in voxel
  space: with unequal in-plane spacing it is a slight shear as well);
- ``bin_width``: the discretisation bin width times `bin_factor` (default 1.25; a fixed bin
  number is divided by it), another texture setting.

The versions of a case are the "raters" and the cases the "subjects" of a two-way mixed,
consistency, single-measure intraclass correlation, ICC(3,1) (Shrout & Fleiss 1979, their
ICC(3,1); McGraw & Wong's ICC(C,1); Koo & Li 2016: < 0.5 poor, 0.5-0.75 moderate, 0.75-0.9
good, > 0.9 excellent), with its 95 % confidence interval from the F distribution. A feature
whose ICC is at least the threshold (default 0.75) is *robust*; `RobustFeatures` is the pipeline
step that keeps those.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin

from medscale.errors import ConfigError, InputError, MedscaleError, ModelError
from medscale.image import Image, Mask

if TYPE_CHECKING:
    import pandas as pd

    from medscale.features.settings import Settings

log = logging.getLogger(__name__)

PERTURBATIONS = ("erode", "dilate", "noise", "rotate", "bin_width")
"""The perturbations, in the order of the table's versions (after ``original``)."""

DEFAULT_THRESHOLD = 0.75
COLUMNS = ("feature", "icc", "ci_low", "ci_high", "n_cases", "robust")


@dataclass(frozen=True)
class Perturbation:
    """How strong each perturbation is."""

    noise_fraction: float = 0.1
    rotation_deg: float = 3.0
    bin_factor: float = 1.25
    seed: int = 0


# --- ICC -------------------------------------------------------------------------------------


def icc31(ratings: Any, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """ICC(3,1) of an (n subjects, k raters) table with its confidence interval.

    Two-way ANOVA: MS_R (between subjects, n - 1 df), MS_E (residual, (n - 1)(k - 1) df);
    ``ICC = (MS_R - MS_E) / (MS_R + (k - 1) MS_E)``; the interval from F = MS_R / MS_E
    (Shrout & Fleiss 1979, table 4; McGraw & Wong 1996 case 3, consistency). NaN when there are
    fewer than 2 subjects or 2 raters, or when the table is constant.

    Examples
    --------
    >>> icc, low, high = icc31([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
    ...                         [10, 5, 6, 9], [6, 2, 4, 7]])   # Shrout & Fleiss, table 2
    >>> round(icc, 2)
    0.71
    """
    from scipy.stats import f as f_dist

    data = np.asarray(ratings, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"ratings must be a 2-D table (subjects x raters), got {data.shape}")
    n, k = data.shape
    nan = (float("nan"),) * 3
    if n < 2 or k < 2 or not np.isfinite(data).all():
        return nan
    grand = data.mean()
    ss_rows = k * float(((data.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((data.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((data - grand) ** 2).sum()) - ss_rows - ss_cols
    df_rows, df_error = n - 1, (n - 1) * (k - 1)
    ms_rows = ss_rows / df_rows
    ms_error = max(ss_error, 0.0) / df_error
    denominator = ms_rows + (k - 1) * ms_error
    scale = max(float(np.abs(data).max()), 1.0)
    if denominator <= 1e-24 * scale**2:  # constant table: agreement undefined
        return nan
    icc = (ms_rows - ms_error) / denominator
    if ms_error <= 1e-15 * ms_rows:  # perfectly consistent raters
        return float(icc), 1.0, 1.0
    f_value = ms_rows / ms_error
    alpha = 1.0 - confidence
    f_low = f_value / f_dist.ppf(1 - alpha / 2, df_rows, df_error)
    f_high = f_value * f_dist.ppf(1 - alpha / 2, df_error, df_rows)
    return float(icc), float((f_low - 1) / (f_low + k - 1)), float((f_high - 1) / (f_high + k - 1))


def icc_table(
    per_case: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """ICC(3,1) per feature from ``{case_id: {version: {feature: value}}}``.

    Every version (``original`` and the perturbations) is a rater. A case enters a feature's
    ICC when all its versions have a finite value of it; `n_cases` says how many did. Rows are
    sorted by ICC, highest first (NaN last).
    """
    import pandas as pd

    require_threshold(threshold)
    versions = sorted({v for case in per_case.values() for v in case}, key=_version_order)
    features = list(
        dict.fromkeys(
            name for case in per_case.values() for found in case.values() for name in found
        )
    )
    rows = []
    for feature in features:
        table = np.array(
            [
                [float(case.get(v, {}).get(feature, np.nan)) for v in versions]
                for case in per_case.values()
            ],
            dtype=float,
        ).reshape(len(per_case), len(versions))
        complete = table[np.isfinite(table).all(axis=1)]
        icc, low, high = icc31(complete)
        rows.append(
            {
                "feature": feature,
                "icc": icc,
                "ci_low": low,
                "ci_high": high,
                "n_cases": len(complete),
                "robust": bool(np.isfinite(icc) and icc >= threshold),
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values("icc", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def _version_order(name: str) -> int:
    return (
        0
        if name == "original"
        else 1 + (PERTURBATIONS.index(name) if name in PERTURBATIONS else 99)
    )


def require_threshold(threshold: float) -> None:
    if not (isinstance(threshold, int | float) and -1.0 <= float(threshold) <= 1.0):
        raise ConfigError(f"the ICC threshold must be within [-1, 1], got {threshold!r}")


# --- perturbations ---------------------------------------------------------------------------


def _cross(mask: Mask) -> NDArray[np.bool_]:
    structure = ndimage.generate_binary_structure(3, 1)
    if mask.shape[0] == 1:  # one slice: in-plane neighbours only
        structure[0] = False
        structure[2] = False
    return structure


def erode(mask: Mask) -> Mask:
    """The mask eroded by one voxel (face neighbours)."""
    return Mask.like(mask, ndimage.binary_erosion(mask.array, structure=_cross(mask)))


def dilate(mask: Mask) -> Mask:
    """The mask dilated by one voxel (face neighbours)."""
    return Mask.like(mask, ndimage.binary_dilation(mask.array, structure=_cross(mask)))


def add_noise(image: Image, mask: Mask, fraction: float, rng: np.random.Generator) -> Image:
    """`image` plus Gaussian noise of sigma `fraction` x the ROI's intensity std."""
    values = np.asarray(image.array, dtype=float)
    sigma = fraction * float(values[mask.array].std())
    return image.with_array(values + rng.normal(0.0, sigma, size=values.shape))


def rotate(image: Image, mask: Mask, degrees: float) -> tuple[Image, Mask]:
    """Image (linear) and mask (nearest) rotated in-plane (y, x) about the grid centre."""
    values = np.asarray(image.array, dtype=float)
    turned = ndimage.rotate(values, degrees, axes=(1, 2), reshape=False, order=1, mode="nearest")
    roi = ndimage.rotate(
        mask.array.astype(np.uint8), degrees, axes=(1, 2), reshape=False, order=0, mode="constant"
    )
    return image.with_array(turned), Mask.like(mask, roi.astype(bool))


def other_bin_width(settings: Settings, factor: float) -> Settings | None:
    """`settings` with the bin width times `factor` (a bin number divided by it); None when the
    settings discretise neither way."""
    disc = settings.discretisation
    if disc.bin_width is not None:
        changed = replace(disc, bin_width=float(disc.bin_width) * factor)
    elif disc.n_bins is not None:
        changed = replace(disc, n_bins=max(2, round(disc.n_bins / factor)))
    else:
        return None
    return replace(settings, discretisation=changed)


def case_versions(
    image: Image,
    mask: Mask,
    settings: Settings | str | dict[str, Any] = "default",
    *,
    case_id: str = "",
    perturbations: Sequence[str] = PERTURBATIONS,
    strength: Perturbation | None = None,
    extract: Callable[..., dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Features of one case as given (``original``) and under each perturbation.

    Diagnostic values (``diag_*``) are left out. The noise is drawn from a generator seeded by
    ``(strength.seed, crc32(case_id))``, so a case gets the same noise whatever the order.

    Raises
    ------
    MaskError, InputError, ConfigError
        From the extraction, e.g. a mask that one erosion empties; the message names the
        perturbation.
    """
    from medscale.features import extract as extract_features
    from medscale.features import load_settings
    from medscale.features.settings import for_image

    run = extract or extract_features
    unknown = [p for p in perturbations if p not in PERTURBATIONS]
    if unknown:
        raise ConfigError(f"unknown perturbation(s) {unknown}; choose from {list(PERTURBATIONS)}")
    strength = strength or Perturbation()
    base = for_image(load_settings(settings), image.shape)
    rng = np.random.default_rng([strength.seed, zlib.crc32(case_id.encode())])
    versions: dict[str, dict[str, float]] = {}
    for name in ("original", *perturbations):
        version_image, version_mask, version_settings = image, mask, base
        if name == "erode":
            version_mask = erode(mask)
        elif name == "dilate":
            version_mask = dilate(mask)
        elif name == "noise":
            version_image = add_noise(image, mask, strength.noise_fraction, rng)
        elif name == "rotate":
            version_image, version_mask = rotate(image, mask, strength.rotation_deg)
        elif name == "bin_width":
            changed = other_bin_width(base, strength.bin_factor)
            if changed is None:
                log.info("bin_width: the settings use no bin width or bin number; skipped")
                continue
            version_settings = changed
        try:
            found = run(version_image, version_mask, version_settings)
        except MedscaleError as err:
            raise type(err)(f"{name}: {err}") from err
        versions[name] = {k: float(v) for k, v in found.items() if not k.startswith("diag_")}
    return versions


# --- a manifest ------------------------------------------------------------------------------


def _read_case(case: Mapping[str, Any]) -> tuple[Image, Mask]:
    from medscale.io import read_case

    image, mask = read_case(case, need_mask=True)
    assert mask is not None
    return image, mask


def assess_case(
    case: Mapping[str, Any],
    settings: str | dict[str, Any],
    perturbations: tuple[str, ...],
    strength: Perturbation,
) -> tuple[str, dict[str, dict[str, float]] | None, str | None]:
    """One manifest row: ``(case_id, versions, None)`` or ``(case_id, None, error message)``."""
    import warnings

    case_id = str(case.get("case_id"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined features are NaN and leave the ICC
            image, mask = _read_case(case)
            versions = case_versions(
                image,
                mask,
                settings,
                case_id=case_id,
                perturbations=perturbations,
                strength=strength,
            )
    except (MedscaleError, OSError, ValueError) as err:
        return case_id, None, f"case {case_id}: {err}"
    return case_id, versions, None


@dataclass
class RobustnessResult:
    """The ICC table and the cases that were skipped (with why)."""

    table: pd.DataFrame
    n_cases: int
    failures: list[str]

    @property
    def n_robust(self) -> int:
        return int(self.table["robust"].sum())


def assess_manifest(
    cases: Iterable[Mapping[str, Any]],
    settings: str | dict[str, Any] = "default",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    perturbations: Sequence[str] = PERTURBATIONS,
    strength: Perturbation | None = None,
    workers: int | None = 1,
    progress: Callable[[str, str | None], None] | None = None,
) -> RobustnessResult:
    """ICC(3,1) per feature over the cases of a manifest (rows with case_id, image, mask).

    A case that cannot be read or extracted under some perturbation is skipped and listed in
    `failures`. `settings` is a preset name, a YAML path or a dict (it travels to the workers).

    Raises
    ------
    InputError
        Fewer than two cases could be assessed (no ICC without two subjects).
    """
    from medscale.parallel import make_executor

    require_threshold(threshold)
    unknown = [p for p in perturbations if p not in PERTURBATIONS]
    if unknown:
        raise ConfigError(f"unknown perturbation(s) {unknown}; choose from {list(PERTURBATIONS)}")
    strength = strength or Perturbation()
    items = [dict(case) for case in cases]
    executor = make_executor(workers=workers)
    per_case: dict[str, dict[str, dict[str, float]]] = {}
    failures: list[str] = []
    try:
        for case_id, versions, error in executor.map(
            assess_case, items, settings, tuple(perturbations), strength
        ):
            if versions is None:
                failures.append(str(error))
            else:
                per_case[case_id] = versions
            if progress is not None:
                progress(case_id, error)
    finally:
        executor.close()
    if len(per_case) < 2:
        raise InputError(
            f"robustness needs at least 2 cases that extract under every perturbation; "
            f"{len(per_case)} of {len(items)} did"
            + (f" (first failure: {failures[0]})" if failures else "")
        )
    return RobustnessResult(icc_table(per_case, threshold=threshold), len(per_case), failures)


# --- the pipeline step -----------------------------------------------------------------------


def read_icc_table(path: str | Path) -> dict[str, float]:
    """``{feature: icc}`` of an ICC table written by ``medscale robustness`` (CSV or Parquet).

    Raises
    ------
    InputError
        The file is missing or lacks the ``feature`` / ``icc`` columns.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: ICC table not found")
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    missing = [c for c in ("feature", "icc") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: an ICC table needs the columns feature, icc; lacks {missing}")
    return {str(f): float(v) for f, v in zip(frame["feature"], frame["icc"], strict=True)}


def drop_unrobust(frame: pd.DataFrame, table_path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """`frame` without the columns the ICC table marks not robust (its ``robust`` column, else
    ICC < 0.75 or undefined); columns the table does not name are kept. Returns the frame and
    the dropped names. The ICC uses no labels, so dropping before cross-validation leaks
    nothing (`train --robust`)."""
    import pandas as pd

    path = Path(table_path)
    icc = read_icc_table(path)
    table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    if "robust" in table.columns:
        flags = table["robust"].astype(str).str.lower().isin(("true", "1", "1.0"))
        robust = {str(f) for f, ok in zip(table["feature"], flags, strict=True) if ok}
    else:
        robust = {f for f, v in icc.items() if np.isfinite(v) and v >= DEFAULT_THRESHOLD}
    dropped = [c for c in frame.columns if str(c) in icc and str(c) not in robust]
    return frame.drop(columns=dropped), dropped


class RobustFeatures(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Keep the features whose ICC(3,1) is at least `threshold`.

    `icc_table` is ``{feature: icc}`` (`read_icc_table`) or a DataFrame with ``feature`` and
    ``icc`` columns. The feature names come from `feature_names` or, when fitted on a
    DataFrame, its columns (put the step first in a pipeline). A feature absent from the table
    is dropped (its robustness is unknown). No feature robust is an error, not an empty model.
    """

    def __init__(
        self,
        icc_table: Any = None,
        threshold: float = DEFAULT_THRESHOLD,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.icc_table = icc_table
        self.threshold = threshold
        self.feature_names = feature_names

    def fit(self, x: Any, y: Any = None) -> RobustFeatures:
        require_threshold(self.threshold)
        names = self._names(x)
        table = _as_mapping(self.icc_table)
        icc = np.array([table.get(name, np.nan) for name in names], dtype=float)
        keep = np.isfinite(icc) & (icc >= self.threshold)
        if not keep.any():
            raise ModelError(
                f"no feature has an ICC >= {self.threshold} in the ICC table "
                f"({int(np.isfinite(icc).sum())} of {len(names)} features are in it)"
            )
        self.support_ = keep
        self.n_features_in_ = len(names)
        self.icc_ = icc
        return self

    def _names(self, x: Any) -> list[str]:
        if self.feature_names is not None:
            names = [str(n) for n in self.feature_names]
        elif hasattr(x, "columns"):
            names = [str(c) for c in x.columns]
            self.feature_names_in_ = np.asarray(names, dtype=object)
        else:
            raise ModelError(
                "RobustFeatures needs feature names: pass feature_names or a DataFrame"
            )
        width = np.shape(x)[1]
        if len(names) != width:
            raise ModelError(f"RobustFeatures: {len(names)} feature names for {width} columns")
        return names

    def _get_support_mask(self) -> NDArray[np.bool_]:
        return self.support_


def _as_mapping(table: Any) -> dict[str, float]:
    if table is None:
        raise ModelError("RobustFeatures needs an ICC table")
    if isinstance(table, str | Path):
        return read_icc_table(table)
    if hasattr(table, "columns"):
        return {str(f): float(v) for f, v in zip(table["feature"], table["icc"], strict=True)}
    return {str(f): float(v) for f, v in dict(table).items()}
