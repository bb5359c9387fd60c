"""The manifest: one row per case (``case_id``, ``image``, ``mask``, optional other columns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from medscale.errors import InputError

PATH_COLUMNS = ("image", "mask")


def read_manifest(
    path: str | Path, *, required: tuple[str, ...] = ("case_id", "image")
) -> pd.DataFrame:
    """Read and check a manifest (CSV or Parquet); relative paths become absolute.

    Paths in the ``image`` and ``mask`` columns are taken relative to the manifest's folder.
    Every other column is kept as it is and carried through to the outputs.

    Raises
    ------
    InputError
        The file is unreadable, a required column is missing, or case ids repeat.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found")
    try:
        if path.suffix.lower() == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype={"case_id": str, "patient_id": str})
    except Exception as err:  # noqa: BLE001 - pandas raises many kinds; name the file
        raise InputError(f"{path}: cannot read the manifest ({err})") from err
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise InputError(
            f"{path}: the manifest lacks the column(s) {missing}; "
            f"it has {list(table.columns)} (required: {list(required)})"
        )
    table["case_id"] = table["case_id"].astype(str)
    duplicated = table["case_id"][table["case_id"].duplicated()].unique().tolist()
    if duplicated:
        raise InputError(
            f"{path}: case ids must be unique; repeated: {duplicated[:10]}"
            f"{' ...' if len(duplicated) > 10 else ''}"
        )
    base = path.resolve().parent
    for column in PATH_COLUMNS:
        if column in table.columns:
            table[column] = [
                None if pd.isna(value) or value == "" else str(_resolve(base, str(value)))
                for value in table[column]
            ]
    return table.reset_index(drop=True)


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def missing_paths(case: dict[str, object]) -> list[str]:
    """The image / mask paths of `case` that do not exist."""
    return [
        f"{column} {case[column]}"
        for column in PATH_COLUMNS
        if isinstance(case.get(column), str) and not Path(str(case[column])).exists()
    ]
