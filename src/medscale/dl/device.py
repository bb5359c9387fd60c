"""Device, threads, seeds and mixed precision for training and inference."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from medscale.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """The ``torch.device`` for ``auto`` (a GPU when there is one), ``cpu`` or ``cuda[:N]``.

    Raises
    ------
    ConfigError
        For an unknown name, or ``cuda`` on a machine without a usable GPU.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    choice = name.strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--device {name}: no CUDA GPU is available to PyTorch here "
                f"(torch {torch.__version__}); use --device cpu or auto"
            )
        device = torch.device(choice)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
        return device
    raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def available_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads to `threads` (default: the cores available); return it.

    The inter-op pool is left alone: it can only be set before any parallel work has started.
    """
    count = available_cores() if threads is None else int(threads)
    if count < 1:
        raise ConfigError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(count)
    return count


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a generator for data loaders."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - MONAI transforms draw from the global state
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """Mixed precision (bfloat16 where supported, else float16) on CUDA; nothing on the CPU."""
    if device.type != "cuda":
        yield
        return
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield
