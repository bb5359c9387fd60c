"""Clustering of intensities: k-means and Gaussian mixtures (scikit-learn)."""

from __future__ import annotations

import numpy as np

from medscale.image import Image, Mask
from medscale.params import require
from medscale.segment.methods import METHODS, as_mask


def _sample(values: np.ndarray, n: int, random_state: int) -> np.ndarray:
    if values.size <= n:
        return values
    rng = np.random.default_rng(random_state)
    return values[rng.choice(values.size, n, replace=False)]


def _check(op: str, n_clusters: int, keep: int, sample: int) -> None:
    require(2 <= n_clusters <= 10, op, "n_clusters", "in 2..10", n_clusters)
    require(
        -n_clusters <= keep < n_clusters, op, "keep", f"in {-n_clusters}..{n_clusters - 1}", keep
    )
    require(sample >= 100, op, "sample", ">= 100 voxels", sample)


@METHODS.register("kmeans")
def kmeans(
    image: Image,
    *,
    n_clusters: int = 2,
    keep: int = -1,
    sample: int = 200_000,
    random_state: int = 0,
) -> Mask:
    """k-means on voxel intensities; keep the cluster ranked `keep` by centre (-1 = brightest).

    Parameters
    ----------
    n_clusters : int
        Number of clusters (2 to 10).
    keep : int
        Rank of the kept cluster by centre intensity: 0 darkest, -1 brightest.
    sample : int
        Voxels drawn (without replacement) to fit the centres; every voxel is then assigned.
    random_state : int
        Seed of the sampling and of k-means++ initialisation.

    Notes
    -----
    With one feature, assignment to the nearest centre is a set of thresholds halfway between
    sorted centres.
    """
    from sklearn.cluster import KMeans

    _check("kmeans", n_clusters, keep, sample)
    values = image.array.ravel().astype(np.float64)
    fit = KMeans(n_clusters=n_clusters, n_init=4, random_state=random_state).fit(
        _sample(values, sample, random_state)[:, None]
    )
    centres = np.sort(fit.cluster_centers_.ravel())
    boundaries = (centres[1:] + centres[:-1]) / 2
    labels = np.digitize(image.array, boundaries)
    return as_mask(image, labels == (keep % n_clusters))


@METHODS.register("gmm")
def gmm(
    image: Image,
    *,
    n_clusters: int = 2,
    keep: int = -1,
    sample: int = 200_000,
    random_state: int = 0,
) -> Mask:
    """Gaussian mixture on voxel intensities; keep the component ranked `keep` by mean.

    Each voxel goes to the component of highest posterior probability.
    """
    from sklearn.mixture import GaussianMixture

    _check("gmm", n_clusters, keep, sample)
    values = image.array.ravel().astype(np.float64)
    model = GaussianMixture(n_components=n_clusters, random_state=random_state, n_init=2)
    model.fit(_sample(values, sample, random_state)[:, None])
    rank = np.argsort(np.argsort(model.means_.ravel()))
    labels = rank[model.predict(values[:, None])]
    return as_mask(image, labels == (keep % n_clusters))
