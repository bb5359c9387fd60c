"""Segmentation of `Image`s into `Mask`s, and the metrics to score them.

Methods (by CLI name, see `METHODS`): ``threshold``, ``otsu``, ``multi_otsu``, ``edges``,
``kmeans``, ``gmm``, ``watershed``, ``region_growing``, ``confidence_connected``,
``chan_vese``, ``morphological_chan_vese``, ``geodesic_active_contour``, ``body``, ``lungs``
and ``unet`` (needs the ``dl`` extra, PyTorch). Run any of them with `segment`; score with
`evaluate` (Dice, Jaccard, HD95 and ASSD in mm, volume difference in ml).
"""

from medscale.segment import (  # noqa: F401 - importing registers the methods
    clustering,
    contours,
    ct,
    edges,
    region,
    threshold,
    unet_select,  # the method "unet"; torch and MONAI are imported lazily, on first use
    watershed,
)
from medscale.segment.clustering import gmm, kmeans
from medscale.segment.contours import chan_vese, geodesic_active_contour, morphological_chan_vese
from medscale.segment.ct import body, lungs
from medscale.segment.edges import edges as edge_segmentation
from medscale.segment.methods import METHODS, segment
from medscale.segment.metrics import (
    average_surface_distance,
    dice,
    evaluate,
    hausdorff_distance,
    jaccard,
    volume_difference_ml,
)
from medscale.segment.postprocess import fill_mask_holes, largest_component, remove_small
from medscale.segment.priors import LeakPriors
from medscale.segment.region import confidence_connected, region_growing
from medscale.segment.threshold import multi_otsu, otsu
from medscale.segment.threshold import threshold as threshold_range
from medscale.segment.watershed import watershed as watershed_from_seed

__all__ = [
    "METHODS",
    "LeakPriors",
    "average_surface_distance",
    "body",
    "chan_vese",
    "confidence_connected",
    "dice",
    "edge_segmentation",
    "evaluate",
    "fill_mask_holes",
    "geodesic_active_contour",
    "gmm",
    "hausdorff_distance",
    "jaccard",
    "kmeans",
    "largest_component",
    "lungs",
    "morphological_chan_vese",
    "multi_otsu",
    "otsu",
    "region_growing",
    "remove_small",
    "segment",
    "threshold_range",
    "volume_difference_ml",
    "watershed_from_seed",
]
