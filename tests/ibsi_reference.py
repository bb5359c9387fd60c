"""The IBSI-1 reference table, the digital phantom and the IBSI comparison rule, for the tests.

One copy shared by tests/conftest.py, the conformance harness and the per-family feature tests
(``tests`` is on ``sys.path`` through pyproject's ``pythonpath``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_candidates() -> list[Path]:
    """The folders looked at for the public data, in order: ``$MEDSCALE_DATA``,
    ``../shared/data`` beside the repository, the user cache ``~/.cache/medscale/data``."""
    configured = os.environ.get("MEDSCALE_DATA")
    return [
        *([Path(configured)] if configured else []),
        REPO_ROOT.parent / "shared" / "data",
        Path.home() / ".cache" / "medscale" / "data",
    ]


def shared_data_dir(required: str | None = None) -> Path | None:
    """Find the public reference data folder.

    Parameters
    ----------
    required : str, optional
        A file, relative to the folder, that must exist for a candidate to count. By default
        a candidate counts when it holds ``MANIFEST.md`` (the mirror) or one of the folders
        ``medscale datasets fetch`` writes (``ibsi1/``, ``ibsi2/``, ``samples/``, ``medmnist/``).

    Returns
    -------
    Path or None
        The first of `data_candidates` that qualifies; None when none does.
    """
    for candidate in data_candidates():
        if required is not None:
            if Path(candidate, required).is_file():
                return candidate
        elif Path(candidate, "MANIFEST.md").is_file() or any(
            Path(candidate, group).is_dir() for group in ("ibsi1", "ibsi2", "samples", "medmnist")
        ):
            return candidate
    return None


def reference_rows(
    data: Path | None, config: str | None = None, family: str | None = None
) -> list[dict[str, str]]:
    """Rows of ``ibsi1/reference_values.csv``, in file order.

    Parameters
    ----------
    data : Path or None
        The data folder (see `shared_data_dir`); None gives no rows.
    config, family : str, optional
        Keep only rows of this configuration (``dig``, ``A``-``E``) / feature family.

    Returns
    -------
    list of dict
        One dict per row, column name -> text; empty when the table is absent.
    """
    if data is None:
        return []
    table = Path(data, "ibsi1", "reference_values.csv")
    if not table.is_file():
        return []
    with table.open(newline="") as handle:
        return [
            row
            for row in csv.DictReader(handle, delimiter=";")
            if (config is None or row["config"] == config)
            and (family is None or row["feature_family"] == family)
        ]


def reference_values(
    data: Path | None, config: str, family: str | None = None
) -> dict[str, tuple[float, float]]:
    """Feature id -> (reference value, tolerance) of one configuration.

    Parameters
    ----------
    data : Path or None
        The data folder; None gives an empty dict.
    config : str
        The configuration, e.g. ``dig``.
    family : str, optional
        Keep only this feature family.

    Returns
    -------
    dict
        In file order.
    """
    return {
        row["feature"]: (float(row["value"]), float(row["tolerance"]))
        for row in reference_rows(data, config, family)
    }


def significant(value: float, digits: int = 3) -> float:
    """`value` rounded to `digits` significant digits (0 and non-finite values unchanged)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def matches(computed: float | None, reference: float, tolerance: float) -> bool:
    """The IBSI comparison rule.

    Parameters
    ----------
    computed : float or None
        The computed value; None or non-finite never matches.
    reference, tolerance : float
        The reference value and its tolerance.

    Returns
    -------
    bool
        ``|computed - reference| <= tolerance``, or, where the tolerance is 0, both values equal
        at 3 significant digits (the manual's precision).
    """
    if computed is None or not math.isfinite(computed):
        return False
    if abs(computed - reference) <= tolerance:
        return True
    return tolerance == 0 and significant(computed) == significant(reference)


def digital_phantom(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The IBSI-1 digital phantom's grey levels and ROI.

    Parameters
    ----------
    data : Path
        The data folder (holding ``ibsi1/digital_phantom``).

    Returns
    -------
    levels : ndarray of int64
        The phantom's values rounded to integers (grey levels 1..6).
    roi : ndarray of bool
        The ROI mask, same shape.
    """
    from medscale.io import read_image, read_mask

    folder = Path(data, "ibsi1", "digital_phantom")
    levels = np.rint(read_image(folder / "phantom.nii.gz").array).astype(np.int64)
    roi = np.asarray(read_mask(folder / "mask.nii.gz").array, dtype=bool)
    return levels, roi
