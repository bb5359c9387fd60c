"""Learning from features: pipelines, patient-grouped CV, metrics with CIs, safe persistence.

The public surface; the modules behind it may change freely.
"""

from medscale.models.harmonise import ComBat
from medscale.models.metrics import classification_metrics, format_metrics, regression_metrics
from medscale.models.persistence import ModelCard, SavedModel, load_model, save_model
from medscale.models.pipelines import build_pipeline, model_names
from medscale.models.table import Task, infer_task, read_table, select_features
from medscale.models.training import evaluate, predict, split_test, train
from medscale.models.validation import check_disjoint, grouped_folds

__all__ = [
    "ComBat",
    "ModelCard",
    "SavedModel",
    "Task",
    "build_pipeline",
    "check_disjoint",
    "classification_metrics",
    "evaluate",
    "format_metrics",
    "grouped_folds",
    "infer_task",
    "load_model",
    "model_names",
    "predict",
    "read_table",
    "regression_metrics",
    "save_model",
    "select_features",
    "split_test",
    "train",
]
