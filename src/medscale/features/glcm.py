"""Grey level co-occurrence matrix (GLCM) features, IBSI-1 section 3.6.

The GLCM of a direction counts the pairs of ROI voxels (one step of Chebyshev distance
`distance` apart along that direction) by their grey levels (i, j); the symmetric GLCM adds its
transpose. Matrices are built with one `numpy.bincount` per direction over the ROI voxels of the
ROI's bounding box; features are computed for a whole stack of matrices at once.

Aggregation (IBSI-1 3.6.1): ``2D_avg`` features per slice and direction, averaged;
``2D_comb`` directions merged per slice, averaged over slices; ``2_5D_avg`` slices merged per
direction, averaged over directions; ``2_5D_comb`` everything merged; ``3D_avg`` per 3-D
direction, averaged over the 13 directions; ``3D_comb`` the 13 merged.

References
----------
Haralick R.M. et al. (1973), Textural features for image classification.
Zwanenburg A. et al., IBSI reference manual, arXiv:1612.07003, section 3.6.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from medscale.errors import ConfigError
from medscale.features import texture_common as tc
from medscale.features.registry import PyradiomicsNames, builtin_features

_FAMILY = "glcm"
FEATURES = builtin_features(_FAMILY)
_NAMES = tuple(feature.name for feature in FEATURES)
MAX_CELLS = 200_000_000  # co-occurrence cells per call (1.6 GB of int64)


def _features(
    padded: np.ndarray,
    n_levels: int,
    dims: tuple[str, ...],
    *,
    distance: int = 1,
    symmetric: bool = True,
) -> dict[str, float]:
    """GLCM features of prepared levels: `distance` is the Chebyshev step between paired
    voxels (voxels), `symmetric` adds the transposed matrix (the IBSI default)."""
    distance = int(distance)
    out: dict[str, float] = {}
    if "2D" in dims or "2.5D" in dims:
        per_slice, lv = glcm_matrices(
            padded, tc.DIRECTIONS_2D, distance=distance, symmetric=symmetric, per_slice=True
        )
        if "2D" in dims:
            n_z, n_dir = per_slice.shape[:2]
            stacked = per_slice.reshape(n_z * n_dir, *per_slice.shape[2:])
            out.update(
                _aggregate([(stacked, "2D_avg"), (per_slice.sum(axis=1), "2D_comb")], lv, n_levels)
            )
        if "2.5D" in dims:
            merged = per_slice.sum(axis=0)
            combined = merged.sum(axis=0, keepdims=True)
            out.update(_aggregate([(merged, "2_5D_avg"), (combined, "2_5D_comb")], lv, n_levels))
    if "3D" in dims:
        per_dir, lv = glcm_matrices(
            padded, tc.DIRECTIONS_3D, distance=distance, symmetric=symmetric
        )
        combined = per_dir[0].sum(axis=0, keepdims=True)
        out.update(_aggregate([(per_dir[0], "3D_avg"), (combined, "3D_comb")], lv, n_levels))
    return out


def glcm_matrices(
    padded: np.ndarray,
    directions: Sequence[tuple[int, int, int]],
    *,
    distance: int = 1,
    symmetric: bool = True,
    per_slice: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Co-occurrence counts per (slice,) direction, one row/column per level present.

    Parameters
    ----------
    padded : numpy.ndarray of int, shape (z, y, x)
        Levels with 0 outside the ROI and at least `distance` outside voxels on every side.
    directions : sequence of (dz, dy, dx)
        Unit direction vectors.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (Z, D, Np, Np)
        Z = number of z planes of `padded` when `per_slice` (else 1), D directions;
        entry [..., a, b] counts pairs of levels (``levels[a]``, ``levels[b]``).
    levels : numpy.ndarray of int64, shape (Np,)
        The grey levels present in the ROI.

    Raises
    ------
    ConfigError
        When the matrices would exceed `MAX_CELLS` cells (too many grey levels present).
    """
    flat = padded.ravel()
    levels, row = tc.present_levels(padded)
    centre = np.flatnonzero(flat)
    centre_level = row[flat[centre]]
    n_m = len(levels)
    plane = padded.shape[1] * padded.shape[2]
    n_z = padded.shape[0] if per_slice else 1
    n_dir = len(directions)
    cells = n_m * n_m
    if n_z * n_dir * cells > MAX_CELLS:
        raise ConfigError(
            f"glcm: {n_m} grey levels present would need {n_z * n_dir} co-occurrence matrices of "
            f"{n_m} x {n_m} ({n_z * n_dir * cells * 8 / 2**30:.1f} GiB); use a coarser "
            f"discretisation (fewer grey levels)"
        )
    chunks = []
    for k, direction in enumerate(directions):
        offset = tc.flat_offset(direction, padded.shape, distance)
        neighbour = flat[centre + offset]
        valid = neighbour > 0
        index = centre_level[valid] * n_m + row[neighbour[valid]]
        group = k if not per_slice else (centre[valid] // plane) * n_dir + k
        chunks.append(group * cells + index)
    counts = np.bincount(np.concatenate(chunks), minlength=n_z * n_dir * cells)
    counts = counts.reshape(n_z, n_dir, n_m, n_m)
    if symmetric:
        counts = counts + counts.transpose(0, 1, 3, 2)
    return counts, levels


def _aggregate(
    groups: list[tuple[np.ndarray, str]], levels: np.ndarray, n_levels: int
) -> dict[str, float]:
    """For each (matrices, suffix): the features of its non-empty matrices, averaged.

    The groups' matrices go through `glcm_features` together when they are small (one set of
    NumPy calls instead of one per group: most of the time on small ROIs), else in chunks of
    about 2 million cells to bound memory. Undefined features are NaN with a warning.
    """
    stacks = []
    for matrices, _ in groups:
        stack = matrices.reshape(-1, *matrices.shape[-2:])
        stacks.append(stack[stack.sum(axis=(1, 2)) > 0])
    cells = stacks[0].shape[1] * stacks[0].shape[2]
    chunk = max(1, 2_000_000 // cells)
    together = np.concatenate(stacks) if 0 < sum(map(len, stacks)) <= chunk else None
    table = _feature_table(together, n_levels, levels, chunk) if together is not None else None
    out: dict[str, float] = {}
    first = 0
    for stack, (_, suffix) in zip(stacks, groups, strict=True):
        if stack.shape[0] == 0:
            tc.warn_undefined(
                f"glcm ({suffix}): no pair of neighbouring ROI voxels; GLCM undefined"
            )
            out.update(tc.nan_features(_NAMES, [suffix]))
            continue
        if table is not None:
            part = table[:, first : first + len(stack)]
            first += len(stack)
        else:
            part = _feature_table(stack, n_levels, levels, chunk)
        out.update(_means(part, suffix))
    return out


def _feature_table(stack: np.ndarray, n_levels: int, levels: np.ndarray, chunk: int) -> np.ndarray:
    """Features (rows, in `_NAMES` order) of each matrix of `stack` (columns), in chunks."""
    parts = [
        glcm_features(stack[k : k + chunk], n_levels, levels) for k in range(0, len(stack), chunk)
    ]
    return np.stack([np.concatenate([part[name] for part in parts]) for name in _NAMES])


def _means(table: np.ndarray, suffix: str) -> dict[str, float]:
    """Each feature's mean over the matrices; NaN with a warning where none is defined."""
    finite = np.isfinite(table)
    if finite.all():  # the usual case: one vectorised mean per feature
        return {
            f"{name}_{suffix}": float(m) for name, m in zip(_NAMES, table.mean(axis=1), strict=True)
        }
    out = {}
    for name, column, ok in zip(_NAMES, table, finite, strict=True):
        if not ok.any():
            tc.warn_undefined(f"glcm ({suffix}): {name} is undefined for this ROI")
            out[f"{name}_{suffix}"] = float("nan")
        else:
            out[f"{name}_{suffix}"] = float(column[ok].mean())
    return out


def _marginal_plan(levels: bytes, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell order, segment starts and key values for summing a matrix by |i - j| or i + j."""
    lv = np.frombuffer(levels, dtype=np.int64)
    key = np.abs(lv[:, None] - lv[None, :]) if kind == "diff" else lv[:, None] + lv[None, :]
    values, index = tc.compress_values(key.ravel())
    order = np.argsort(index, kind="stable")
    starts = np.searchsorted(index[order], np.arange(len(values)))
    return order, starts, values


_cached_plan = lru_cache(maxsize=32)(_marginal_plan)  # small level sets recur across calls


def _marginal(p: np.ndarray, levels: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (K, N, N) summed over the cells sharing |i - j| ("diff") or i + j, and
    the key values k that occur."""
    plan = _cached_plan if len(levels) <= 128 else _marginal_plan
    order, starts, values = plan(levels.astype(np.int64).tobytes(), kind)
    flat = p.reshape(p.shape[0], -1)[:, order]
    return np.add.reduceat(flat, starts, axis=1), values.astype(np.float64)


def glcm_features(
    counts: np.ndarray, n_levels: int, levels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The 25 IBSI GLCM features of each matrix in a stack.

    Parameters
    ----------
    counts : numpy.ndarray, shape (K, N, N)
        Non-empty co-occurrence matrices; row/column k is grey level ``levels[k]``.
    n_levels : int
        Ng for the normalised inverse differences.
    levels : numpy.ndarray of int, shape (N,), optional
        Grey level of each row/column; default 1..N.

    Returns
    -------
    dict of str to numpy.ndarray of shape (K,)
        Keyed by feature id without suffix; NaN where a feature is undefined.
    """
    k_mats, n_m, _ = counts.shape
    p = counts / counts.sum(axis=(1, 2), keepdims=True, dtype=np.float64)
    levels = np.arange(1, n_m + 1) if levels is None else np.asarray(levels)
    lv = levels.astype(np.float64)
    p_diff, k_diff = _marginal(p, levels, "diff")  # |i - j| = k_diff (starts at 0)
    p_sum, k_sum = _marginal(p, levels, "sum")  # i + j = k_sum
    p_i = p.sum(axis=2)
    p_j = p.sum(axis=1)
    mu_i = p_i @ lv
    mu_j = p_j @ lv
    var_i = p_i @ lv**2 - mu_i**2
    var_j = p_j @ lv**2 - mu_j**2
    joint_avg = mu_i
    diff_avg = p_diff @ k_diff
    sum_avg = p_sum @ k_sum
    auto_corr = np.einsum("kij,i,j->k", p, lv, lv)
    h_xy = -tc.xlog2x(p).sum(axis=(1, 2))
    h_x = -tc.xlog2x(p_i).sum(axis=1)
    h_y = -tc.xlog2x(p_j).sum(axis=1)
    # HXY1 = -sum p_ij log2(p_i. p_.j) and HXY2 = -sum p_i. p_.j log2(p_i. p_.j) both reduce
    # to HX + HY (the log of the product splits and the marginals sum to 1).
    h_xy1 = h_xy2 = h_x + h_y
    centred = k_sum[None, :] - (mu_i + mu_j)[:, None]  # i + j - mu_i - mu_j, via p_x+y
    ng = float(n_levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (auto_corr - mu_i * mu_j) / np.sqrt(var_i * var_j)
        info1 = (h_xy - h_xy1) / h_x
    corr[var_i * var_j <= 1e-14] = np.nan
    info1[h_x <= 0] = np.nan
    inv_var_w = np.zeros_like(k_diff)
    inv_var_w[1:] = 1.0 / k_diff[1:] ** 2  # k_diff[0] == 0 (the diagonal)
    return {
        "cm_joint_max": p.reshape(k_mats, -1).max(axis=1),
        "cm_joint_avg": joint_avg,
        "cm_joint_var": np.einsum("kij,ki->k", p, (lv[None, :] - joint_avg[:, None]) ** 2),
        "cm_joint_entr": h_xy,
        "cm_diff_avg": diff_avg,
        "cm_diff_var": ((k_diff[None, :] - diff_avg[:, None]) ** 2 * p_diff).sum(axis=1),
        "cm_diff_entr": -tc.xlog2x(p_diff).sum(axis=1),
        "cm_sum_avg": sum_avg,
        "cm_sum_var": ((k_sum[None, :] - sum_avg[:, None]) ** 2 * p_sum).sum(axis=1),
        "cm_sum_entr": -tc.xlog2x(p_sum).sum(axis=1),
        "cm_energy": (p**2).sum(axis=(1, 2)),
        "cm_contrast": p_diff @ k_diff**2,
        "cm_dissimilarity": diff_avg,
        "cm_inv_diff": p_diff @ (1.0 / (1.0 + k_diff)),
        "cm_inv_diff_norm": p_diff @ (1.0 / (1.0 + k_diff / ng)),
        "cm_inv_diff_mom": p_diff @ (1.0 / (1.0 + k_diff**2)),
        "cm_inv_diff_mom_norm": p_diff @ (1.0 / (1.0 + k_diff**2 / ng**2)),
        "cm_inv_var": p_diff @ inv_var_w,
        "cm_corr": corr,
        "cm_auto_corr": auto_corr,
        "cm_clust_tend": (centred**2 * p_sum).sum(axis=1),
        "cm_clust_shade": (centred**3 * p_sum).sum(axis=1),
        "cm_clust_prom": (centred**4 * p_sum).sum(axis=1),
        "cm_info_corr1": info1,
        "cm_info_corr2": np.sqrt(np.clip(1.0 - np.exp(-2.0 * (h_xy2 - h_xy)), 0.0, None)),
    }


TEXTURE = tc.TextureFamily(_FAMILY, FEATURES, _features, averaged=True)
compute = TEXTURE.compute
compute_prepared = TEXTURE.compute_prepared
FAMILY = TEXTURE.family(
    pyradiomics=PyradiomicsNames.builtin(_FAMILY, "glcm", suffix_3d="_3D_avg", suffix_2d="_2D_avg")
)
