"""Shared PyTorch plumbing for medscale's networks (the ``dl`` extra: torch + MONAI).

The CNN classifiers (:mod:`medscale.models`) and the U-Net (:mod:`medscale.segment`) both train
through these helpers, so device choice, threads, checkpoints and safe weight loading behave the
same everywhere:

- :func:`resolve_device` turns ``auto`` / ``cpu`` / ``cuda`` into a ``torch.device``;
- :func:`configure_threads` sizes PyTorch's thread pools from the cores this process may use;
- :func:`autocast` is mixed precision on a GPU and a no-op on the CPU;
- :class:`Checkpoint` saves each epoch atomically and resumes a cut training;
- :func:`save_weights` / :func:`load_weights` keep a state dict that loads with
  ``weights_only=True`` (no code runs on load).

Importing this package needs torch; callers import it lazily so the core installs without it.
"""

from medscale.dl.checkpoint import Checkpoint, load_weights, save_weights
from medscale.dl.device import (
    DEVICE_CHOICES,
    autocast,
    available_cores,
    configure_threads,
    resolve_device,
    seed_everything,
)

__all__ = [
    "DEVICE_CHOICES",
    "Checkpoint",
    "autocast",
    "available_cores",
    "configure_threads",
    "load_weights",
    "resolve_device",
    "save_weights",
    "seed_everything",
]
