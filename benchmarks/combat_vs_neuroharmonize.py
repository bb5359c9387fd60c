"""Compare medscale's ComBat with neuroHarmonize 2.5 and write the reference the tests use.

neuroHarmonize 2.5 pins numpy < 2 and pandas < 3, so it is not installed beside medscale. Unpack
its wheel and neuroCombat 0.2.12's sdist and point this script at them:

    pip download neuroHarmonize==2.5 neuroCombat==0.2.12 --no-deps -d /tmp/nh
    (unzip the wheel, untar the sdist)
    python benchmarks/combat_vs_neuroharmonize.py /tmp/nh/nh /tmp/nh/neuroCombat-0.2.12

It fits both on a synthetic table (3 sites, 6 features, one covariate; additive and
multiplicative site effects), applies the learned models to new cases of the same sites
(``harmonizationApply``), prints the largest differences and writes the inputs and
neuroHarmonize's outputs to tests/models/data/combat_neuroharmonize.json.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd

from medscale.models.harmonise import ComBat

OUT = Path(__file__).resolve().parents[1] / "tests/models/data/combat_neuroharmonize.json"


def table(rng: np.random.Generator, n_per_site: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    sites = [s for s in ("A", "B", "C") for _ in range(n_per_site)]
    # neuroCombat casts numeric covariates to float32: give both float32-exact ages
    age = rng.uniform(20, 80, len(sites)).astype(np.float32).astype(float)
    shift = {"A": 0.0, "B": 2.0, "C": -1.5}
    scale = {"A": 1.0, "B": 2.0, "C": 0.6}
    base = rng.normal(size=(len(sites), 6)) + 0.05 * age[:, None] * np.arange(6)
    x = np.vstack(
        [base[i] * scale[s] + shift[s] * (1 + np.arange(6) / 3) for i, s in enumerate(sites)]
    )
    return x, sites, age


def main(nh_path: str, combat_path: str) -> int:
    sys.path[:0] = [nh_path, combat_path]
    sys.modules.setdefault("nibabel", types.ModuleType("nibabel"))  # only its NIfTI helpers use it
    from neuroHarmonize import harmonizationApply, harmonizationLearn

    rng = np.random.default_rng(7)
    x, sites, age = table(rng, 12)
    x_new, sites_new, age_new = table(rng, 4)
    result: dict[str, object] = {
        "x": x.tolist(),
        "sites": sites,
        "age": age.tolist(),
        "x_new": x_new.tolist(),
        "sites_new": sites_new,
        "age_new": age_new.tolist(),
    }
    worst = 0.0
    for name, with_age in (("site_only", False), ("with_age", True)):
        covars = pd.DataFrame({"SITE": sites})
        covars_new = pd.DataFrame({"SITE": sites_new})
        if with_age:
            covars["age"], covars_new["age"] = age, age_new
        model, learned = harmonizationLearn(x, covars)
        applied = harmonizationApply(x_new, covars_new, model)
        ours = ComBat().fit(x, sites, age[:, None] if with_age else None)
        cov_new = age_new[:, None] if with_age else None
        diff = max(
            float(
                np.abs(ours.transform(x, sites, age[:, None] if with_age else None) - learned).max()
            ),
            float(np.abs(ours.transform(x_new, sites_new, cov_new) - applied).max()),
            float(np.abs(ours.gamma_star_ - model["gamma_star"]).max()),
            float(np.abs(ours.delta_star_ - model["delta_star"]).max()),
        )
        print(f"{name}: largest difference medscale vs neuroHarmonize 2.5 = {diff:.3g}")
        worst = max(worst, diff)
        result[name] = {
            "learned": np.asarray(learned).tolist(),
            "applied": np.asarray(applied).tolist(),
            "gamma_star": np.asarray(model["gamma_star"]).tolist(),
            "delta_star": np.asarray(model["delta_star"]).tolist(),
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result) + "\n", encoding="utf-8")
    print(f"reference written to {OUT}")
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
