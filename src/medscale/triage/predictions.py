"""Read and validate a predictions table (CSV or Parquet) for triage.

Columns: ``case_id``, ``probability`` (of the positive class; ``probability_1`` or
``probability_True`` are accepted when ``probability`` is absent), optional ``label`` (0/1),
optional ``arrival_min`` (minutes from any origin) or ``arrival_time`` (a timestamp), optional
``priority`` (a requested priority class, carried through).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from medscale.errors import InputError

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

PROBABILITY_ALIASES = ("probability", "probability_1", "probability_True", "probability_true")


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a predictions file and return it validated (see `validate_predictions`).

    Raises
    ------
    InputError
        The file is missing or not CSV/Parquet, or a column is missing or invalid.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: predictions file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet" or path.is_dir():
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            frame = pd.read_csv(path)
        else:
            raise InputError(f"{path}: predictions must be .csv or .parquet, got '{suffix}'")
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - reported as one line naming the file
        raise InputError(f"{path}: cannot read predictions ({err})") from err
    return validate_predictions(frame, source=str(path))


def validate_predictions(frame: pd.DataFrame, *, source: str = "predictions") -> pd.DataFrame:
    """Return a clean copy: ``case_id`` (str), ``probability`` (float in [0, 1]), and the optional
    ``label`` (int 0/1), ``arrival_min`` (float) and ``priority`` (str) when present.

    Raises
    ------
    InputError
        Naming `source` and the column: no probability column, a NaN or a value outside [0, 1],
        no ``case_id``, duplicated case ids, or labels other than 0/1.
    """
    if "case_id" not in frame.columns:
        raise InputError(f"{source}: no 'case_id' column (columns: {', '.join(map(str, frame))})")
    column = next((name for name in PROBABILITY_ALIASES if name in frame.columns), None)
    if column is None:
        raise InputError(
            f"{source}: no probability column (expected 'probability' for a binary task); "
            f"columns: {', '.join(map(str, frame.columns))}"
        )
    if len(frame) == 0:
        raise InputError(f"{source}: no rows")
    probability = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(probability))
    if bad.size:
        case = frame["case_id"].iloc[bad[0]]
        raise InputError(
            f"{source}: column '{column}' has {bad.size} missing or non-numeric value(s), "
            f"first at case '{case}'"
        )
    outside = np.flatnonzero((probability < 0) | (probability > 1))
    if outside.size:
        row = outside[0]
        raise InputError(
            f"{source}: column '{column}' must lie in [0, 1]; case "
            f"'{frame['case_id'].iloc[row]}' has {probability[row]:g}"
        )
    out = pd.DataFrame({"case_id": frame["case_id"].astype(str), "probability": probability})
    duplicated = out["case_id"].duplicated()
    if duplicated.any():
        raise InputError(
            f"{source}: case_id '{out['case_id'][duplicated].iloc[0]}' appears more than once"
        )
    if "label" in frame.columns:
        out["label"] = _labels(frame, source)
    if "arrival_min" in frame.columns:
        arrival = pd.to_numeric(frame["arrival_min"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(arrival).all():
            raise InputError(f"{source}: column 'arrival_min' has missing or non-numeric values")
        out["arrival_min"] = arrival
    elif "arrival_time" in frame.columns:
        times = pd.to_datetime(frame["arrival_time"], errors="coerce")
        if times.isna().any():
            raise InputError(f"{source}: column 'arrival_time' has missing or unreadable times")
        out["arrival_min"] = ((times - times.min()).dt.total_seconds() / 60.0).to_numpy()
    if "priority" in frame.columns:
        out["priority"] = frame["priority"].astype(str).to_numpy()
    return out.reset_index(drop=True)


def _labels(frame: pd.DataFrame, source: str) -> np.ndarray:
    raw = frame["label"]
    if raw.isna().any():
        raise InputError(f"{source}: column 'label' has missing values")
    if raw.dtype == bool:
        return raw.astype(int).to_numpy()
    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        raise InputError(f"{source}: column 'label' must be 0/1 (1 = positive)")
    return values.astype(int).to_numpy()


__all__ = ["PROBABILITY_ALIASES", "read_predictions", "validate_predictions"]
