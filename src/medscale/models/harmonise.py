"""ComBat harmonisation of features across sites, fitted on training cases only.

ComBat (Johnson et al. 2007, empirical Bayes location/scale; Fortin et al. 2018 for radiomics)
models each feature as ``x = grand mean + covariates·beta + gamma_site + delta_site·e`` and
removes the site's additive (gamma) and multiplicative (delta) effect, shrinking the per-site
estimates towards the mean over features (parametric empirical Bayes). The estimates follow
neuroCombat 0.2.12 / neuroHarmonize 2.5 (``harmonizationLearn`` / ``harmonizationApply``) step
for step, including their convergence rule (relative change ≤ 1e-4), so the results agree with
theirs (to 1e-13 on the table of ``benchmarks/combat_vs_neuroharmonize.py``); neuroHarmonize
itself is not a dependency (it pins numpy < 2 and pandas < 3).

:class:`ComBat` is the plain transformer: ``fit(x, sites, covariates=None)`` learns the pooled
mean and variance (``grand_mean_``, ``var_pooled_``, ``beta_``) and the per-site ``gamma_star_``
/ ``delta_star_``; ``transform(x, sites, covariates=None)`` applies them to new cases. Biological
covariates (age, a known effect to keep) are optional: their effect is estimated jointly with the
site effect and put back, so harmonisation does not remove it.

A site not seen at fit (or seen with fewer than 2 cases, too few for a variance) is **left
unharmonised** with a :class:`~medscale.errors.MedscaleWarning` naming it (neuroHarmonize's
apply returns NaN there instead). :class:`SiteComBat` is the pipeline step: it reads the site
code from the last column of ``x`` (``medscale train --site COL`` puts it there), harmonises the
other columns and drops the code, so the site travels through the cross-validation folds and
each fold's ComBat is fitted on that fold's training cases only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin

from medscale.errors import MedscaleWarning, ModelError

CONVERGENCE = 1e-4  # neuroCombat's it_sol default
UNSEEN_CODE = -1.0  # the site code of a site the model never saw


def _site_list(sites: Any) -> list[Any]:
    return [s.item() if isinstance(s, np.generic) else s for s in np.asarray(sites).tolist()]


class ComBat(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """ComBat location/scale harmonisation (parametric empirical Bayes when `eb`).

    Parameters
    ----------
    eb : bool
        Shrink the per-site estimates by empirical Bayes (ComBat); False uses the per-site
        least-squares estimates. With one feature EB is skipped (as neuroHarmonize does).
    """

    def __init__(self, eb: bool = True) -> None:
        self.eb = eb

    def fit(
        self,
        x: NDArray[np.float64],
        sites: Any,
        covariates: NDArray[np.float64] | None = None,
    ) -> ComBat:
        """Learn the pooled estimates and each site's gamma*/delta* from (`x`, `sites`).

        Raises
        ------
        ModelError
            Missing values in `x`, lengths that differ, or fewer than 2 sites with 2+ cases.
        """
        x = np.asarray(x, dtype=float)
        site_values = np.asarray(_site_list(sites), dtype=object)
        cov = self._covariates(covariates, len(x))
        if len(site_values) != len(x):
            raise ModelError(f"ComBat: {len(x)} cases but {len(site_values)} site values")
        if np.isnan(x).any():
            raise ModelError("ComBat: features have missing values; impute them first")
        labels, counts = np.unique(site_values.astype(str), return_counts=True)
        small = [str(s) for s, n in zip(labels, counts, strict=True) if n < 2]
        if small:
            warnings.warn(
                f"ComBat: site(s) {', '.join(small[:5])} have fewer than 2 training cases; "
                "they are not harmonised",
                MedscaleWarning,
                stacklevel=2,
            )
        kept = [str(s) for s, n in zip(labels, counts, strict=True) if n >= 2]
        if len(kept) < 2:
            raise ModelError(f"ComBat needs at least 2 sites with 2 or more cases, got {len(kept)}")
        rows = np.isin(site_values.astype(str), kept)
        x, cov = x[rows], cov[rows]
        codes = np.searchsorted(np.array(kept), site_values[rows].astype(str))
        n, n_sites = len(x), len(kept)
        design = np.hstack([np.eye(n_sites)[codes], cov])
        beta = np.linalg.solve(design.T @ design, design.T @ x)  # (sites + covariates, p)
        per_site = np.bincount(codes, minlength=n_sites)
        grand_mean = (per_site / n) @ beta[:n_sites]
        var_pooled = ((x - design @ beta) ** 2).mean(axis=0)
        flat = var_pooled <= 0  # constant features: nothing to harmonise
        var_pooled = np.where(flat, 1.0, var_pooled)
        mod_mean = cov @ beta[n_sites:]
        s = (x - grand_mean - mod_mean) / np.sqrt(var_pooled)
        gamma_hat = np.vstack([s[codes == k].mean(axis=0) for k in range(n_sites)])
        delta_hat = np.vstack([s[codes == k].var(axis=0, ddof=1) for k in range(n_sites)])
        gamma_star, delta_star = gamma_hat.copy(), delta_hat.copy()
        if self.eb and x.shape[1] > 1:
            for k in range(n_sites):
                gamma_star[k], delta_star[k] = _posterior(s[codes == k], gamma_hat[k], delta_hat[k])
        gamma_star[:, flat], delta_star[:, flat] = 0.0, 1.0
        delta_star = np.where(delta_star > 0, delta_star, 1.0)  # constant within a site
        self.sites_ = kept
        self.grand_mean_ = grand_mean
        self.var_pooled_ = var_pooled
        self.beta_covariates_ = beta[n_sites:]
        self.gamma_hat_, self.delta_hat_ = gamma_hat, delta_hat
        self.gamma_star_, self.delta_star_ = gamma_star, delta_star
        self.n_features_in_ = x.shape[1]
        return self

    def transform(
        self,
        x: NDArray[np.float64],
        sites: Any,
        covariates: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Harmonise `x` with the fitted estimates; rows of an unseen site are returned as is.

        Warns
        -----
        MedscaleWarning
            Rows of sites not seen at fit, naming them (they are left unharmonised).
        """
        x = np.asarray(x, dtype=float)
        if x.shape[1] != self.n_features_in_:
            raise ModelError(
                f"ComBat was fitted on {self.n_features_in_} features, got {x.shape[1]}"
            )
        labels = np.asarray(_site_list(sites), dtype=object).astype(str)
        cov = self._covariates(covariates, len(x))
        out = x.copy()
        known = {site: k for k, site in enumerate(self.sites_)}
        mod_mean = cov @ self.beta_covariates_
        scale = np.sqrt(self.var_pooled_)
        for label in np.unique(labels):
            rows = labels == label
            if label not in known:
                continue
            k = known[label]
            s = (x[rows] - self.grand_mean_ - mod_mean[rows]) / scale
            adjusted = (s - self.gamma_star_[k]) / np.sqrt(self.delta_star_[k])
            out[rows] = adjusted * scale + self.grand_mean_ + mod_mean[rows]
        unseen = sorted(set(labels) - set(known))
        if unseen:
            warnings.warn(
                f"ComBat: {int(np.isin(labels, unseen).sum())} case(s) of site(s) "
                f"{', '.join(unseen[:5])} not seen in training (trained on "
                f"{', '.join(self.sites_[:5])}) are left unharmonised",
                MedscaleWarning,
                stacklevel=2,
            )
        return out

    def fit_transform(  # type: ignore[override]
        self,
        x: NDArray[np.float64],
        sites: Any,
        covariates: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        return self.fit(x, sites, covariates).transform(x, sites, covariates)

    def _covariates(self, covariates: NDArray[np.float64] | None, n: int) -> NDArray[np.float64]:
        if covariates is None:
            n_cov = getattr(self, "beta_covariates_", np.zeros((0, 0))).shape[0]
            if hasattr(self, "beta_covariates_") and n_cov:
                raise ModelError(f"ComBat was fitted with {n_cov} covariate(s); give them")
            return np.zeros((n, 0))
        cov = np.asarray(covariates, dtype=float).reshape(n, -1)
        if np.isnan(cov).any():
            raise ModelError("ComBat: covariates have missing values")
        return cov


def _posterior(
    s: NDArray[np.float64], gamma_hat: NDArray[np.float64], delta_hat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One site's EB gamma*/delta* (neuroCombat ``it_sol`` with its priors)."""
    gamma_bar, t2 = gamma_hat.mean(), gamma_hat.var(ddof=1)
    m, s2 = delta_hat.mean(), delta_hat.var(ddof=1)
    if not (np.isfinite(t2) and t2 > 0 and np.isfinite(s2) and s2 > 0):
        return gamma_hat, delta_hat  # no spread over features: no prior to shrink towards
    a, b = (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2
    n = len(s)
    g_old, d_old = gamma_hat, delta_hat
    for _ in range(10_000):
        g_new = (t2 * n * gamma_hat + d_old * gamma_bar) / (t2 * n + d_old)
        sum2 = ((s - g_new) ** 2).sum(axis=0)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            # neuroCombat's rule, signed denominator included (features whose estimate is
            # negative do not hold the loop back): the same iterations, the same result
            change = max(
                np.nanmax(np.abs(g_new - g_old) / g_old),
                np.nanmax(np.abs(d_new - d_old) / d_old),
            )
        g_old, d_old = g_new, d_new
        if change <= CONVERGENCE:
            break
    return g_old, d_old


class SiteComBat(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Pipeline step: ComBat by the site code in the last column of ``x``, which is dropped.

    The codes index `site_names` (the training table's sites, sorted); ``-1`` is a site the
    model never saw (left unharmonised, warned). With `n_covariates`, the columns just before
    the code are biological covariates whose effect ComBat keeps; they are dropped too. Fitted
    within each CV fold on its training cases only, like every step of the pipeline.
    """

    def __init__(
        self, site_names: list[str] | None = None, eb: bool = True, n_covariates: int = 0
    ) -> None:
        self.site_names = site_names
        self.eb = eb
        self.n_covariates = n_covariates

    def _split(
        self, x: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], list[str], NDArray[np.float64] | None]:
        x = np.asarray(x, dtype=float)
        names = list(self.site_names or [])
        codes = x[:, -1].astype(int)
        labels = [names[c] if 0 <= c < len(names) else "<unseen site>" for c in codes]
        end = x.shape[1] - 1 - self.n_covariates
        covariates = x[:, end:-1] if self.n_covariates else None
        return x[:, :end], labels, covariates

    def fit(self, x: NDArray[np.float64], y: Any = None) -> SiteComBat:
        features, labels, covariates = self._split(x)
        self.combat_ = ComBat(eb=self.eb).fit(features, labels, covariates)
        self.n_features_in_ = np.asarray(x).shape[1]
        return self

    def transform(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        features, labels, covariates = self._split(x)
        return self.combat_.transform(features, labels, covariates)


def site_text(value: Any) -> str | None:
    """A site value as text (``None`` when missing); a whole float is written as an integer,
    so site 3 read as ``3.0`` (a CSV column with a gap) is still site ``"3"``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def site_codes(values: Any, site_names: list[str]) -> NDArray[np.float64]:
    """The code of each site value in `site_names` (``-1`` for one not there, or missing)."""
    index = {name: k for k, name in enumerate(site_names)}
    out = np.full(len(values), UNSEEN_CODE)
    for i, value in enumerate(_site_list(values)):
        text = site_text(value)
        if text is not None:
            out[i] = index.get(text, UNSEEN_CODE)
    return out
