"""ComBat: agreement with neuroHarmonize 2.5 and a hand-computed case, site effects removed,
covariates kept, unseen sites left as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medscale.errors import MedscaleWarning, ModelError
from medscale.models.harmonise import ComBat, SiteComBat, site_codes

REFERENCE = Path(__file__).parent / "data" / "combat_neuroharmonize.json"


@pytest.mark.parametrize("case", ["site_only", "with_age"])
def test_agrees_with_neuroharmonize(case: str) -> None:
    """Learn and apply match neuroHarmonize 2.5's harmonizationLearn / harmonizationApply
    (numbers written by benchmarks/combat_vs_neuroharmonize.py) within 1e-6."""
    ref = json.loads(REFERENCE.read_text())
    x, x_new = np.array(ref["x"]), np.array(ref["x_new"])
    cov = np.array(ref["age"])[:, None] if case == "with_age" else None
    cov_new = np.array(ref["age_new"])[:, None] if case == "with_age" else None
    combat = ComBat().fit(x, ref["sites"], cov)
    expected = ref[case]
    np.testing.assert_allclose(combat.gamma_star_, expected["gamma_star"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(combat.delta_star_, expected["delta_star"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        combat.transform(x, ref["sites"], cov), expected["learned"], atol=1e-6, rtol=0
    )
    np.testing.assert_allclose(
        combat.transform(x_new, ref["sites_new"], cov_new), expected["applied"], atol=1e-6, rtol=0
    )


def test_without_eb_matches_hand_computation() -> None:
    """Without EB and covariates, ComBat is (x - site mean) / site sd · pooled sd + grand mean."""
    x = np.array([[1.0, 10.0], [2.0, 14.0], [4.0, 9.0], [10.0, 20.0], [14.0, 30.0], [12.0, 40.0]])
    sites = ["a", "a", "a", "b", "b", "b"]
    out = ComBat(eb=False).fit_transform(x, sites)
    expected = np.empty_like(x)
    grand = x.mean(axis=0)  # equal site sizes: the mean of the site means
    pooled = np.vstack([x[:3] - x[:3].mean(0), x[3:] - x[3:].mean(0)])
    pooled_sd = np.sqrt((pooled**2).sum(axis=0) / 6)
    for rows in (slice(0, 3), slice(3, 6)):
        part = x[rows]
        expected[rows] = (part - part.mean(0)) / part.std(0, ddof=1) * pooled_sd + grand
    np.testing.assert_allclose(out, expected, atol=1e-12)


def _sites_table(seed: int = 0, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sites = np.array(["s0", "s1", "s2"])[rng.integers(0, 3, n)]
    biology = rng.uniform(-1, 1, n)  # a covariate whose effect must survive
    noise = rng.normal(size=(n, 8))
    add = np.array([{"s0": 0.0, "s1": 3.0, "s2": -2.0}[s] for s in sites])
    mul = np.array([{"s0": 1.0, "s1": 2.5, "s2": 0.5}[s] for s in sites])
    # ComBat's model: a common covariate effect, an additive and a multiplicative site effect
    x = 2.0 * biology[:, None] + add[:, None] + mul[:, None] * noise
    return x, sites, biology


@pytest.mark.parametrize(("eb", "tolerance"), [(True, 0.35), (False, 0.05)])
def test_removes_additive_and_multiplicative_site_effect(eb: bool, tolerance: float) -> None:
    """Site shifts of 3 and -2 and scales of 2.5 and 0.5 (noise sd 1) are gone afterwards: the
    site coefficients of a joint fit (site + biology) agree within `tolerance` (EB shrinks each
    site's estimate towards its mean over features, so sampling noise of ~0.25 remains), and the
    residual spreads within 15 %."""
    x, sites, biology = _sites_table()
    names = ("s0", "s1", "s2")
    design = np.column_stack([(sites == s).astype(float) for s in names] + [biology])

    def site_spread(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = np.linalg.lstsq(design, data, rcond=None)[0]
        residual = data - design @ coef
        sds = np.array([residual[sites == s].std(axis=0) for s in names])
        return np.ptp(coef[:3], axis=0), sds.max(axis=0) / sds.min(axis=0)

    gap_before, ratio_before = site_spread(x)
    assert gap_before.min() > 4.5 and ratio_before.min() > 4  # the effect is there
    gap, ratio = site_spread(ComBat(eb=eb).fit_transform(x, sites, biology[:, None]))
    assert gap.max() < tolerance, gap
    assert ratio.max() < 1.15, ratio


def test_keeps_the_covariate_effect() -> None:
    """The biological slope (2.0 per unit in every site) survives harmonisation when the
    covariate is given; a site whose cases differ in biology keeps that difference."""
    x, sites, biology = _sites_table(seed=1)
    biology = biology + np.where(sites == "s1", 0.8, 0.0)  # s1's patients really differ
    x = x + 2.0 * np.where(sites == "s1", 0.8, 0.0)[:, None]
    out = ComBat().fit_transform(x, sites, biology[:, None])
    slopes = [np.polyfit(biology, out[:, j], 1)[0] for j in range(x.shape[1])]
    np.testing.assert_allclose(slopes, 2.0, atol=0.25)
    # s1's biological excess (2.0 x 0.8 = 1.6) is kept with the covariate, removed without it
    gap = out[sites == "s1"].mean() - out[sites == "s0"].mean()
    assert 1.2 < gap < 2.0, gap
    blind = ComBat().fit_transform(x, sites)
    assert abs(blind[sites == "s1"].mean() - blind[sites == "s0"].mean()) < 0.3


def test_unseen_site_is_left_unharmonised_with_a_warning() -> None:
    x, sites, _ = _sites_table(n=120)
    combat = ComBat().fit(x, sites)
    new = np.array([[1.0] * 8, [2.0] * 8])
    with pytest.warns(MedscaleWarning, match="site.*zz.*not seen in training.*unharmonised"):
        out = combat.transform(new, ["zz", "s1"])
    np.testing.assert_array_equal(out[0], new[0])
    assert not np.allclose(out[1], new[1])


def test_bad_input_fails_clearly() -> None:
    x, sites, _ = _sites_table(n=60)
    with pytest.raises(ModelError, match="at least 2 sites"):
        ComBat().fit(x, ["one"] * len(x))
    x[0, 0] = np.nan
    with pytest.raises(ModelError, match="missing values"):
        ComBat().fit(x, sites)


def test_site_step_reads_and_drops_the_code_column() -> None:
    x, sites, _ = _sites_table(n=90)
    names = ["s0", "s1", "s2"]
    codes = site_codes(sites, names)
    step = SiteComBat(site_names=names).fit(np.column_stack([x, codes]))
    out = step.transform(np.column_stack([x, codes]))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, ComBat().fit_transform(x, sites), atol=1e-12)
    assert site_codes(["s1", "new", None], names).tolist() == [1.0, -1.0, -1.0]
    assert site_codes(np.array([3.0, 1.0, np.nan]), ["1", "3"]).tolist() == [1.0, 0.0, -1.0]
