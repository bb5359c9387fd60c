"""IBSI-2 convolutional filters on (z, y, x) arrays (arXiv:2006.05470)."""

from medscale.features.filters.base import Boundary
from medscale.features.filters.laws import laws_energy, laws_filter
from medscale.features.filters.log import log_filter
from medscale.features.filters.mean import mean_filter
from medscale.features.filters.simoncelli import simoncelli_filter
from medscale.features.filters.wavelet import wavelet_filter

__all__ = [
    "Boundary",
    "laws_energy",
    "laws_filter",
    "log_filter",
    "mean_filter",
    "simoncelli_filter",
    "wavelet_filter",
]
