"""Feature tables: reading them, choosing the feature columns, inferring the task; the
predictions table a model writes.

A table is CSV or Parquet, one row per case (DESIGN.md: ``case_id`` + feature ids + carried
manifest columns). The features are every numeric column except ``case_id``, the target, the
group and site columns and the manifest's path columns (``image``, ``mask``), whatever the other
columns are called, so a table made by another tool works; ``--features GLOB`` narrows them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medscale.errors import ModelError

PATH_COLUMNS = ("image", "mask")
ID_COLUMN = "case_id"
LABEL_COLUMN = "label"


class Task(StrEnum):
    """What a model learns: classes or a number."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table; manifest path columns become absolute.

    Relative ``image`` / ``mask`` paths are resolved against the folder of the table (a
    manifest names its files relative to itself), so the table can be used from any directory.

    Raises
    ------
    ModelError
        The file does not exist, is neither CSV nor Parquet, or cannot be parsed as one.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such table")
    if path.suffix.lower() == ".csv":
        reader, kind = pd.read_csv, "CSV"
    elif path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
        reader, kind = pd.read_parquet, "Parquet"
    else:
        raise ModelError(f"{path}: a table must be .csv or .parquet, not {path.suffix!r}")
    try:
        table = reader(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:  # EmptyDataError, ArrowInvalid
        raise ModelError(f"{path}: not a readable {kind} table ({err})") from err
    folder = path.parent.resolve()
    for column in PATH_COLUMNS:
        if column in table.columns and not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = [_resolve(value, folder) for value in table[column]]
    return table


def _resolve(value: object, folder: Path) -> object:
    if not isinstance(value, str) or not value or "://" in value or Path(value).is_absolute():
        return value
    return str(folder / value)


def select_features(
    table: pd.DataFrame,
    *,
    exclude: Sequence[str | None] = (),
    pattern: str | None = None,
) -> list[str]:
    """The feature columns of `table`, in table order.

    Parameters
    ----------
    table : DataFrame
        One row per case.
    exclude : sequence of str or None
        Columns that are never features (the target, group and site columns); ``None`` is
        skipped. ``case_id`` and the path columns are always excluded.
    pattern : str, optional
        A shell glob (``"cm_*"``, ``"*_3D_avg"``) the feature names must match.

    Raises
    ------
    ModelError
        No numeric column is left.
    """
    skip = {ID_COLUMN, *PATH_COLUMNS, *(name for name in exclude if name)}
    features = [
        str(name)
        for name in table.columns
        if name not in skip and pd.api.types.is_numeric_dtype(table[name])
    ]
    if pattern is not None:
        features = [name for name in features if fnmatch.fnmatchcase(name, pattern)]
    if not features:
        where = f" matching {pattern!r}" if pattern else ""
        raise ModelError(f"the table has no numeric feature column{where} (besides {sorted(skip)})")
    return features


def infer_task(target: pd.Series) -> Task:
    """Integer, boolean or string targets are classes; float targets are a regression."""
    if pd.api.types.is_float_dtype(target):
        return Task.REGRESSION
    return Task.CLASSIFICATION


def check_target(table: pd.DataFrame, target: str, task: Task) -> pd.Series:
    """The target column, checked: present, without missing values, not constant.

    Raises
    ------
    ModelError
        The column is missing, has missing values, or takes one value only.
    """
    if target not in table.columns:
        shown = ", ".join(map(str, table.columns[:12])) + (
            ", ..." if len(table.columns) > 12 else ""
        )
        raise ModelError(f"target column {target!r} is not in the table (columns: {shown})")
    values = table[target]
    missing = int(values.isna().sum())
    if missing:
        raise ModelError(
            f"target column {target!r} has {missing} missing value(s); drop or fill them"
        )
    if values.nunique() < 2:
        raise ModelError(
            f"target column {target!r} is constant ({values.iloc[0]!r} for all "
            f"{len(values)} cases): nothing to learn"
        )
    if task is Task.REGRESSION and not pd.api.types.is_numeric_dtype(values):
        raise ModelError(f"target column {target!r} is not numeric; a regression needs numbers")
    return values


def prediction_frame(
    table: pd.DataFrame, outputs: NDArray[np.float64], classes: list[Any] | None, target: str
) -> pd.DataFrame:
    """The DESIGN.md prediction columns of a model's `outputs` on the rows of `table`.

    ``case_id`` (the table's, else the row number); for a classifier (`outputs` the class
    probabilities, columns in the order of `classes`) ``probability`` (of the second class) for
    two classes or one ``probability_<class>`` per class, and ``prediction`` the most probable
    class; for a regression (`classes` None) ``prediction`` = `outputs`; ``label`` (the
    `target` column) when the table has it.
    """
    out = pd.DataFrame(
        {ID_COLUMN: table[ID_COLUMN].to_numpy() if ID_COLUMN in table else np.arange(len(table))}
    )
    if classes is not None:
        if len(classes) == 2:
            out["probability"] = outputs[:, 1]
        else:
            for k, cls in enumerate(classes):
                out[f"probability_{cls}"] = outputs[:, k]
        out["prediction"] = [classes[k] for k in outputs.argmax(axis=1)]
    else:
        out["prediction"] = outputs
    if target in table.columns:
        out[LABEL_COLUMN] = table[target].to_numpy()
    return out
