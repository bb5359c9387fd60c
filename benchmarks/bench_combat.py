"""ComBat: the leakage of harmonising on all data, and what harmonisation costs.

1. Leakage. A null table (tests/models/test_harmonise_training.py::paired_sites): 40 sites x 4
   cases (2 of each class), 100 pure-noise features with a random site offset (sd 2), so no
   feature predicts the label. Logistic regression, 5-fold CV, for 5 seeds: (a) `--site`:
   ComBat inside the pipeline, fitted on each training fold only; (b) ComBat fitted once on all
   cases, then the same CV on the harmonised table (the common mistake).
2. Signal recovered. The label is "f0 above its site's mean" (10 sites x 4 cases, 4 features):
   CV AUC with and without `--site`.
3. Cost. ComBat fit + transform on 300 cases x 100 features, 5 sites; `train` time with and
   without `--site` on the null table. One thread; timings on a shared 2-core machine are
   pessimistic.

    python benchmarks/bench_combat.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models"))
from test_harmonise_training import paired_sites  # noqa: E402

from medscale.errors import MedscaleWarning  # noqa: E402
from medscale.models import train  # noqa: E402
from medscale.models.harmonise import ComBat  # noqa: E402

N_BOOT = 1000


def main() -> None:
    warnings.simplefilter("ignore", MedscaleWarning)
    print("| seed | AUC, ComBat per training fold (`--site`) | AUC, ComBat on all data first |")
    print("| --- | --- | --- |")
    honest_all, leaky_all = [], []
    for seed in range(5):
        table = paired_sites(seed=seed)
        features = [c for c in table.columns if c.startswith("f")]
        honest = train(table, target="label", model="logistic", site="site", n_boot=N_BOOT)
        leaky_table = table.copy()
        leaky_table[features] = ComBat().fit_transform(table[features].to_numpy(), table["site"])
        leaky = train(leaky_table, target="label", model="logistic", features="f*", n_boot=N_BOOT)
        h, k = honest.card.metrics["auc"], leaky.card.metrics["auc"]
        honest_all.append(h["value"])
        leaky_all.append(k["value"])
        print(
            f"| {seed} | {h['value']:.3f} [{h['ci_low']:.3f}, {h['ci_high']:.3f}] "
            f"| {k['value']:.3f} [{k['ci_low']:.3f}, {k['ci_high']:.3f}] |"
        )
    print(f"| mean | {np.mean(honest_all):.3f} | {np.mean(leaky_all):.3f} |")

    table = paired_sites(n_sites=10, p=4)
    table["label"] = (table["f0"] - table.groupby("site")["f0"].transform("mean") > 0).astype(int)
    for site in ("site", None):
        auc = train(table, target="label", model="logistic", site=site, n_boot=N_BOOT)
        print(
            f"within-site label, logistic, site={site}: AUC {auc.card.metrics['auc']['value']:.3f}"
        )

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 100))
    sites = np.repeat([f"s{k}" for k in range(5)], 60)
    start = time.perf_counter()
    ComBat().fit(x, sites).transform(x, sites)
    print(f"ComBat fit + transform, 300 x 100, 5 sites: {time.perf_counter() - start:.3f} s")
    table = paired_sites()
    for site in (None, "site"):
        start = time.perf_counter()
        train(table, target="label", model="logistic", site=site, n_boot=N_BOOT)
        print(f"train logistic, 160 x 100, site={site}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
