"""Training time per model: 5-fold patient-grouped CV + final fit + 1,000-draw bootstrap.

A synthetic table of 300 cases (150 patients, 2 lesions each) and 40 features (3 informative),
one thread (OMP/BLAS = 1). Classification target: a label from a linear score of 3 features;
regression target: texture² + sin(2·volume) + noise. Prints seconds per model and the CV metric.

    python benchmarks/bench_models_time.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from medscale.models import model_names, train
from medscale.models.table import Task


def table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_patients, per_patient, n_features = 150, 2, 40
    n = n_patients * per_patient
    x = rng.normal(size=(n, n_features))
    score = x[:, 0] + 0.8 * x[:, 1] - 0.6 * x[:, 2] + np.repeat(rng.normal(size=n_patients), 2)
    frame = pd.DataFrame(x, columns=[f"f{k:02d}" for k in range(n_features)])
    frame.insert(0, "case_id", [f"c{i}" for i in range(n)])
    frame["patient_id"] = np.repeat(np.arange(n_patients), per_patient)
    frame["label"] = (score > 0).astype(int)
    frame["effect"] = x[:, 0] ** 2 + np.sin(2 * x[:, 1]) + 0.1 * rng.normal(size=n)
    return frame


def main() -> None:
    data = table()
    for task, target, metric in (
        (Task.CLASSIFICATION, "label", "auc"),
        (Task.REGRESSION, "effect", "r2"),
    ):
        features = data.drop(columns=["effect" if target == "label" else "label"])
        for name in [*model_names(task), "auto"]:
            start = time.perf_counter()
            model = train(features, target=target, model=name, group="patient_id", task=task)
            seconds = time.perf_counter() - start
            m = model.card.metrics[metric]
            print(
                f"{task.value:<15} {name:<18} {seconds:6.1f} s   {metric} {m['value']:.3f} "
                f"(95 % CI {m['ci_low']:.3f}-{m['ci_high']:.3f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
