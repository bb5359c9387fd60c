"""Reusable report plots (matplotlib, Agg backend): each returns a figure, plus the numbers it
shows where a test or a table needs them.

Model performance: :func:`roc_figure` (ROC with a bootstrap 95 % band), :func:`calibration_figure`,
:func:`confusion_figure`, :func:`importance_figure`, :func:`predicted_vs_true_figure`.
Triage: :func:`workload_figure`. Catalog: :func:`bar_figure`, :func:`heatmap_figure`.
Features: :func:`box_by_class_figure`. :func:`save_png` writes any of them to a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_WIDE = (6.4, 3.6)
_SQUARE = (4.2, 3.8)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure: Any, path: str | Path, *, dpi: int = 100) -> Path:
    """Write `figure` as a PNG file (folder made) and close it; return the path."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return path


@dataclass(frozen=True)
class RocCurve:
    """An ROC curve with its AUC and bootstrap 95 % CIs (of the AUC, and of the TPR per FPR)."""

    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    auc_low: float
    auc_high: float
    grid: np.ndarray
    tpr_low: np.ndarray
    tpr_high: np.ndarray
    n_boot: int


def roc_points(label: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC (FPR, TPR) at every distinct threshold, from (0, 0) to (1, 1); ties stay together."""
    order = np.argsort(-score, kind="mergesort")
    score, label = score[order], label[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(label)[last]
    fps = (last + 1) - tps
    return np.r_[0.0, fps / max(fps[-1], 1)], np.r_[0.0, tps / max(tps[-1], 1)]


def auc_score(label: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney probability P(score+ > score-), ties 1/2."""
    from scipy.stats import rankdata

    label = np.asarray(label).astype(bool)
    ranks = rankdata(score)
    n_pos = int(label.sum())
    n_neg = len(label) - n_pos
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_with_ci(
    label: np.ndarray, probability: np.ndarray, *, n_boot: int = 500, seed: int = 0
) -> RocCurve:
    """ROC curve, AUC, and bootstrap (cases resampled) percentile CIs of the AUC and TPR.

    Resamples holding one class only are skipped (``n_boot`` counts those kept).
    """
    label = np.asarray(label).astype(int)
    probability = np.asarray(probability, dtype=float)
    fpr, tpr = roc_points(label, probability)
    auc = auc_score(label, probability)
    grid = np.linspace(0.0, 1.0, 101)
    rng = np.random.default_rng(seed)
    aucs, tprs = [], []
    for _ in range(n_boot):
        idx = rng.integers(0, len(label), len(label))
        if label[idx].min() == label[idx].max():
            continue
        b_fpr, b_tpr = roc_points(label[idx], probability[idx])
        aucs.append(auc_score(label[idx], probability[idx]))
        tprs.append(np.interp(grid, b_fpr, b_tpr))
    if aucs:
        auc_low, auc_high = (float(v) for v in np.percentile(aucs, [2.5, 97.5]))
        tpr_low, tpr_high = np.percentile(np.array(tprs), [2.5, 97.5], axis=0)
    else:
        auc_low = auc_high = float("nan")
        tpr_low = tpr_high = np.full_like(grid, np.nan)
    return RocCurve(fpr, tpr, auc, auc_low, auc_high, grid, tpr_low, tpr_high, len(aucs))


def roc_figure(curves: dict[str, RocCurve]) -> Any:
    """ROC curves (one per name) with their bootstrap 95 % bands."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=_SQUARE)
    for name, curve in curves.items():
        (line,) = axes.step(
            curve.fpr,
            curve.tpr,
            where="post",
            label=f"{name}: AUC {curve.auc:.3f} ({curve.auc_low:.3f}-{curve.auc_high:.3f})",
        )
        axes.fill_between(
            curve.grid, curve.tpr_low, curve.tpr_high, color=line.get_color(), alpha=0.2
        )
    axes.plot([0, 1], [0, 1], ls=":", color="grey")
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1))
    axes.legend(fontsize="small", frameon=False, loc="lower right")
    figure.tight_layout()
    return figure


def calibration_figure(
    label: np.ndarray, probability: np.ndarray, *, n_bins: int = 5
) -> tuple[Any, pd.DataFrame]:
    """Reliability diagram (quantile bins); returns the figure and the bins' table."""
    from sklearn.calibration import calibration_curve

    label = np.asarray(label).astype(int)
    probability = np.asarray(probability, dtype=float)
    observed, predicted = calibration_curve(label, probability, n_bins=n_bins, strategy="quantile")
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=_SQUARE)
    axes.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect")
    axes.plot(predicted, observed, marker="o", label="model")
    axes.set(xlabel="mean predicted probability", ylabel="observed share positive")
    axes.set(xlim=(0, 1), ylim=(0, 1))
    axes.legend(fontsize="small", frameon=False)
    figure.tight_layout()
    table = pd.DataFrame({"mean predicted": predicted, "observed positive": observed})
    return figure, table


def confusion_figure(truth: Sequence[Any], predicted: Sequence[Any]) -> tuple[Any, pd.DataFrame]:
    """Confusion matrix (rows truth, columns prediction); the figure and the count table."""
    from sklearn.metrics import confusion_matrix

    classes = sorted(set(truth) | set(predicted), key=str)
    counts = confusion_matrix(list(truth), list(predicted), labels=classes)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(3.6, 3.2))
    axes.imshow(counts, cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        colour = "white" if value > counts.max() / 2 else "black"
        axes.text(j, i, str(value), ha="center", va="center", color=colour)
    names = [str(c) for c in classes]
    axes.set_xticks(range(len(names)), names)
    axes.set_yticks(range(len(names)), names)
    axes.set(xlabel="predicted", ylabel="true")
    figure.tight_layout()
    table = pd.DataFrame(counts, index=names, columns=names)
    table.index.name = "true \\ predicted"
    return figure, table.reset_index()


def importance_figure(importance: pd.Series, *, title: str, top: int = 12) -> Any:
    """Horizontal bars of the `top` largest absolute importances."""
    shown = importance.reindex(importance.abs().sort_values(ascending=False).index).head(top)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.0, 0.3 * len(shown) + 1.0))
    axes.barh(range(len(shown)), shown.to_numpy()[::-1])
    axes.set_yticks(range(len(shown)), [str(n) for n in shown.index[::-1]], fontsize="small")
    axes.set_xlabel(title)
    figure.tight_layout()
    return figure


def predicted_vs_true_figure(truth: np.ndarray, predicted: np.ndarray) -> Any:
    """Regression: predicted against true values with the identity line."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=_SQUARE)
    axes.scatter(truth, predicted, s=12, alpha=0.7)
    low = float(min(np.min(truth), np.min(predicted)))
    high = float(max(np.max(truth), np.max(predicted)))
    axes.plot([low, high], [low, high], ls=":", color="grey")
    axes.set(xlabel="true", ylabel="predicted")
    figure.tight_layout()
    return figure


def workload_figure(points: Sequence[dict[str, float]]) -> Any:
    """Workload saved (share deprioritised) against the sensitivity kept, with its 95 % CI."""
    frame = pd.DataFrame(list(points)).sort_values("sensitivity")
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=_WIDE)
    axes.plot(100 * frame["sensitivity"], 100 * frame["saved"], marker=".", label="saved")
    axes.fill_between(
        100 * frame["sensitivity"],
        100 * frame["ci_low"],
        100 * frame["ci_high"],
        alpha=0.25,
        label="bootstrap 95 % CI",
    )
    axes.set(xlabel="sensitivity kept (%)", ylabel="studies deprioritised (%)")
    axes.set_ylim(0, 100)
    axes.legend(fontsize="small", frameon=False)
    figure.tight_layout()
    return figure


def bar_figure(labels: Sequence[Any], values: Sequence[float], *, xlabel: str, ylabel: str) -> Any:
    """Vertical bars, labels rotated when long."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(3.0, 0.5 * len(labels) + 1.5), 3.0))
    names = ["–" if label is None else str(label) for label in labels]
    axes.bar(range(len(names)), list(values))
    axes.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, ha="right")
    axes.set(xlabel=xlabel, ylabel=ylabel)
    figure.tight_layout()
    return figure


def heatmap_figure(counts: pd.DataFrame, *, xlabel: str, ylabel: str, title: str) -> Any:
    """A count heatmap of a DataFrame (rows × columns) with a colour bar."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.0, 0.35 * len(counts) + 1.2))
    image = axes.imshow(counts.to_numpy(), aspect="auto", cmap="viridis")
    axes.set_xticks(range(counts.shape[1]), [str(c) for c in counts.columns], fontsize="small")
    axes.set_yticks(range(counts.shape[0]), [str(i) for i in counts.index], fontsize="small")
    axes.set(xlabel=xlabel, ylabel=ylabel)
    figure.colorbar(image, ax=axes, label=title)
    figure.tight_layout()
    return figure


def box_by_class_figure(features: pd.DataFrame, columns: Sequence[str], *, by: str) -> Any:
    """One box plot per feature column, boxes per value of `by` (points overlaid)."""
    plt = _pyplot()
    n_cols = min(3, len(columns))
    n_rows = -(-len(columns) // n_cols)
    figure, axes_grid = plt.subplots(
        n_rows, n_cols, figsize=(2.4 * n_cols, 2.6 * n_rows), squeeze=False
    )
    axes_list = axes_grid.ravel()
    for unused in axes_list[len(columns) :]:
        unused.set_axis_off()
    axes_list = axes_list[: len(columns)]
    classes = sorted(features[by].dropna().unique().tolist(), key=str)
    for axes, column in zip(axes_list, columns, strict=True):
        groups = [features.loc[features[by] == c, column].dropna().to_numpy() for c in classes]
        axes.boxplot(groups, showfliers=False)
        for position, values in enumerate(groups, start=1):
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
            axes.scatter(position + np.asarray(jitter), values, s=6, alpha=0.6)
        axes.set_xticks(range(1, len(classes) + 1), [str(c) for c in classes])
        axes.set_title(column, fontsize="small")
        axes.set_xlabel(by, fontsize="small")
        axes.tick_params(labelsize="x-small")
    figure.tight_layout()
    return figure


__all__ = [
    "RocCurve",
    "auc_score",
    "bar_figure",
    "box_by_class_figure",
    "calibration_figure",
    "confusion_figure",
    "heatmap_figure",
    "importance_figure",
    "predicted_vs_true_figure",
    "roc_figure",
    "roc_points",
    "roc_with_ci",
    "save_png",
    "workload_figure",
]
