"""A saved model: a folder safe to share.

``MODEL/pipeline.skops`` holds the fitted pipeline in skops' trusted-types format, which
rebuilds objects from a declared schema and runs no code on load (unlike pickle); loading trusts
only scikit-learn, NumPy and SciPy types (and medscale's own selection and ComBat steps) and refuses
anything else. ``MODEL/model.json`` holds
the features (in order), the task, the classes, the settings, the medscale and scikit-learn
versions and the cross-validated metrics. ``MODEL/cv_predictions.parquet`` holds the
out-of-fold predictions of the cross-validation (``case_id``, ``label``, ``probability`` or
``probability_<class>``, ``prediction``, ``fold``, and the group column when there was one);
``MODEL/test_predictions.parquet`` the predictions of a held-out test set when one was given.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
import skops.io as sio
from sklearn.pipeline import Pipeline

from medscale import __version__
from medscale.errors import MedscaleWarning, ModelError

FORMAT_VERSION = 1
PIPELINE_FILE = "pipeline.skops"
CARD_FILE = "model.json"
CV_PREDICTIONS_FILE = "cv_predictions.parquet"
TEST_PREDICTIONS_FILE = "test_predictions.parquet"
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "builtins.",
    "medscale.models.robustness.",  # RobustFeatures: its ICC table and support mask
    "collections.",
    "medscale.models.selectors.",  # our selection steps: plain attributes, no code on load
    "medscale.models.harmonise.",  # ComBat: fitted arrays and site names only
)


@dataclass(frozen=True)
class ModelCard:
    """What a model folder says about its pipeline (``model.json``)."""

    model: str
    task: str
    target: str
    features: list[str]
    classes: list[Any] | None
    settings: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    n_cases: int
    medscale_version: str = __version__
    sklearn_version: str = sklearn.__version__
    format_version: int = FORMAT_VERSION
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedModel:
    """A fitted pipeline with its card (and, after training, its CV / test predictions)."""

    pipeline: Pipeline
    card: ModelCard
    cv_predictions: pd.DataFrame | None = None
    test_predictions: pd.DataFrame | None = None


def save_model(model: SavedModel, folder: str | Path) -> Path:
    """Write `model` to `folder` (created; existing files of a model are replaced)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(model.pipeline, folder / PIPELINE_FILE)
    for table, name in (
        (model.cv_predictions, CV_PREDICTIONS_FILE),
        (model.test_predictions, TEST_PREDICTIONS_FILE),
    ):
        if table is not None:
            table.to_parquet(folder / name, index=False)
        elif (folder / name).exists():  # a stale table of an earlier model in this folder
            (folder / name).unlink()
    (folder / CARD_FILE).write_text(
        json.dumps(asdict(model.card), indent=2) + "\n", encoding="utf-8"
    )
    return folder


def load_model(folder: str | Path) -> SavedModel:
    """Read a model folder written by :func:`save_model`.

    Raises
    ------
    ModelError
        The folder or one of its files is missing, it was written in another model format
        version, or the pipeline file holds a type that is not trusted.
    """
    folder = Path(folder)
    card_path, pipeline_path = folder / CARD_FILE, folder / PIPELINE_FILE
    for path in (card_path, pipeline_path):
        if not path.is_file():
            raise ModelError(f"{folder}: not a medscale model folder ({path.name} is missing)")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelError(f"{card_path}: not valid JSON ({err})") from err
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"{folder}: model format version {version!r} "
            f"(medscale {raw.get('medscale_version', '?')}); "
            f"this medscale ({__version__}) reads version {FORMAT_VERSION}: retrain the model"
        )
    try:
        card = ModelCard(**raw)
    except TypeError as err:
        raise ModelError(f"{card_path}: unexpected model.json fields ({err})") from err
    if card.sklearn_version.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        warnings.warn(
            f"{folder}: trained with scikit-learn {card.sklearn_version}, running "
            f"{sklearn.__version__}; predictions may differ",
            MedscaleWarning,
            stacklevel=2,
        )
    untrusted = sio.get_untrusted_types(file=pipeline_path)
    refused = [name for name in untrusted if not name.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ModelError(f"{pipeline_path}: refusing to load untrusted types {refused}")
    try:
        pipeline = sio.load(pipeline_path, trusted=untrusted)
    except Exception as err:  # skops raises many kinds on a damaged or foreign file
        raise ModelError(f"{pipeline_path}: cannot be read ({err})") from err
    return SavedModel(pipeline=pipeline, card=card)
