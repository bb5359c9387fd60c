"""IBSI-2 convolutional filters on (z, y, x) arrays (arXiv:2006.05470)."""

from medscale.features.filters.base import Boundary
from medscale.features.filters.gabor import gabor_filter
from medscale.features.filters.laws import laws_energy, laws_filter
from medscale.features.filters.log import log_filter
from medscale.features.filters.mean import mean_filter
from medscale.features.filters.riesz import riesz_filter, riesz_transform
from medscale.features.filters.simoncelli import simoncelli_filter
from medscale.features.filters.wavelet import wavelet_filter

__all__ = [
    "Boundary",
    "gabor_filter",
    "laws_energy",
    "laws_filter",
    "log_filter",
    "mean_filter",
    "riesz_filter",
    "riesz_transform",
    "simoncelli_filter",
    "wavelet_filter",
]
