"""Weights and training checkpoints that load without running code.

A model's weights are a plain state dict saved with :func:`torch.save` and read back with
``torch.load(..., weights_only=True)``, which refuses anything but tensors and plain containers:
a model folder from someone else cannot execute code when it is opened. Its configuration lives
next to it as JSON (the model folder's ``model.json``).

A :class:`Checkpoint` is one file per training folder, replaced atomically after every epoch, so a
training cut at any moment resumes from the last complete epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from medscale.errors import ModelError


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def _safe_load(path: Path) -> Any:
    if not path.is_file():
        raise ModelError(f"{path}: no such weights file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError ...
        raise ModelError(
            f"{path}: not a readable weights file for this PyTorch ({torch.__version__}): {err}"
        ) from err


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """Save `module`'s state dict to `path` atomically (CPU tensors); return the path."""
    path = Path(path)
    state = {key: value.detach().cpu() for key, value in module.state_dict().items()}
    _atomic_save(state, path)
    return path


def load_weights(module: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    """Load a state dict saved by :func:`save_weights` into `module` (strict: names and shapes).

    Raises
    ------
    ModelError
        When the file is missing or unreadable, or does not fit the network.
    """
    path = Path(path)
    state = _safe_load(path)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelError(f"{path}: the weights do not fit this network ({err})") from err
    return module


@dataclass
class Checkpoint:
    """The last complete epoch of a training, in ``folder/checkpoint.pt``.

    Examples
    --------
    >>> import tempfile
    >>> net = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     ckpt = Checkpoint(folder)
    ...     ckpt.save(3, net, opt, {"best_loss": 0.5})
    ...     ckpt.load(net, opt)
    (4, {'best_loss': 0.5})
    """

    folder: str | Path
    name: str = "checkpoint.pt"

    @property
    def path(self) -> Path:
        return Path(self.folder) / self.name

    def exists(self) -> bool:
        return self.path.is_file()

    def save(
        self,
        epoch: int,
        module: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Record that `epoch` is complete, with the network, the optimiser and `state`.

        `state` holds plain values only (numbers, strings, lists, dicts, tensors): the best
        score so far, the epochs without improvement, the loss history.
        """
        _atomic_save(
            {
                "epoch": int(epoch),
                "model": {k: v.detach().cpu() for k, v in module.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "state": dict(state or {}),
                "torch_rng": torch.get_rng_state(),
            },
            self.path,
        )

    def load(
        self, module: torch.nn.Module, optimizer: torch.optim.Optimizer
    ) -> tuple[int, dict[str, Any]]:
        """Restore the network and optimiser; return (the epoch to start at, the saved state)."""
        saved = _safe_load(self.path)
        try:
            module.load_state_dict(saved["model"], strict=True)
            optimizer.load_state_dict(saved["optimizer"])
        except (KeyError, RuntimeError, ValueError) as err:
            raise ModelError(
                f"{self.path}: the checkpoint does not fit this network or optimiser ({err}); "
                "start again without --resume"
            ) from err
        torch.set_rng_state(saved["torch_rng"])
        return int(saved["epoch"]) + 1, dict(saved.get("state", {}))

    def remove(self) -> None:
        """Delete the checkpoint (once the final weights are saved)."""
        self.path.unlink(missing_ok=True)
