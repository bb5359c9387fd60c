"""Training crops of the U-Net: square crops around the object (NumPy only).

Kept apart from `medscale.segment.unet` to keep modules small.
"""

from __future__ import annotations

import numpy as np

from medscale.preprocess.params import require


class Cropper:
    """Square training crops: around the object's centre in slices holding it, else anywhere."""

    def __init__(
        self,
        y_all: np.ndarray,
        size: int | None,
        *,
        multiple: int,
        centred_fraction: float = 0.8,
    ) -> None:
        ny, nx = y_all.shape[1:]
        if size is not None:
            require(
                size >= multiple and size % multiple == 0,
                "train_unet",
                "crop_size",
                f"a positive multiple of {multiple}",
                size,
            )
        self.size = None if size is None or size >= min(ny, nx) else size
        self.centred_fraction = centred_fraction
        self.shape = (ny, nx)
        counts = y_all.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.centre_y = (y_all.sum(axis=2) * np.arange(ny)).sum(axis=1) / counts
            self.centre_x = (y_all.sum(axis=1) * np.arange(nx)).sum(axis=1) / counts
        self.held = counts > 0

    def take(
        self, x_all: np.ndarray, y_all: np.ndarray, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crops of slices `index`: inputs (n, c, s, s) and targets (n, s, s)."""
        if self.size is None:
            return x_all[index], y_all[index]
        size, span = self.size, np.arange(self.size)
        origins = []
        use = self.held[index] & (rng.random(index.size) < self.centred_fraction)
        for axis, centre in enumerate((self.centre_y, self.centre_x)):
            top = self.shape[axis] - size
            anywhere = rng.integers(0, top + 1, index.size)
            middle = np.nan_to_num(centre[index])
            low = np.clip(middle - size + size // 8, 0, top)
            high = np.clip(middle - size // 8, 0, top)
            around = np.floor(low + rng.random(index.size) * (high - low + 1)).astype(int)
            origins.append(np.where(use, np.clip(around, 0, top), anywhere))
        rows = (origins[0][:, None] + span)[:, :, None]
        cols = (origins[1][:, None] + span)[:, None, :]
        channels = np.arange(x_all.shape[1])[None, :, None, None]
        xb = x_all[index[:, None, None, None], channels, rows[:, None], cols[:, None]]
        yb = y_all[index[:, None, None], rows, cols]
        return xb, yb
