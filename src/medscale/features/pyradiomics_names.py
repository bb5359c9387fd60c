"""pyradiomics-style feature names as an output option (``extract(..., names="pyradiomics")``).

medscale names its features by the IBSI ids (``stat_mean``, ``cm_contrast_3D_avg``);
`to_pyradiomics` renames those that pyradiomics (v3) defines the same way to pyradiomics's
``original_<class>_<Feature>`` names, so that tables can be joined with pyradiomics output.
Features with no pyradiomics counterpart keep their IBSI id (nothing is dropped).

Each family declares the features pyradiomics defines the same way (`Family.pyradiomics`; the
built-in families take theirs from the ``pyradiomics`` column of ``feature_table.csv`` with
`PyradiomicsNames.builtin`); `pyradiomics_table` gathers
those of every registered family. Mapped (`PYRADIOMICS_NAMES`, 3-D and first-order;
`PYRADIOMICS_NAMES_2D`, one-slice images):

- ``firstorder``: mean, variance, skewness, median, minimum, maximum, 10th / 90th percentile,
  interquartile range, range, mean / robust mean absolute deviation, root mean square,
  energy (``stat_*``, no discretisation); entropy and uniformity (``ih_entropy``,
  ``ih_uniformity``: the same formulas on the discretised histogram).
- ``shape``: mesh and voxel volume, surface area, surface-to-volume ratio, sphericity,
  compactness 1 / 2, spherical disproportion, maximum 3-D diameter, elongation, flatness
  (``morph_*``). Same definitions; on pyradiomics's sample cases the mesh volume and area differ
  from pyradiomics's by up to 0.4 % (compactness 2, which goes with V^2 / A^3, by 1.2 %)
  because the two marching-cubes implementations resolve ambiguous cubes differently.
- ``shape2D`` (one-slice images, `PYRADIOMICS_NAMES_2D`): mesh (contour) and pixel surface,
  maximum diameter, elongation (``morph_2d_*``).
- ``glcm``, ``glrlm``: the features averaged over the 13 directions of the 3-D neighbourhood
  (``*_3D_avg``), which is pyradiomics's default aggregation; on one-slice images the 2-D
  average (``*_2D_avg``, 4 in-plane directions), which is what pyradiomics computes there.
- ``glszm``, ``ngtdm`` and ``gldm`` (pyradiomics's name for IBSI's NGLDM with
  alpha = 0, distance 1): the ``_3D`` (or, on one-slice images, ``_2D``) ids.

Not mapped, and why:

- ``stat_kurt``: IBSI's is the *excess* kurtosis, pyradiomics's ``Kurtosis`` is not (+3).
- ``morph_pca_maj_axis``, ``morph_pca_min_axis``, ``morph_pca_least_axis`` and the 2-D
  ``morph_2d_pca_maj_axis``, ``morph_2d_pca_min_axis``: IBSI takes the eigenvalues of the
  sample covariance (N - 1), pyradiomics of the population covariance (N): its axes are
  shorter by sqrt((N - 1) / N) (0.35 % for 143 voxels). Their ratios (elongation, flatness)
  agree and are mapped.
- ``cm_sum_var``, ``cm_dissimilarity``: pyradiomics dropped / never had them (its ``SumSquares``
  is IBSI's joint variance, mapped); ``ngl_dc_perc``, ``ngl_dc_energy`` and every other
  feature that pyradiomics lacks: the intensity-histogram statistics except entropy and
  uniformity, the intensity-volume histogram, local intensity peaks, GLDZM, Moran's I / Geary's
  C, centre-of-mass shift, integrated intensity, bounding box, ellipsoid and convex-hull
  densities, the other ``morph_2d_*`` (perimeter: pyradiomics measures the unsmoothed contour).
- ``*_comb``, ``*_2_5D*`` texture aggregations: pyradiomics has no such variants.
- pyradiomics-only features (``StandardDeviation``, ``TotalEnergy``, ``MCC``, the 2-D slice
  diameters ...) are not computed.

Checked against pyradiomics v3.1 by ``benchmarks/bench_features_pyradiomics_names.py``
(results in benchmarks/results/features_pyradiomics_names.md): with pyradiomics's bin edges,
every mapped first-order and texture feature agrees to < 1e-10 relative (``Idn`` / ``Idmn``
too: both tools take Ng as the highest grey level, also with empty levels in between).

Filtered images (`medscale.features.filters.bank` column prefixes) take pyradiomics's image
type in place of ``original`` where pyradiomics has the same filter and parameters:

- ``log_s{sigma}_<id>`` (3-D, truncate 4, no Riesz) ->
  ``log-sigma-{sigma}-mm-3D_<class>_<Feature>``, the sigma as pyradiomics prints the float
  with ``-`` for the point: ``log_s2_stat_mean`` -> ``log-sigma-2-0-mm-3D_firstorder_Mean``,
  ``log_s1p5`` -> ``log-sigma-1-5-mm-3D``.
- ``wavelet_{name}_{band}_<id>`` (3-D, undecimated, not rotation-invariant) ->
  ``wavelet-{BAND}_<class>_<Feature>``, level ``j`` > 1 (``_l{j}``) -> ``wavelet{j}-{BAND}``
  (pyradiomics's name for its ``j``-th level with ``start_level`` 0):
  ``wavelet_coif1_lhl_stat_mean`` -> ``wavelet-LHL_firstorder_Mean``. Both tools read the band
  letters along x, y, z. pyradiomics's image type does not name the wavelet, so when two
  wavelets of one table would give the same name, both keep their medscale ids.

The other prefixes (``_2d``, ``_t{truncate}``, ``_ri``, ``_dec``, ``_riesz...``, mean, Laws,
Gabor, Simoncelli) have no pyradiomics image type and keep their ids. The values are
medscale's IBSI-2 responses, not pyradiomics's: its LoG is SimpleITK's recursive Gaussian
(normalised by sigma^2) and its wavelet pads differently, so only the names line up.

Values: a renamed value *is* medscale's value. It equals pyradiomics's where both use the same
grey levels; note that for fixed bin size pyradiomics aligns bin edges to multiples of the bin
width, IBSI to the ROI minimum (a re-segmentation range lower bound at such a multiple makes
them coincide), so discretised features (``ih_*``, texture) then differ by that shift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from medscale.errors import ConfigError
from medscale.features.registry import Family, families

# family ids -> (the families, kept alive so that their ids stay theirs; 3-D table, 2-D table)
_TABLES: dict[tuple[int, ...], tuple[list[Family], dict[str, str], dict[str, str]]] = {}


def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(3-D table, 2-D table) of the families registered now (rebuilt when they change)."""
    registered = families()
    key = tuple(id(family) for family in registered)
    if key not in _TABLES:
        tables: tuple[dict[str, str], dict[str, str]] = ({}, {})
        for family in registered:
            names = family.pyradiomics
            if names is None:
                continue
            for table, dims, suffix in zip(
                tables, ("3D", "2D"), (names.suffix_3d, names.suffix_2d), strict=True
            ):
                if dims in names.tables:
                    prefix = f"original_{names.feature_class}_"
                    table |= {k + suffix: prefix + v for k, v in names.names.items()}
        _TABLES.clear()
        _TABLES[key] = (registered, *tables)
    _, three_d, two_d = _TABLES[key]
    return three_d, two_d


def pyradiomics_table(*, two_d: bool = False) -> dict[str, str]:
    """medscale id -> pyradiomics name over every registered family, 3-D or one-slice (2-D)."""
    return dict(_tables()[1 if two_d else 0])


def __getattr__(name: str) -> dict[str, str]:
    """`PYRADIOMICS_NAMES` (3-D and first-order ids) and `PYRADIOMICS_NAMES_2D` (one-slice
    images: shape2D, 2-D texture), built from the registered families on first use."""
    if name == "PYRADIOMICS_NAMES":
        return pyradiomics_table(two_d=False)
    if name == "PYRADIOMICS_NAMES_2D":
        return pyradiomics_table(two_d=True)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NAME_STYLES = ("ibsi", "pyradiomics")


_LOG_PREFIX = re.compile(r"log_s(\d+(?:p\d+)?)_(.+)")
_WAVELET_PREFIX = re.compile(r"wavelet_[a-z0-9.]+_([lh]{3})(?:_l(\d+))?_(.+)")


def _image_type(key: str) -> tuple[str, str]:
    """(pyradiomics image type, the IBSI id) of a column; ``original`` when it has no filter
    prefix pyradiomics names (module docstring)."""
    match = _LOG_PREFIX.fullmatch(key)
    if match is not None:
        sigma = float(match.group(1).replace("p", "."))
        return f"log-sigma-{str(sigma).replace('.', '-')}-mm-3D", match.group(2)
    match = _WAVELET_PREFIX.fullmatch(key)
    if match is not None:
        band, level, rest = match.groups()
        level_text = "" if level is None or int(level) == 1 else level
        return f"wavelet{level_text}-{band.upper()}", rest
    return "original", key


def to_pyradiomics(features: Mapping[str, float]) -> dict[str, float]:
    """`features` with the ids pyradiomics defines the same way renamed to its names.

    The 3-D table applies to 3-D ids; the 2-D ids (``morph_2d_*``, ``*_2D_avg``, ``*_2D``)
    are renamed only when no 3-D id claims the same pyradiomics name, so that every output
    name is unique. Unmapped ids are kept as they are; the order is kept.

    Examples
    --------
    >>> to_pyradiomics({"stat_mean": 1.5, "stat_kurt": 0.2, "cm_contrast_3D_avg": 4.0})
    {'original_firstorder_Mean': 1.5, 'stat_kurt': 0.2, 'original_glcm_Contrast': 4.0}
    """
    three_d_table, two_d_table = _tables()
    split = {key: _image_type(key) for key in features}

    def mapped(key: str, table: dict[str, str]) -> str | None:
        image_type, ibsi = split[key]
        if ibsi not in table:
            return None
        return image_type + table[ibsi].removeprefix("original")

    taken = [name for k in features if (name := mapped(k, three_d_table)) is not None]
    proposed: dict[str, str] = {}
    for key in features:
        name = mapped(key, three_d_table)
        if name is None:
            two_d = mapped(key, two_d_table)
            name = two_d if two_d is not None and two_d not in taken else key
        proposed[key] = name
    # two filtered columns on one pyradiomics name (e.g. two wavelets' LHL): keep both ids
    counts: dict[str, int] = {}
    for name in proposed.values():
        counts[name] = counts.get(name, 0) + 1
    return {(name if counts[name] == 1 else key): features[key] for key, name in proposed.items()}


def rename(features: Mapping[str, float], names: str = "ibsi") -> dict[str, float]:
    """`features` under the naming style `names`: ``"ibsi"`` (as is) or ``"pyradiomics"``.

    Raises
    ------
    ConfigError
        Unknown naming style.
    """
    if names == "ibsi":
        return dict(features)
    if names == "pyradiomics":
        return to_pyradiomics(features)
    raise ConfigError(f"names must be one of {', '.join(NAME_STYLES)}, got {names!r}")


__all__ = [
    "NAME_STYLES",
    "pyradiomics_table",
    "rename",
    "to_pyradiomics",
]
