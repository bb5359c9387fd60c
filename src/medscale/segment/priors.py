"""Leak priors of seeded region growing: an opening, the lung-contact sphere, the star shape.

`region_growing` and `confidence_connected` grow a region by intensity alone; where the lesion
touches tissue of the same intensity (chest wall, vessels) it leaks. `LeakPriors` holds the
settings of the priors that cut it back, `apply_priors` applies them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from medscale.errors import ConfigError, warn_renamed
from medscale.image import Image, Mask
from medscale.params import require
from medscale.preprocess.morphology import image_footprint
from medscale.segment.methods import as_mask, component_at
from medscale.segment.shape import contact_sphere_constrain, fills_convex_hull, star_constrain

#: A seed whose depth in the star prior's result is below this fraction of the deepest point's
#: is off-centre: the contact prior then starts from the deepest point (chosen on cases 0-29).
_DEEP_ENOUGH = 0.8


@dataclass(frozen=True)
class LeakPriors:
    """The opening and the shape priors that cut a grown region's leaks back to the lesion.

    Taken by `region_growing` and `confidence_connected` as ``priors``; `segment`, the CLI
    (``--param leak_ratio=0``) and run files give its fields as flat parameters.

    Attributes
    ----------
    opening_mm : float, mm
        Radius of a ball opening after growing, to cut thin leaks (vessels); 0 for none.
    lung_ball_mm : float, mm
        Lung-contact sphere prior (`shape.contact_sphere_constrain`), for lesions that touch
        the chest wall or mediastinum, where no intensity edge exists: the dark surroundings
        (lung) are closed with a rolling ball of this radius (Armato et al.'s juxtapleural
        technique), a sphere is fitted to the lesion's lung surface and the grown region is
        cut to it. 0 disables it. When the lesion does not face the lung, the star-shape prior
        below applies instead.
    contact_reach : float
        Lung-surface points farther from the seed than this times the seed's distance to the
        lung are ignored (other structures bulging into the lung); the seed should lie near
        the lesion's centre.
    sphere_margin : float
        Relative growth of the fitted sphere, for lobulated lesions.
    leak_ratio : float
        Star-shape prior (`shape.star_constrain`), used when the contact prior has no lung
        surface to fit: rays from the seed longer than this times the median ray have leaked
        and are cut back; 0 to disable.
    convex_skip : float
        The star prior is skipped for a grown region that fills its convex hull: voxel
        volume / volume of the hull of the voxel centres at least this (a convex object is
        about 1.1-1.2, since the hull of the centres lies half a voxel inside). Such a region
        has no neck to have leaked through; an elongated lesion keeps its poles. 0: never
        skip.
    recentre : bool
        For seeds placed away from the object's centre: the star prior re-runs from the
        deepest point of its result; the contact prior starts from that point when the seed
        is much shallower, and selects the lung surface again around its fitted centre (see
        `shape.star_constrain`, `shape.contact_sphere_constrain`).

    Notes
    -----
    The defaults (``lung_ball_mm=15``, ``contact_reach=1.4``, ``sphere_margin=0.1``,
    ``leak_ratio=1.1``) were chosen on synthetic cases 0-29 (the benchmark scores 1000+).
    Both priors assume a roughly round lesion. An isolated elongated object keeps its shape
    (`convex_skip`), but one that touches other structures is cut towards a sphere or star;
    for elongated structures set `leak_ratio` and `lung_ball_mm` to 0 (measurements of these
    choices: ``benchmarks/results/segment.md``).

    Examples
    --------
    >>> priors = LeakPriors(leak_ratio=0, lung_ball_mm=0)  # no shape prior: a vessel, a rod
    >>> priors.opening_mm, priors.recentre  # the other fields keep their defaults
    (1.0, True)
    """

    opening_mm: float = 1.0
    lung_ball_mm: float = 15.0
    contact_reach: float = 1.4
    sphere_margin: float = 0.1
    leak_ratio: float = 1.1
    convex_skip: float = 1.0
    recentre: bool = True

    def check(self, op: str) -> None:
        """Raise `ConfigError` naming `op` and the field that is out of range."""
        require(self.opening_mm >= 0, op, "opening_mm", ">= 0 mm", self.opening_mm)
        ratio = self.leak_ratio
        require(ratio == 0 or ratio > 1, op, "leak_ratio", "0 or > 1", ratio)
        require(self.lung_ball_mm >= 0, op, "lung_ball_mm", ">= 0 mm", self.lung_ball_mm)
        require(self.contact_reach >= 1, op, "contact_reach", ">= 1", self.contact_reach)
        require(self.sphere_margin >= 0, op, "sphere_margin", ">= 0", self.sphere_margin)
        require(self.convex_skip >= 0, op, "convex_skip", ">= 0", self.convex_skip)


def resolve_priors(priors: LeakPriors | None, flat: dict[str, Any], op: str) -> LeakPriors:
    """`priors` (default `LeakPriors()`), checked. Its fields given as keywords of `op`, the
    spelling before `LeakPriors`, still work, with a `MedscaleDeprecationWarning`."""
    names = {item.name for item in dataclasses.fields(LeakPriors)}
    for key in flat:
        if key not in names:
            raise TypeError(f"{op}() got an unexpected keyword argument {key!r}")
    if flat and priors is not None:
        raise ConfigError(f"{op}: give priors= or its fields {sorted(flat)}, not both")
    if flat:
        given = ", ".join(f"{key}=..." for key in flat)
        warn_renamed(f"{op}({given})", f"priors=LeakPriors({given})", stacklevel=4)
        priors = LeakPriors(**flat)
    priors = priors or LeakPriors()
    priors.check(op)
    return priors


def apply_priors(
    image: Image,
    grown: np.ndarray,
    seed: Sequence[int],
    priors: LeakPriors,
    surround: np.ndarray,
) -> Mask:
    """The grown region cut by `priors`: opened, then the lung-contact sphere prior or,
    failing it, the star-shape prior; the component holding `seed`, holes filled.

    `surround` is the dark side of the seed's intensity band (`region.surroundings`), the
    lung that the contact prior closes and fits a sphere to.
    """
    structure = ndimage.generate_binary_structure(3, 1)
    recentre = priors.recentre

    def opened(region: np.ndarray) -> np.ndarray:
        if priors.opening_mm <= 0:
            return region
        result = ndimage.binary_opening(region, image_footprint(image, priors.opening_mm))
        return result if result.any() else region

    def filled(region: np.ndarray) -> np.ndarray:
        # rays and surfaces must see the object, not its noise holes
        return ndimage.binary_fill_holes(component_at(region, seed, image.spacing), structure)

    star = filled(grown)
    if priors.leak_ratio > 0 and not fills_convex_hull(star, image.spacing, priors.convex_skip):
        star = star_constrain(
            star, seed, image.spacing, leak_ratio=priors.leak_ratio, recentre=recentre
        )
    cut = None
    if priors.lung_ball_mm > 0:
        starts = [tuple(int(v) for v in seed)]
        if recentre and star.any():
            # an off-centre seed: try first from the star prior's deepest point, which does
            # not depend on where in the lesion the seed was placed
            depth = ndimage.distance_transform_edt(star, sampling=image.spacing)
            if depth[starts[0]] < _DEEP_ENOUGH * depth.max():
                deepest = np.unravel_index(int(np.argmax(depth)), depth.shape)
                starts.insert(0, tuple(int(v) for v in deepest))
        region = filled(opened(grown))
        for start in starts:
            cut = contact_sphere_constrain(
                region,
                surround,
                start,
                image.spacing,
                closing_mm=priors.lung_ball_mm,
                reach=priors.contact_reach,
                margin=priors.sphere_margin,
                recentre=recentre,
            )
            if cut is not None and cut[tuple(seed)]:
                break  # a lesion that holds the seed
            cut = None
    if cut is None or not cut.any():
        cut = opened(star)
    return as_mask(image, filled(cut))
