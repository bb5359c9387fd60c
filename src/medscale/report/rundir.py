"""The inputs of a report: which files of a RUN_DIR exist (every one is optional).

The folder contract (the demo writes exactly this)::

    RUN_DIR/catalog.parquet         `medscale scan` catalog
    RUN_DIR/manifest.csv            case manifest (case_id, image, mask, label, ...)
    RUN_DIR/run/                    engine run (features.parquet, failures.parquet, summary.json);
                                    RUN_DIR itself when it holds features.parquet
    RUN_DIR/model/                  model folder (model.json, pipeline.skops,
                                    cv_predictions.parquet)
    RUN_DIR/predictions.parquet|csv `medscale predict` output (when cv_predictions is absent)
    RUN_DIR/worklist.csv            `medscale triage --out`
    RUN_DIR/triage.json             `medscale triage --json`
    RUN_DIR/utilisation.json        `medscale catalog utilisation --json`
    RUN_DIR/cnn_predictions.parquet optional CNN predictions (shown beside the classical model)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from medscale.errors import InputError


def _first(*paths: Path) -> Path | None:
    return next((path for path in paths if path.exists()), None)


@dataclass(frozen=True)
class RunInputs:
    """Paths of the report's inputs under `root`; ``None`` where absent."""

    root: Path
    catalog: Path | None
    manifest: Path | None
    run: Path | None
    model: Path | None
    predictions: Path | None
    cnn_predictions: Path | None
    worklist: Path | None
    triage: Path | None
    utilisation: Path | None

    @classmethod
    def find(cls, root: str | Path) -> RunInputs:
        """Locate the inputs under `root`.

        Raises
        ------
        InputError
            `root` is not a folder.
        """
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{root}: no such run folder")
        run = root if (root / "features.parquet").exists() else _first(root / "run")
        model = _first(root / "model")
        predictions = _first(
            *([model / "cv_predictions.parquet"] if model else []),
            root / "predictions.parquet",
            root / "predictions.csv",
        )
        return cls(
            root=root,
            catalog=_first(root / "catalog.parquet"),
            manifest=_first(root / "manifest.csv", root / "cohort" / "manifest.csv"),
            run=run,
            model=model,
            predictions=predictions,
            cnn_predictions=_first(root / "cnn_predictions.parquet", root / "cnn_predictions.csv"),
            worklist=_first(root / "worklist.csv", root / "worklist.parquet"),
            triage=_first(root / "triage.json"),
            utilisation=_first(root / "utilisation.json"),
        )


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table (Parquet: a file or a dataset folder)."""
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; `InputError` naming the file when it is not one."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value
